import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { packageFile } from '../net-real/package-files.ts';
import { fileErrorReason, isFileError, unwritableReason } from '../scenarios/files.ts';

/** Exit codes: 0 pass, 1 an expectation or check failed, 2 bad input (flags, files). */
export const exitCode = { ok: 0, failed: 1, usage: 2 } as const;

/** Bad flags or unreadable input: printed without a stack, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** With SHOAL_DEBUG=1, errors reported in one line also print their stack (on stderr). */
export function printStackIfDebug(error: unknown): void {
  if (process.env.SHOAL_DEBUG === '1') console.error((error as Error)?.stack ?? String(error));
}

export interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number>;
}

/**
 * Every verb: its one-line summary for `shoal --help`, examples for its own `--help`, and
 * its module, loaded only when the verb runs.
 */
interface Verb {
  readonly line: string;
  readonly examples: readonly string[];
  load(): Promise<Command>;
}

const commands: Record<string, Verb> = {
  start: {
    line: 'run the default scenario: the dashboard on a terminal, the text report otherwise',
    examples: ['shoal start --seed 7'],
    load: async () => (await import('./commands/start.ts')).command,
  },
  run: {
    line: 'run a scenario in the simulator (or --mode real) and check its expectations',
    examples: [
      'shoal run scenarios/library/partition-heal.yaml --seed 3 --trace t.jsonl',
      'shoal run scenarios/library/partition-heal.yaml --report run.html',
      'shoal run scenarios/library/local-slow.yaml --mode real --node-logs logs/',
    ],
    load: async () => (await import('./commands/run.ts')).command,
  },
  tui: {
    line: 'the live terminal dashboard of a simulated cluster, or of a real node (--attach)',
    examples: ['shoal tui --scenario scenarios/library/partition-heal.yaml', 'shoal tui --attach 127.0.0.1:9946'],
    load: async () => (await import('./commands/tui.ts')).command,
  },
  replay: {
    line: 're-run a recorded trace and check it reproduces; names the first divergent event',
    examples: ['shoal replay t.jsonl'],
    load: async () => (await import('./commands/replay.ts')).command,
  },
  sweep: {
    line: 'run a scenario over many seeds in parallel; lists failing seeds; shards and merges across machines',
    examples: [
      'shoal sweep scenarios/library/partition-heal.yaml --seeds 1..50 --jobs 2 --report sweep.html',
      'shoal sweep scenarios/library/partition-heal.yaml --seeds 1..10000 --shard 3/8 --json > shard-3.json',
      'shoal sweep merge shard-*.json --report sweep.html',
    ],
    load: async () => (await import('./commands/sweep.ts')).command,
  },
  shrink: {
    line: 'reduce a failing run to a smaller scenario that still fails',
    examples: ['shoal shrink failing.yaml --seed 17 --out small.yaml'],
    load: async () => (await import('./commands/shrink.ts')).command,
  },
  check: {
    line: 'check a saved operation history (linearizability)',
    examples: ['shoal check linearizable --model kv h.jsonl'],
    load: async () => (await import('./commands/check.ts')).command,
  },
  bench: {
    line: 'benchmarks (sim, swim, lifeguard, phi, rpc, quic, balance, tui, check)',
    examples: ['shoal bench phi --json', 'shoal bench swim --json --hosts 1000'],
    load: async () => (await import('./commands/bench.ts')).command,
  },
  node: {
    line: 'run one cluster member on the real network (QUIC + encrypted gossip)',
    examples: ['shoal node --name n1 --bind 127.0.0.1:7946 --admin 127.0.0.1:9946 --dev-certs dev-certs'],
    load: async () => (await import('./commands/node.ts')).command,
  },
  members: {
    line: 'list a real node\'s view of the cluster members (from its admin endpoint)',
    examples: ['shoal members 127.0.0.1:9946', 'shoal members 127.0.0.1:9946 --status alive --tag role=worker --json'],
    load: async () => (await import('./commands/members.ts')).command,
  },
  monitor: {
    line: 'follow a real node\'s membership events, one line each (from its admin endpoint)',
    examples: ['shoal monitor 127.0.0.1:9946', 'shoal monitor 127.0.0.1:9946 --kind failed,left --for 1m --json'],
    load: async () => (await import('./commands/monitor.ts')).command,
  },
  call: {
    line: 'call a real node\'s method over QUIC; list and describe its services',
    examples: [
      'shoal call 127.0.0.1:7946 list --dev-certs dev-certs',
      'shoal call 127.0.0.1:7946 describe cluster.worker.v1 --dev-certs dev-certs',
      'shoal call 127.0.0.1:7946 shoal.node.v1/status --dev-certs dev-certs',
    ],
    load: async () => (await import('./commands/call.ts')).command,
  },
  keygen: {
    line: 'make a gossip key (base64, 32 bytes), as a node\'s key file holds it',
    examples: ['shoal keygen', 'shoal keygen --out new.key'],
    load: async () => (await import('./commands/keygen.ts')).command,
  },
  keys: {
    line: 'list, install, use (make primary) and remove gossip keys of running nodes',
    examples: ['shoal keys list 127.0.0.1:9946', 'shoal keys install 127.0.0.1:9946 127.0.0.1:9947 --key-file new.key'],
    load: async () => (await import('./commands/keys.ts')).command,
  },
};

