import { parseSeedRange, sweep } from '../../scenarios/sweep.ts';
import { UsageError, exitCode, type Command } from '../cli.ts';
import { loadOrUsage } from './run.ts';

export const command: Command = {
  summary: 'Runs one scenario over many seeds in parallel worker threads and lists the failing seeds with the command that reproduces each. Exit 1 when any seed fails.',
  usage: 'shoal sweep FILE --seeds A..B [--jobs N] [--json]',
  options: { seeds: { type: 'string' }, jobs: { type: 'string' }, json: { type: 'boolean' } },
  async run(values, positionals) {
    const file = positionals[0];
    if (file === undefined) throw new UsageError('give a scenario file');
    loadOrUsage(file);
    const seeds = typeof values.seeds === 'string' ? parseSeedRange(values.seeds) : undefined;
    if (seeds === undefined) throw new UsageError('--seeds must be A..B (inclusive, at most 1 000 000 seeds) or one seed');
    const jobs = values.jobs === undefined ? undefined : Number(values.jobs);
    if (jobs !== undefined && !(Number.isSafeInteger(jobs) && jobs >= 1 && jobs <= 256)) throw new UsageError('--jobs must be an integer from 1 to 256');
    const tty = process.stderr.isTTY && !values.json;
    const started = performance.now();
    const results = await sweep({
      file, seeds, ...(jobs ? { jobs } : {}),
      onResult: (_r, done, total) => {
        if (!tty) return;
        const width = 30;
        const filled = Math.round((done / total) * width);
        process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
      },
    });
    if (tty) process.stderr.write('\n');
    const failing = results.filter((r) => !r.ok);
    const summary = {
      file, seeds: seeds.length, passed: results.length - failing.length, failed: failing.length,
      wallMs: Math.round(performance.now() - started),
      failures: failing.map((r) => ({ seed: r.seed, failed: r.failed, error: r.error, reproduce: `npx shoal run ${file} --seed ${r.seed}` })),
    };
    if (values.json) console.log(JSON.stringify(summary));
    else {
      console.log(`${summary.passed}/${summary.seeds} seeds passed in ${summary.wallMs} ms`);
      for (const f of summary.failures) console.log(`  seed ${f.seed}: ${f.error ?? f.failed.join('; ')}\n    ${f.reproduce}`);
    }
    return failing.length === 0 ? exitCode.ok : exitCode.failed;
  },
};
