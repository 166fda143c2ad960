import { parseSeedRange, sweep, sweepTimeoutMsDefault, type SweepResult } from '../../scenarios/sweep.ts';
import { UsageError, exitCode, type Command } from '../cli.ts';
import { loadAppsOrUsage, loadOrUsage, parseMaxEvents, parseTimeout } from './run.ts';

export const command: Command = {
  summary: 'Runs one scenario over many seeds in parallel worker threads and lists the failing seeds with the command that reproduces each. A seed over --max-events or --timeout (default 60s of wall time per seed) is a runaway: it fails and the sweep goes on. Exit 1 when any seed fails, 2 on bad input.',
  usage: 'shoal sweep FILE --seeds A..B [--jobs N] [--max-events N] [--timeout DURATION] [--json]',
  options: { seeds: { type: 'string' }, jobs: { type: 'string' }, json: { type: 'boolean' }, 'max-events': { type: 'string' }, timeout: { type: 'string' } },
  async run(values, positionals) {
    const file = positionals[0];
    if (file === undefined) throw new UsageError('give a scenario file');
    // Bad input (the scenario or its apps) is found here once, not by every worker.
    await loadAppsOrUsage(loadOrUsage(file), file);
    const seeds = typeof values.seeds === 'string' ? parseSeedRange(values.seeds) : undefined;
    if (seeds === undefined) throw new UsageError('--seeds must be A..B (inclusive, at most 1 000 000 seeds) or one seed');
    const jobs = values.jobs === undefined ? undefined : Number(values.jobs);
    if (jobs !== undefined && !(Number.isSafeInteger(jobs) && jobs >= 1 && jobs <= 256)) throw new UsageError('--jobs must be an integer from 1 to 256');
    const maxEvents = parseMaxEvents(values['max-events']);
    const timeoutMs = parseTimeout(values.timeout) ?? sweepTimeoutMsDefault;
    const tty = process.stderr.isTTY && !values.json;
    const started = performance.now();
    const results = await sweep({
      file, seeds, maxEvents, timeoutMs, ...(jobs ? { jobs } : {}),
      onResult: (_r, done, total) => {
        if (!tty) return;
        const width = 30;
        const filled = Math.round((done / total) * width);
        process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
      },
    });
    if (tty) process.stderr.write('\n');
    // A seed stopped by the timeout reproduces with it: `run` has no timeout of its own.
    const reproduce = (r: SweepResult) => {
      const timeout = r.aborted?.timedOut ? ` --timeout ${(values.timeout as string | undefined) ?? `${sweepTimeoutMsDefault / 1_000}s`}` : '';
      return `npx shoal run ${file} --seed ${r.seed}${maxEvents === undefined ? '' : ` --max-events ${values['max-events'] as string}`}${timeout}`;
    };
    const failing = results.filter((r) => !r.ok);
    const summary = {
      file, seeds: seeds.length, passed: results.length - failing.length, failed: failing.length,
      runaway: failing.filter((r) => r.aborted?.kind === 'runaway').length,
      wallMs: Math.round(performance.now() - started),
      failures: failing.map((r) => ({ seed: r.seed, failed: r.failed, aborted: r.aborted?.kind, detail: r.aborted?.detail, reproduce: reproduce(r) })),
    };
    if (process.env.SHOAL_DEBUG === '1') for (const r of failing) if (r.aborted?.stack) console.error(`seed ${r.seed}: ${r.aborted.stack}`);
    if (values.json) console.log(JSON.stringify(summary));
    else {
      console.log(`${summary.passed}/${summary.seeds} seeds passed in ${summary.wallMs} ms${summary.runaway > 0 ? ` (${summary.runaway} runaway)` : ''}`);
      for (const f of summary.failures) console.log(`  seed ${f.seed}: ${f.aborted === undefined ? f.failed.join('; ') : `${f.aborted}: ${f.detail}`}\n    ${f.reproduce}`);
    }
    if (failing.some((r) => r.aborted?.kind === 'bad-input')) return exitCode.usage;
    return failing.length === 0 ? exitCode.ok : exitCode.failed;
  },
};