/** The version of the package this command belongs to (`shoal --version`). */
export function shoalVersion(): string {
  return (JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string }).version;
}

function topUsage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  return [
    `shoal ${shoalVersion()} — a simulation-first lab for RPC + gossip-membership clusters`,
    '',
    'usage: shoal <command> [options]   (shoal <command> --help for its flags and examples)',
    '       shoal --version',
    '',
    'commands:',
    ...Object.entries(commands).map(([name, verb]) => `  ${name.padEnd(width)}  ${verb.line}`),
    '',
    'exit codes: 0 ok, 1 an expectation, check or call failed, 2 bad input (flags, files, an unreachable address)',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(topUsage());
    return name === undefined ? exitCode.usage : exitCode.ok;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    console.log(shoalVersion());
    return exitCode.ok;
  }
  const verb = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (verb === undefined) {
    console.error(`shoal: ${name.startsWith('-') ? `unknown flag ${name}` : `unknown command "${name}"`}; see shoal --help`);
    return exitCode.usage;
  }
  try {
    return await runCommand(name, verb, await verb.load(), rest);
  } catch (error) {
    return await reportError(name, error);
  }
}

async function runCommand(name: string, verb: Verb, command: Command, args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(flagProblem(name, error));
  }
  if (parsed.values.help) {
    console.log(`${command.summary}\n\nusage: ${command.usage}\n\nexamples:\n${verb.examples.map((e) => `  ${e}`).join('\n')}`);
    return exitCode.ok;
  }
  return await command.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals);
}

/** parseArgs's complaint in our words: `unknown flag --x; see shoal run --help`. */
function flagProblem(name: string, error: unknown): string {
  const flag = /'(-[^' ]+)/.exec((error as Error).message)?.[1] ?? '';
  const see = `see shoal ${name} --help`;
  switch ((error as { code?: string }).code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': return `unknown flag ${flag}; ${see}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /does not take an argument/.test((error as Error).message) ? `flag ${flag} takes no value; ${see}` : `flag ${flag} needs a value; ${see}`;
    default: return `${(error as Error).message}; ${see}`;
  }
}

/**
 * Whatever a command throws ends as one or two lines, never a stack (SHOAL_DEBUG=1 adds
 * it): bad input and unreadable or unwritable files exit 2, a run that ran away or
 * panicked exits 1, and so does a defect of shoal itself, which says so.
 */
async function reportError(name: string, error: unknown): Promise<number> {
  printStackIfDebug(error);
  if (error instanceof UsageError) {
    console.error(`shoal ${name}: ${error.message}`);
    return exitCode.usage;
  }
  if (isFileError(error)) {
    console.error(`shoal ${name}: cannot ${error.syscall ?? 'use'} ${error.path}: ${fileErrorReason(error)}`);
    return exitCode.usage;
  }
  const { ScenarioError } = await import('../scenarios/load.ts');
  if (error instanceof ScenarioError) {
    console.error(`shoal ${name}: ${error.message}`);
    return exitCode.usage;
  }
  const { abortedRun } = await import('../scenarios/report.ts');
  const aborted = abortedRun(error);
  if (aborted !== undefined) {
    console.error(`shoal ${name}: ${aborted.kind}: ${(error as Error).message}`);
    return aborted.kind === 'bad-input' ? exitCode.usage : exitCode.failed;
  }
  console.error(`shoal ${name}: internal error: ${(error as Error)?.message ?? String(error)}\n` +
    `  this is a defect of shoal; ${process.env.SHOAL_DEBUG === '1' ? 'the stack is above' : 'SHOAL_DEBUG=1 prints its stack'}`);
  return exitCode.failed;
}

/** Refuses an output path (`--diagram`, `--trace`, ...) that cannot be written, before any work starts. */
export function checkOutputPath(flag: string, path: string | boolean | undefined): void {
  if (typeof path !== 'string') return;
  const reason = unwritableReason(path);
  if (reason !== undefined) throw new UsageError(`${flag} ${path}: cannot write: ${reason}`);
}
