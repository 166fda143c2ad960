import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Exit codes: 0 pass, 1 an expectation or check failed, 2 bad input (flags, files). */
export const exitCode = { ok: 0, failed: 1, usage: 2 } as const;

/** Bad flags or unreadable input: printed without a stack, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
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
  const command = await load();
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    console.error(`shoal ${name}: ${(error as Error).message}\n\nusage: ${command.usage}`);
    return exitCode.usage;
  }
  if (parsed.values.help) {
    console.log(`${command.summary}\n\nusage: ${command.usage}`);
    return exitCode.ok;
  }
  try {
    return await command.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`shoal ${name}: ${error.message}`);
      return exitCode.usage;
    }
    throw error;
  }
}
