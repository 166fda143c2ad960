import { z } from 'zod';
import { serverSentEventBatches, type ServerSentEvent } from '../net-real/node/admin-client.ts';
import { memberEventToLog } from './events.ts';
import type { ClusterModel } from './model.ts';
import { unavailable, type DashboardSource } from './source.ts';
import type { ActionName, MemberView, RpcSummary } from './types.ts';

/** Counts keyed by peer name or address; a node caps these (net-real/node/rpc-stats.ts), so a huge one is refused. */
const countsByKey = z.record(z.string(), z.number()).refine((r) => Object.keys(r).length <= 4_096, 'too many keys');

/**
 * The `rpc` field of a node's `/status` (net-real/node/rpc-stats.ts `RpcStatusSummary`): the
 * panel's figures over the node's rolling window, plus cumulative counts by method and
 * status and the calls in flight per peer, both optional so older nodes still parse.
 */
export const rpcStatusSchema = z.object({
  callsPerSec: z.number(),
  successRatio: z.number(),
  latencyMsP50: z.number(),
  latencyMsP99: z.number(),
  /** Calls per peer over the window (the workers a caller used, or a server's callers). */
  perWorker: countsByKey,
  windowMs: z.number().optional(),
  calls: z.object({ server: z.record(z.string(), countsByKey), client: z.record(z.string(), countsByKey) }).optional(),
  inFlight: z.object({ server: countsByKey, client: countsByKey }).optional(),
});

/** The JSON of a node's `GET /status` (documented in docs/DASHBOARD.md). */
export const statusSchema = z.object({
  node: z.object({
    name: z.string(),
    address: z.string(),
    incarnation: z.number().optional(),
    localHealth: z.number().optional(),
    inFlight: z.number().optional(),
    uptimeMs: z.number().optional(),
  }),
  /** The node's monotonic clock reading, in ms. */
  timeMs: z.number(),
  members: z.array(z.object({
    name: z.string(),
    address: z.string(),
    state: z.enum(['alive', 'suspect', 'dead', 'left']),
    incarnation: z.number(),
    tags: z.record(z.string(), z.string()).default({}),
    phi: z.number().default(0),
    health: z.union([z.string(), z.number()]).default('healthy'),
    stateChangedAtMs: z.number().default(0),
  })).max(100_000),
  rpc: rpcStatusSchema.nullable().optional(),
});

export type NodeStatus = z.infer<typeof statusSchema>;

/** One finished call as an `rpc` event of the stream. */
const callSchema = z.object({ worker: z.string(), ok: z.boolean(), latencyMs: z.number(), atMs: z.number() });

export interface AttachSourceOptions {
  /** The node's admin endpoint, `host:port`. */
  target: string;
  model: ClusterModel;
  /** Time between `GET /status` polls. @default 1_000 */
  pollMs?: number;
  /** Wait before reconnecting a dropped event stream. @default 2_000 */
  reconnectMs?: number;
  /** A request that has not answered within this long fails. @default 3_000 */
  requestTimeoutMs?: number;
  /** For tests. @default globalThis.fetch */
  fetch?: typeof fetch;
}

const noActionsOnARealNode = 'a real node cannot be driven from here';

/**
 * Reads a real node's admin endpoint: polls `GET /status` for the member list and reads the
 * `GET /events` server-sent event stream for the event log. Simulator actions (pause, step,
 * faults) are unavailable.
 */
export class AttachSource implements DashboardSource {
  readonly model: ClusterModel;
  readonly capabilities: ReadonlySet<ActionName> = new Set<ActionName>();
  private readonly base: string;
  private readonly options: Required<Omit<AttachSourceOptions, 'target' | 'model'>>;
  private readonly abort = new AbortController();
  private pollTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private nodeName = '?';

  constructor(options: AttachSourceOptions) {
    if (!/^[^\s/:]+:\d{1,5}$/.test(options.target)) throw new TypeError(`--attach wants HOST:PORT, got "${options.target}"`);
    this.model = options.model;
    this.base = `http://${options.target}`;
    this.options = {
      pollMs: options.pollMs ?? 1_000,
      reconnectMs: options.reconnectMs ?? 2_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 3_000,
      fetch: options.fetch ?? globalThis.fetch,
    };
    this.model.setStatus({ mode: 'attach', target: options.target, speed: 'live', paused: false, connected: false, reproduce: `npx shoal tui --attach ${options.target}`, message: 'connecting…' });
    this.model.setNetwork(undefined);
    this.model.commit();
  }

  start(): void {
    const poll = async () => {
      await this.poll();
      if (!this.stopped) this.pollTimer = setTimeout(() => void poll(), this.options.pollMs);
    };
    void poll();
    void this.streamEvents();
  }

  stop(): void {
    this.stopped = true;
    if (this.pollTimer !== undefined) clearTimeout(this.pollTimer);
    this.abort.abort();
  }

