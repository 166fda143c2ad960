import { benchmarks } from '../../bench/index.ts';
import { UsageError, exitCode, type Command } from '../cli.ts';

export const command: Command = {
  summary: `Runs a benchmark and prints its figures (one JSON object per benchmark with --json).\n\nbenchmarks:\n${
    Object.entries(benchmarks).map(([name, bench]) => `  ${name.padEnd(10)}${bench.description}`).join('\n')}\n  ${'all'.padEnd(10)}every benchmark above, in turn`,
  usage: 'shoal bench <name|all> [--json] [--runs N] [--hosts N] [swim: --duration MS] [lifeguard: --members N --seeds N --slow 1,4,16 --delays 1000,5000,10000 --losses 0,0.1] [quic: --in-flight 16,256 --duration MS --warmup MS --variants a,b --streaming true|false]',
  options: {
    json: { type: 'boolean' }, runs: { type: 'string' }, hosts: { type: 'string' },
    members: { type: 'string' }, seeds: { type: 'string' }, slow: { type: 'string' }, delays: { type: 'string' }, losses: { type: 'string' },
    'in-flight': { type: 'string' }, duration: { type: 'string' }, warmup: { type: 'string' }, variants: { type: 'string' }, streaming: { type: 'string' },
  },
  async run(values, positionals) {
    const name = positionals[0];
    if (name === undefined) throw new UsageError(`name a benchmark: ${Object.keys(benchmarks).join(', ')}, all`);
    const names = name === 'all' ? Object.keys(benchmarks) : [name];
    for (const n of names) {
      const bench = benchmarks[n];
      if (bench === undefined) throw new UsageError(`unknown benchmark "${n}"; known: ${Object.keys(benchmarks).join(', ')}, all`);
      for (const key of ['runs', 'hosts', 'members', 'seeds', 'duration', 'warmup'] as const) {
        if (values[key] !== undefined && !(Number(values[key]) >= 1)) throw new UsageError(`--${key} must be a positive number`);
      }
      if (values.streaming !== undefined && !['true', 'false', '1', '0'].includes(values.streaming as string)) throw new UsageError('--streaming must be true or false');
      for (const key of ['slow', 'delays', 'losses', 'in-flight'] as const) {
        const value = values[key];
        if (value !== undefined && !(typeof value === 'string' && value.split(',').every((x) => x !== '' && Number(x) >= 0 && (key !== 'losses' || Number(x) <= 1)))) {
          throw new UsageError(`--${key} must be a comma-separated list of numbers${key === 'losses' ? ' in 0..1' : ' ≥ 0'}`);
        }
      }
      if (n === 'lifeguard') checkLifeguardFlags(values);
      const result = await bench.run(values as Record<string, string | boolean>);
      console.log(values.json ? JSON.stringify({ bench: n, ...result }) : `${n}: ${JSON.stringify({ bench: n, ...result }, null, 2)}`);
    }
    return exitCode.ok;
  },
};

/**
 * The lifeguard bench slows members n2.. and crashes the last one: every count of slow
 * members must leave a healthy member and the crashed one, and a delay must be more than 0.
 */
function checkLifeguardFlags(values: Readonly<Record<string, string | boolean | undefined>>): void {
  const members = values.members === undefined ? 100 : Number(values.members);
  if (!Number.isInteger(members) || members < 3) throw new UsageError(`--members must be a whole number of at least 3 for lifeguard (a slow member, a healthy one, a crashed one), got "${String(values.members)}"`);
  const slow = typeof values.slow === 'string' ? values.slow.split(',').map(Number) : [1, 4, 16];
  const bad = slow.find((count) => !Number.isInteger(count) || count < 1 || count > members - 2);
  if (bad !== undefined) throw new UsageError(`--slow counts must be whole numbers from 1 to ${members - 2} with --members ${members} (n2.. are slowed, n${members} crashes), got ${bad}`);
  if (typeof values.delays === 'string' && values.delays.split(',').some((ms) => !(Number(ms) > 0))) throw new UsageError('--delays must be milliseconds more than 0 (a slow member handles its inbound messages that late)');
}
