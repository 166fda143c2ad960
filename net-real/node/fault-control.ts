import type { IncomingMessage, ServerResponse } from 'node:http';
import { readlinkSync } from 'node:fs';
import { slowHeldMax, type Address, type DatagramService, type Transport } from '../../core/index.ts';
import { parseBindAddress } from '../quic-transport.ts';
import { send, type AdminRoute } from './admin.ts';
import { isLoopback } from './admin-keys.ts';
import { NodeFlagError } from './flag-error.ts';

/**
 * `--fault-control`: a test-only control on the admin endpoint through which a lab injects
 * faults that only the process itself can suffer. Today one: `slow`, the anomaly Lifeguard
 * was built for. The node keeps running and its timers fire on time, but every inbound
 * gossip datagram is handled `delayMs` after it arrived, in arrival order. (The simulator's
 * `slow` also delays stream segments; a real node delays datagrams only: the probes, acks,
 * suspicions and refutations SWIM's failure detection runs on. docs/SCENARIOS.md says so.)
 *
 * Off unless the node is started with `--fault-control`, which is refused unless the node
 * binds a loopback address or runs in a network namespace of its own (the lab's): a
 * production node on a routable address cannot be made slow by anyone who reaches its
 * admin endpoint. `POST /fault` takes `{"slow": {"delayMs": N, "forMs": N}}`; `GET /fault`
 * answers the current state.
 */

/** Inbound datagrams held back at once by a slow node (the simulator's bound too); more are dropped and counted. */
export { slowHeldMax };
/** Longest delay and duration the control accepts. */
export const slowDelayMsMax = 60_000;
export const slowForMsMax = 3_600_000;

export class InboundDelay {
  delayMs = 0;
  /** Datagrams dropped because `slowHeldMax` were already held. */
  dropped = 0;
  private readonly held: { atMs: number; deliver: () => void }[] = [];
  private head = 0;
  private lastAtMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private endTimer: NodeJS.Timeout | undefined;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Slow for `forMs` (0 delay ends it at once); messages already held keep their order. */
  set(delayMs: number, forMs: number): void {
    this.delayMs = delayMs;
    clearTimeout(this.endTimer);
    this.endTimer = delayMs > 0 ? setTimeout(() => {
      this.delayMs = 0;
    }, forMs) : undefined;
    this.endTimer?.unref();
  }

  get heldCount(): number {
    return this.held.length - this.head;
  }

  /** A transport whose inbound datagrams pass through this delay; streams are the transport's own. */
  wrap(transport: Transport): Transport {
    const inner = transport.datagrams;
    const receive = (deliver: () => void) => this.receive(deliver);
    let handler: DatagramService['onDatagram'];
    const datagrams: DatagramService = {
      get maxDatagramBytes() {
        return inner.maxDatagramBytes;
      },
      send: (to, payload) => inner.send(to, payload),
      get onDatagram() {
        return handler;
      },
      set onDatagram(h) {
        handler = h;
        inner.onDatagram = h === undefined ? undefined : (from: Address, payload: Uint8Array) => receive(() => h(from, payload));
      },
    };
    return { localAddress: transport.localAddress, streams: transport.streams, datagrams };
  }

  private receive(deliver: () => void): void {
    const now = this.now();
    if (this.delayMs === 0 && this.lastAtMs <= now) return deliver();
    if (this.heldCount >= slowHeldMax) {
      this.dropped++;
      return;
    }
    const atMs = Math.max(now + this.delayMs, this.lastAtMs);
    this.lastAtMs = atMs;
    this.held.push({ atMs, deliver });
    if (this.timer === undefined) this.arm();
  }

  private arm(): void {
    const next = this.held[this.head];
    if (next === undefined) {
      this.held.length = 0;
      this.head = 0;
      this.timer = undefined;
      return;
    }
    this.timer = setTimeout(() => this.pump(), Math.max(0, next.atMs - this.now()));
  }

  private pump(): void {
    const now = this.now();
    while (this.head < this.held.length && this.held[this.head]!.atMs <= now) {
      const { deliver } = this.held[this.head]!;
      this.held[this.head++] = undefined as never;
      try {
        deliver();
      } catch {
        // The protocol's own handler counts what it cannot decode; a throw must not stop the queue.
      }
    }
    if (this.head > 1_024 && this.head * 2 > this.held.length) {
      this.held.splice(0, this.head);
      this.head = 0;
    }
    this.arm();
  }

  close(): void {
    clearTimeout(this.timer);
    clearTimeout(this.endTimer);
    this.held.length = 0;
    this.head = 0;
  }
}

/** Whether this process runs in a network namespace other than the host's (the lab puts each node in one). */
function inOwnNetworkNamespace(): boolean {
  try {
    return readlinkSync('/proc/self/ns/net') !== readlinkSync('/proc/1/ns/net');
  } catch {
    return false;
  }
}

/** Refuses `--fault-control` where it would let anyone who reaches the admin endpoint slow a production node. */
export function checkFaultControlAllowed(bind: string): void {
  const { host } = parseBindAddress(bind);
  if (isLoopback(host) || inOwnNetworkNamespace()) return;
  throw new NodeFlagError(`--fault-control is for test labs: it needs a loopback --bind or a network namespace of the node's own, got --bind ${bind}`);
}

/** The `/fault` admin route. */
export function faultRoutes(delay: InboundDelay, log: (message: string, fields: object) => void): Map<string, AdminRoute> {
  return new Map([['/fault', (req, res) => serveFault(delay, log, req, res)]]);
}

const faultRequestBytesMax = 1_024;

async function serveFault(delay: InboundDelay, log: (message: string, fields: object) => void, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const state = () => JSON.stringify({ slow: { delayMs: delay.delayMs, held: delay.heldCount, dropped: delay.dropped } });
  if (req.method === 'GET') return send(res, 200, 'application/json', state());
  if (req.method !== 'POST') return send(res, 405, 'text/plain', 'only GET and POST\n');
  // A browser page cannot send a JSON body without a preflight, nor omit Origin cross-site.
  if (req.headers.origin !== undefined) return send(res, 403, 'text/plain', 'fault control is refused from a browser (an Origin header was sent)\n');
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return send(res, 400, 'text/plain', 'fault control takes a JSON body (content-type: application/json)\n');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > faultRequestBytesMax) return send(res, 413, 'text/plain', `the request exceeds ${faultRequestBytesMax} bytes\n`);
    chunks.push(chunk);
  }
  const parsed = parseSlow(Buffer.concat(chunks).toString('utf8'));
  if (typeof parsed === 'string') return send(res, 400, 'text/plain', `${parsed}\n`);
  delay.set(parsed.delayMs, parsed.forMs);
  log('fault control: slow', parsed);
  return send(res, 200, 'application/json', state());
}

function parseSlow(body: string): { delayMs: number; forMs: number } | string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return 'the body is not JSON';
  }
  const slow = (value as { slow?: unknown } | null)?.slow as { delayMs?: unknown; forMs?: unknown } | undefined;
  if (typeof slow !== 'object' || slow === null) return 'expected {"slow": {"delayMs": N, "forMs": N}}';
  const { delayMs, forMs } = slow;
  if (typeof delayMs !== 'number' || !Number.isInteger(delayMs) || delayMs < 0 || delayMs > slowDelayMsMax) return `slow.delayMs must be an integer in 0..${slowDelayMsMax}`;
  if (typeof forMs !== 'number' || !Number.isInteger(forMs) || forMs < 0 || forMs > slowForMsMax) return `slow.forMs must be an integer in 0..${slowForMsMax}`;
  return { delayMs, forMs };
}
