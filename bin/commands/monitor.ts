import type { MembershipEventType } from '../../core/swim/index.ts';
import { openAdminEvents, serverSentEvents } from '../../net-real/node/admin-client.ts';
import { parseDurationMs } from '../../scenarios/duration.ts';
import { UsageError, exitCode, type Command } from '../cli.ts';
import { adminTarget, orUsage } from './admin-verbs.ts';

/** Every kind of membership event a node publishes; the record makes the compiler check it is complete. */
const eventKinds: Record<MembershipEventType, true> = {
  joined: true, updated: true, suspect: true, alive: true, failed: true, left: true, refuted: true, 'partition-detected': true, 'partition-healed': true,
};

/** Most events `--count` may ask for. */
export const monitorCountMax = 1_000_000;

/** A membership event as `/events` sends it (docs/OPERATIONS.md, "Admin endpoint"). */
export interface MonitorEvent {
  readonly type: MembershipEventType;
  readonly name: string;
  readonly address: string;
  readonly incarnation: number;
  readonly atMs: number;
  readonly from?: string;
  readonly tags?: Record<string, string>;
}

interface MonitorOptions {
  readonly kinds: ReadonlySet<string> | undefined;
  readonly members: ReadonlySet<string> | undefined;
  readonly count: number | undefined;
  readonly forMs: number | undefined;
  readonly json: boolean;
}

export const command: Command = {
  summary: 'Follows a real node\'s membership events from its admin endpoint (HOST:PORT as given to `shoal node --admin`), '
    + 'one line each as they happen: time, kind, member, address, incarnation, and who reported it. '
    + `--kind keeps the given kinds (comma-separated: ${Object.keys(eventKinds).join(', ')}); --member keeps events about the named members. `
    + '--count N stops after N printed events, --for DURATION (30s, 2m) after that long; --json prints each event\'s JSON. '
    + 'Exit 0 when stopped by --count, --for, Ctrl-C or SIGTERM; 1 when the node ends the stream (it stopped, '
    + 'or dropped this reader as too slow); 2 with one line on bad input or an unreachable endpoint.',
  usage: 'shoal monitor HOST:PORT [--kind KIND,...] [--member NAME,...] [--count N] [--for DURATION] [--json]',
  options: { json: { type: 'boolean' }, kind: { type: 'string' }, member: { type: 'string' }, count: { type: 'string' }, for: { type: 'string' } },
  async run(values, positionals) {
    const target = adminTarget(positionals);
    return follow(target, monitorOptions(values));
  },
};

function monitorOptions(values: Record<string, string | boolean | undefined>): MonitorOptions {
  const kinds = list(values.kind);
  for (const kind of kinds ?? []) {
    if (!Object.hasOwn(eventKinds, kind)) throw new UsageError(`--kind: unknown event kind "${kind}"; kinds: ${Object.keys(eventKinds).join(', ')}`);
  }
  const count = values.count === undefined ? undefined : Number(values.count);
  if (count !== undefined && !(Number.isSafeInteger(count) && count >= 1 && count <= monitorCountMax)) {
    throw new UsageError(`--count must be an integer within 1..${monitorCountMax}, got "${String(values.count)}"`);
  }
  const forMs = values.for === undefined ? undefined : parseDurationMs(String(values.for));
  if (values.for !== undefined && !(forMs !== undefined && forMs > 0)) throw new UsageError(`--for must be a duration such as 30s, 2m or 500ms, got "${String(values.for)}"`);
  return { kinds, members: list(values.member), count, forMs, json: values.json === true };
}

function list(value: string | boolean | undefined): Set<string> | undefined {
  return typeof value === 'string' ? new Set(value.split(',').map((s) => s.trim()).filter((s) => s !== '')) : undefined;
}

/** Prints the node's events until `--count`, `--for`, a signal, or the node ending the stream. */
async function follow(target: string, options: MonitorOptions): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const timer = options.forMs === undefined ? undefined : setTimeout(onSignal, options.forMs);
  try {
    const body = await orUsage(() => openAdminEvents(target, stop.signal)).catch((error: unknown) => {
      if (stop.signal.aborted) return undefined;
      throw error;
    });
    if (body === undefined) return exitCode.ok;
    if (process.stderr.isTTY) console.error(`following the events of ${target} (Ctrl-C stops)`);
    const ended = await print(body, options, stop);
    if (stop.signal.aborted) return exitCode.ok;
    console.error(`shoal monitor: ${target} ended the event stream${ended === undefined ? '' : ` (${ended})`}: the node stopped, or dropped this reader as too slow`);
    return exitCode.failed;
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    stop.abort();
  }
}

/** Prints matching events; returns when the stream ends (with the reason when it broke), or once `--count` are printed. */
async function print(body: AsyncIterable<Uint8Array>, options: MonitorOptions, stop: AbortController): Promise<string | undefined> {
  let printed = 0;
  try {
    for await (const message of serverSentEvents(body)) {
      if (message.event !== 'member') continue;
      const event = parseEvent(message.data);
      if (event === undefined || !matches(event, options)) continue;
      console.log(options.json ? JSON.stringify(event) : formatEvent(event, new Date()));
      if (++printed === options.count) {
        stop.abort();
        return undefined;
      }
    }
    return undefined;
  } catch (error) {
    return stop.signal.aborted ? undefined : (error as Error).message;
  }
}

function parseEvent(data: string): MonitorEvent | undefined {
  try {
    const event = JSON.parse(data) as MonitorEvent;
    return typeof event === 'object' && event !== null && typeof event.type === 'string' ? event : undefined;
  } catch {
    return undefined;
  }
}

function matches(event: MonitorEvent, options: MonitorOptions): boolean {
  return (options.kinds === undefined || options.kinds.has(event.type)) && (options.members === undefined || options.members.has(event.name));
}

/** `12:00:01.234  failed  n3  127.0.0.1:7003  incarnation 2  from n1` (local wall time of arrival). */
export function formatEvent(event: MonitorEvent, arrivedAt: Date): string {
  const time = [arrivedAt.getHours(), arrivedAt.getMinutes(), arrivedAt.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':')
    + `.${String(arrivedAt.getMilliseconds()).padStart(3, '0')}`;
  const parts = [time, event.type.padEnd(8), event.name || '-', event.address || '-', `incarnation ${event.incarnation}`];
  if (event.from !== undefined && event.from !== '') parts.push(`from ${event.from}`);
  return parts.join('  ');
}
