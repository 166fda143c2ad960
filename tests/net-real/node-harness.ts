import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const repoRoot = join(import.meta.dirname, '..', '..');

/** A `shoal node` child process; `address` and `admin` come from its "node started" log line. */
export interface NodeProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly address: string;
  readonly admin: string;
  /** Every stdout/stderr line so far (JSON log lines and anything else). */
  readonly lines: string[];
  /** Resolves with the exit code (or the signal name) once the process ended. */
  readonly exited: Promise<number | string>;
}

/** Longest a node may take to print "node started" (tsx compiles on first load). */
export const nodeStartTimeoutMs = 20_000;

export function runShoal(args: readonly string[]): { child: ChildProcess; lines: string[]; exited: Promise<number | string> } {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'shoal.js'), ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const collect = (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter((l) => l.length > 0));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, lines, exited };
}

/** Runs `shoal ...args` to its end; past `boundMs` it is killed and `code` is `'timeout'`. */
export async function runShoalToEnd(args: readonly string[], boundMs: number): Promise<{ code: number | string; lines: string[] }> {
  const run = runShoal(args);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      run.child.kill('SIGKILL');
      resolve('timeout');
    }, boundMs);
  });
  const code = await Promise.race([run.exited, timeout]);
  clearTimeout(timer);
  return { code, lines: run.lines };
}

/** Starts `shoal node --name NAME ...args` and waits for its "node started" line. */
export async function startNode(name: string, args: readonly string[]): Promise<NodeProcess> {
  const { child, lines, exited } = runShoal(['node', '--name', name, ...args]);
  const started = Date.now();
  for (;;) {
    for (const line of lines) {
      if (!line.includes('"node started"')) continue;
      const entry = JSON.parse(line) as { address: string; admin: string };
      return { name, child, address: entry.address, admin: entry.admin, lines, exited };
    }
    if (child.exitCode !== null) throw new Error(`node ${name} exited with ${child.exitCode}:\n${lines.join('\n')}`);
    if (Date.now() - started > nodeStartTimeoutMs) {
      child.kill('SIGKILL');
      throw new Error(`node ${name} did not start within ${nodeStartTimeoutMs} ms:\n${lines.join('\n')}`);
    }
    await sleep(50);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface StatusMember {
  name: string;
  address: string;
  state: 'alive' | 'suspect' | 'dead' | 'left';
  incarnation: number;
}

export interface Status {
  node: { name: string; address: string; incarnation: number };
  ready: boolean;
  members: StatusMember[];
  security: { insecure: boolean; mtls: boolean; gossipEncrypted: boolean; warnings: string[] };
}

/** `GET /status` of a node, or undefined when it does not answer. */
export async function status(node: NodeProcess): Promise<Status | undefined> {
  try {
    const response = await fetch(`http://${node.admin}/status`, { signal: AbortSignal.timeout(1_000) });
    return response.ok ? await response.json() as Status : undefined;
  } catch {
    return undefined;
  }
}

/** The state `observer` holds of `member`, or undefined. */
export async function stateOf(observer: NodeProcess, member: string): Promise<StatusMember['state'] | undefined> {
  return (await status(observer))?.members.find((m) => m.name === member)?.state;
}

/** Polls until `check` holds or `timeoutMs` passes; returns the elapsed ms, or throws with `describe()`. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, describe: () => Promise<string> | string, pollMs = 100): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${await describe()}`);
    await sleep(pollMs);
  }
}
