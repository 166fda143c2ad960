import { readFileSync, writeFileSync } from 'node:fs';
import { sweepReportHtml } from '../../scenarios/report/sweep-report.ts';
import { SweepMergeError, mergeSweeps, parseSweepSummary, summarizeSweep, type SweepSummary } from '../../scenarios/sweep-summary.ts';
import { parseSeedRange, shardSeeds, sweep, sweepTimeoutMsDefault, type SweepResult } from '../../scenarios/sweep.ts';
import { UsageError, checkOutputPath, exitCode, type Command } from '../cli.ts';
import { loadAppsOrUsage, loadOrUsage, parseMaxEvents, parseTimeout } from './run.ts';

export const command: Command = {
  summary: 'Runs one scenario over many seeds in parallel worker threads and lists the failing seeds with the command that reproduces each. A seed over --max-events or --timeout (default 60s of wall time per seed) is a runaway: it fails and the sweep goes on. --shard K/N runs the K-th of N slices of the seeds; `sweep merge` joins the shards\' --json outputs. Exit 1 when any seed fails, 2 on bad input.',
  usage: 'shoal sweep FILE --seeds A..B [--shard K/N] [--jobs N] [--max-events N] [--timeout DURATION] [--json] [--report OUT.html]\n' +
    '       shoal sweep merge SHARD.json... [--json] [--report OUT.html]\n' +
    '  --json prints one object: counts, failures (with reproduce commands) and results [{ seed, ok, traceHash, failed, figures, ... }].\n' +
    '  Progress goes to stderr: a bar on a terminal, otherwise a line every 5 s (seeds done, failures, rate, ETA).',
  options: {
    seeds: { type: 'string' }, jobs: { type: 'string' }, json: { type: 'boolean' }, 'max-events': { type: 'string' }, timeout: { type: 'string' },
    shard: { type: 'string' }, report: { type: 'string' },
  },
  async run(values, positionals) {
    checkOutputPath('--report', values.report);
    if (positionals[0] === 'merge') return merge(values, positionals.slice(1));
    const file = positionals[0];
    if (file === undefined) throw new UsageError('give a scenario file');
    if (positionals.length > 1) throw new UsageError('give one scenario file (or `shoal sweep merge` and the shards\' JSON files)');
    // Bad input (the scenario or its apps) is found here once, not by every worker.
    const scenario = loadOrUsage(file);
    await loadAppsOrUsage(scenario, file);
    const range = typeof values.seeds === 'string' ? values.seeds.trim() : '';
    const all = parseSeedRange(range);
    if (all === undefined) throw new UsageError('--seeds must be A..B (inclusive, at most 1 000 000 seeds) or one seed');
    const shard = parseShard(values.shard);
    const seeds = shard === undefined ? all : shardSeeds(all, shard.index, shard.count);
    const jobs = values.jobs === undefined ? undefined : Number(values.jobs);
    if (jobs !== undefined && !(Number.isSafeInteger(jobs) && jobs >= 1 && jobs <= 256)) throw new UsageError('--jobs must be an integer from 1 to 256');
    const maxEvents = parseMaxEvents(values['max-events']);
    const timeoutMs = parseTimeout(values.timeout) ?? sweepTimeoutMsDefault;
    const progress = progressReporter(seeds.length, values.json === true, shard === undefined ? '' : ` (shard ${shard.index}/${shard.count}: ${seeds.length ? `seeds ${seeds[0]}..${seeds[seeds.length - 1]}` : 'no seed'})`);
    const started = performance.now();
    const results = seeds.length === 0 ? [] : await sweep({ file, seeds, maxEvents, timeoutMs, ...(jobs ? { jobs } : {}), onResult: progress.result });
    progress.done();
    // A seed stopped by the timeout reproduces with it: `run` has no timeout of its own.
    const reproduce = (r: SweepResult) => {
      const timeout = r.aborted?.timedOut ? ` --timeout ${(values.timeout as string | undefined) ?? `${sweepTimeoutMsDefault / 1_000}s`}` : '';
      return `npx shoal run ${file} --seed ${r.seed}${maxEvents === undefined ? '' : ` --max-events ${values['max-events'] as string}`}${timeout}`;
    };
    const summary = summarizeSweep({
      file, scenario: scenario.name, range, wallMs: Math.round(performance.now() - started), ...(shard ? { shards: [`${shard.index}/${shard.count}`] } : {}),
    }, results, reproduce);
    if (process.env.SHOAL_DEBUG === '1') for (const r of results) if (r.aborted?.stack) console.error(`seed ${r.seed}: ${r.aborted.stack}`);
    output(values, summary);
    if (results.some((r) => r.aborted?.kind === 'bad-input')) return exitCode.usage;
    return summary.failed === 0 ? exitCode.ok : exitCode.failed;
  },
};

