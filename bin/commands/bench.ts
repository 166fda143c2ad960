import { benchmarks } from '../../bench/index.ts';
import { UsageError, exitCode, type Command } from '../cli.ts';

export const command: Command = {
  summary: `Runs a benchmark and prints its figures (one JSON object per benchmark with --json).\n\nbenchmarks: ${Object.keys(benchmarks).join(', ')}, all`,
  usage: 'shoal bench <name|all> [--json] [--runs N] [--hosts N] [lifeguard: --members N --seeds N --slow 1,4,16 --delays 400,1000,2500 --losses 0,0.1]',
  options: {
    json: { type: 'boolean' }, runs: { type: 'string' }, hosts: { type: 'string' },
    members: { type: 'string' }, seeds: { type: 'string' }, slow: { type: 'string' }, delays: { type: 'string' }, losses: { type: 'string' },
  },
  async run(values, positionals) {
    const name = positionals[0];
    if (name === undefined) throw new UsageError(`name a benchmark: ${Object.keys(benchmarks).join(', ')}, all`);
    const names = name === 'all' ? Object.keys(benchmarks) : [name];
    for (const n of names) {
      const bench = benchmarks[n];
      if (bench === undefined) throw new UsageError(`unknown benchmark "${n}"; known: ${Object.keys(benchmarks).join(', ')}, all`);
      for (const key of ['runs', 'hosts', 'members', 'seeds'] as const) {
        if (values[key] !== undefined && !(Number(values[key]) >= 1)) throw new UsageError(`--${key} must be a positive number`);
      }
      for (const key of ['slow', 'delays', 'losses'] as const) {
        const value = values[key];
        if (value !== undefined && !(typeof value === 'string' && value.split(',').every((x) => x !== '' && Number(x) >= 0 && (key !== 'losses' || Number(x) <= 1)))) {
          throw new UsageError(`--${key} must be a comma-separated list of numbers${key === 'losses' ? ' in 0..1' : ' ≥ 0'}`);
        }
      }
      const result = await bench.run(values as Record<string, string | boolean>);
      console.log(values.json ? JSON.stringify({ bench: n, ...result }) : `${n}: ${JSON.stringify({ bench: n, ...result }, null, 2)}`);
    }
    return exitCode.ok;
  },
};