  /** Reads `/status` once into the model. */
  async poll(): Promise<void> {
    try {
      const response = await this.options.fetch(`${this.base}/status`, { signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.options.requestTimeoutMs)]) });
      if (!response.ok) throw new Error(`GET /status answered ${response.status}`);
      this.apply(statusSchema.parse(await response.json()));
    } catch (error) {
      if (this.stopped) return;
      this.model.setStatus({ connected: false, message: `status: ${describe(error)}` });
      this.model.commit();
    }
  }

  private apply(status: NodeStatus): void {
    this.nodeName = status.node.name;
    this.model.update({
      timeMs: status.timeMs,
      observers: [{
        name: status.node.name, address: status.node.address, condition: 'up',
        localHealth: status.node.localHealth, inFlight: status.node.inFlight, view: status.members as MemberView[],
      }],
    });
    this.model.setRpcSummary(rpcPanelOf(status.rpc ?? undefined));
    const wasDisconnected = !this.model.status.connected;
    this.model.setStatus({ connected: true, ...(wasDisconnected ? { message: `attached to ${status.node.name}` } : {}) });
    this.model.commit();
  }

  /** Reads the event stream until stopped, reconnecting after failures. */
  private async streamEvents(): Promise<void> {
    while (!this.stopped) {
      try {
        const response = await this.options.fetch(`${this.base}/events`, { headers: { accept: 'text/event-stream' }, signal: this.abort.signal });
        if (!response.ok || response.body === null) throw new Error(`GET /events answered ${response.status}`);
        await this.readStream(response.body);
        if (!this.stopped) this.model.pushEvent({ timeMs: this.model.status.timeMs, kind: 'info', text: 'event stream ended; reconnecting' });
      } catch (error) {
        if (this.stopped) return;
        this.model.pushEvent({ timeMs: this.model.status.timeMs, kind: 'info', text: `event stream: ${describe(error)}` });
      }
      this.model.commit();
      await new Promise((resolve) => setTimeout(resolve, this.options.reconnectMs));
    }
  }

  private async readStream(body: ReadableStream<Uint8Array>): Promise<void> {
    for await (const batch of serverSentEventBatches(body)) {
      for (const message of batch) this.handleEvent(message);
      this.model.commit();
    }
  }

  /** Handles one server-sent event: `member` events go to the log, `rpc` events to the RPC panel. */
  handleEvent(message: ServerSentEvent): void {
    const { event } = message;
    let detail: unknown;
    try {
      detail = JSON.parse(message.data);
    } catch {
      return;
    }
    if (event === 'member' || event === 'message') {
      const at = typeof (detail as { atMs?: unknown }).atMs === 'number' ? (detail as { atMs: number }).atMs : this.model.status.timeMs;
      const line = memberEventToLog(this.nodeName, detail, at);
      if (line !== undefined) this.model.pushEvent(line);
    } else if (event === 'rpc') {
      const call = callSchema.safeParse(detail);
      if (call.success) this.model.recordCall(call.data);
    }
  }

  togglePause(): string {
    return this.say(unavailable('pause', noActionsOnARealNode));
  }
  step(): Promise<string> {
    return Promise.resolve(this.say(unavailable('step', noActionsOnARealNode)));
  }
  faster(): string {
    return this.say(unavailable('speed', 'a real cluster runs in real time'));
  }
  slower(): string {
    return this.faster();
  }
  crash(): string {
    return this.say(unavailable('crash', noActionsOnARealNode));
  }
  restart(): string {
    return this.say(unavailable('restart', noActionsOnARealNode));
  }
  partition(): string {
    return this.say(unavailable('partition', noActionsOnARealNode));
  }
  heal(): string {
    return this.say(unavailable('heal', noActionsOnARealNode));
  }
  pauseMember(): string {
    return this.say(unavailable('pauseMember', noActionsOnARealNode));
  }
  addLoss(): string {
    return this.say(unavailable('loss', noActionsOnARealNode));
  }
  save(): string {
    return this.say(unavailable('save', 'only simulator sessions are recorded'));
  }
  continuePastEnd(): string {
    return this.say(unavailable('continue', 'a real cluster runs no scenario'));
  }

  private say(message: string): string {
    this.model.setStatus({ message });
    this.model.commit();
    return message;
  }
}

/**
 * The RPC panel's figures from a node's `rpc` summary: the same fields the simulator source
 * fills from individual calls. A node whose window holds no call shows the panel empty
 * (as the simulator does), not a row of zeros.
 */
export function rpcPanelOf(rpc: z.infer<typeof rpcStatusSchema> | undefined): RpcSummary | undefined {
  if (rpc === undefined || (rpc.callsPerSec === 0 && Object.keys(rpc.perWorker).length === 0)) return undefined;
  return {
    callsPerSec: rpc.callsPerSec, successRatio: rpc.successRatio, latencyMsP50: rpc.latencyMsP50, latencyMsP99: rpc.latencyMsP99,
    perWorker: { ...rpc.perWorker },
  };
}

function describe(error: unknown): string {
  const e = error as { message?: string; cause?: { code?: string } };
  return e?.cause?.code ?? e?.message ?? String(error);
}