/** `--shard K/N`: 1 ≤ K ≤ N. */
function parseShard(value: string | boolean | undefined): { index: number; count: number } | undefined {
  if (value === undefined) return undefined;
  const match = typeof value === 'string' ? /^(\d+)\/(\d+)$/.exec(value.trim()) : null;
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (match === null || !(count >= 1 && count <= 1_000_000 && index >= 1 && index <= count)) throw new UsageError(`--shard must be K/N with K from 1 to N (e.g. 3/8), got "${String(value)}"`);
  return { index, count };
}

/** Prints a summary (JSON or text) and writes its report. */
function output(values: Record<string, string | boolean | undefined>, summary: SweepSummary): void {
  if (typeof values.report === 'string') writeFileSync(values.report, sweepReportHtml(summary));
  if (values.json) {
    console.log(JSON.stringify(summary));
    return;
  }
  const shards = summary.shards?.length ? ` (shard${summary.shards.length > 1 ? 's' : ''} ${summary.shards.join(', ')} of seeds ${summary.range})` : '';
  console.log(`${summary.passed}/${summary.seeds} seeds passed in ${summary.wallMs} ms${summary.runaway > 0 ? ` (${summary.runaway} runaway)` : ''}${shards}`);
  for (const f of summary.failures) console.log(`  seed ${f.seed}: ${f.aborted === undefined ? f.failed.join('; ') : `${f.aborted}: ${f.detail}`}\n    ${f.reproduce}`);
}

/** `shoal sweep merge A.json B.json ...`: one result from the shards' `--json` outputs. */
function merge(values: Record<string, string | boolean | undefined>, files: string[]): number {
  if (files.length === 0) throw new UsageError('give the --json outputs of the shards to merge');
  for (const flag of ['seeds', 'shard', 'jobs', 'max-events', 'timeout'] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} is for running a sweep: merge only joins finished shards`);
  }
  let merged;
  try {
    const parts = files.map((source) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(source, 'utf8'));
      } catch (error) {
        if (error instanceof SyntaxError) throw new SweepMergeError(`${source}: not JSON (${error.message})`);
        throw error;
      }
      return { source, summary: parseSweepSummary(parsed, source) };
    });
    merged = mergeSweeps(parts);
  } catch (error) {
    if (error instanceof SweepMergeError) throw new UsageError(error.message);
    throw error;
  }
  output(values, merged.summary);
  // A glob that missed a shard must not pass as the whole sweep: the partial result is printed, and the exit says it is partial.
  if (merged.missing.length > 0) {
    console.error(`shoal sweep merge: missing shard${merged.missing.length > 1 ? 's' : ''} ${merged.missing.join(', ')}: the result covers only the shards given (exit 2)`);
    return exitCode.usage;
  }
  return merged.summary.failed === 0 ? exitCode.ok : exitCode.failed;
}

/** Progress on stderr: a bar on a terminal; otherwise a plain line every `progressLineMs`, for CI logs. */
const progressLineMs = 5_000;

function progressReporter(total: number, json: boolean, shardText: string): { result: (r: SweepResult, done: number) => void; done: () => void } {
  const started = performance.now();
  let failures = 0;
  let done = 0;
  let lastLine = started;
  const line = () => {
    const seconds = (performance.now() - started) / 1_000;
    const rate = done / Math.max(seconds, 1e-3);
    const eta = done < total && rate > 0 ? `, ETA ${Math.ceil((total - done) / rate)} s` : '';
    process.stderr.write(`sweep: ${done}/${total} seeds (${Math.floor((done / Math.max(total, 1)) * 100)} %), ${failures} failed, ${rate.toFixed(1)} seeds/s${eta}\n`);
  };
  if (process.stderr.isTTY && !json) {
    return {
      result: (r, n) => {
        const width = 30;
        const filled = Math.round((n / total) * width);
        if (!r.ok) failures++;
        process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${n}/${total}${failures ? `, ${failures} failed` : ''}`);
      },
      done: () => process.stderr.write('\n'),
    };
  }
  process.stderr.write(`sweep: ${total} seeds${shardText}\n`);
  return {
    result: (r, n) => {
      done = n;
      if (!r.ok) failures++;
      if (performance.now() - lastLine >= progressLineMs) {
        lastLine = performance.now();
        line();
      }
    },
    done: line,
  };
}
