import { parseArgs, type ParseArgsConfig } from 'node:util';
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

const commands: Record<string, () => Promise<Command>> = {
  start: async () => (await import('./commands/start.ts')).command,
  run: async () => (await import('./commands/run.ts')).command,
  tui: async () => (await import('./commands/tui.ts')).command,
  replay: async () => (await import('./commands/replay.ts')).command,
  sweep: async () => (await import('./commands/sweep.ts')).command,
  shrink: async () => (await import('./commands/shrink.ts')).command,
  bench: async () => (await import('./commands/bench.ts')).command,
  node: async () => (await import('./commands/node.ts')).command,
  call: async () => (await import('./commands/call.ts')).command,
  check: async () => (await import('./commands/check.ts')).command,
};

function topUsage(): string {
  return [
    'shoal — a simulation-first lab for RPC + gossip-membership clusters',
    '',
    'usage: shoal <command> [options]   (shoal <command> --help for details)',
    '',
    'commands:',
    ...Object.keys(commands).map((name) => `  ${name}`),
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(topUsage());
    return name === undefined ? exitCode.usage : exitCode.ok;
  }
  const load = commands[name];
  if (load === undefined) {
    console.error(`shoal: unknown command "${name}"\n\n${topUsage()}`);
    return exitCode.usage;
  }
  try {
    return await runCommand(name, await load(), rest);
  } catch (error) {
    return await reportError(name, error);
  }
}

async function runCommand(name: string, command: Command, args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(flagProblem(name, error));
  }
  if (parsed.values.help) {
    console.log(`${command.summary}\n\nusage: ${command.usage}`);
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
