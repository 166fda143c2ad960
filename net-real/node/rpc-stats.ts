import { RpcError, type ServerCallContext, type ServerInterceptor, type UnservedCall } from '../../core/rpc/index.ts';

/** Methods counted separately; calls of further methods are counted under `otherMethodLabel`. */
export const rpcStatsMethodsMax = 128;
/** Peers whose calls are counted separately; the rest go under `otherPeerLabel`. */
export const rpcStatsPeersMax = 256;
/** Latest latencies kept for percentiles: a fixed ring, so memory does not grow with the call rate. */
export const rpcStatsLatencySamplesMax = 4_096;
/** Seconds the rolling window covers (one counter bucket per second). */
export const rpcStatsWindowSeconds = 10;

export const otherMethodLabel = '(other)';
export const otherPeerLabel = '(other)';
/** Method of a refused call whose name is not registered (the caller chose it, so it is not kept). */
export const unknownMethodLabel = '(unknown)';

export type RpcSide = 'server' | 'client';

/** One finished call, as the node's interceptor and client hook report it. */
export interface RpcCallRecord {
  readonly side: RpcSide;
  /** `service/method` */
  readonly method: string;
  /** Status code name (`OK`, `UNAVAILABLE`...). */
  readonly code: string;
  /** Undefined for a served call that never ran (refused, or ended while its request arrived): no latency to skew the percentiles. */
  readonly latencyMs: number | undefined;
  /** The other end: the callee for client calls, the caller for server calls (a name when known, else an address). */
  readonly peer: string;
  /** A served call refused on arrival (over `maxConcurrentCalls`, server draining, unknown method). */
  readonly refused?: boolean;
}

/** The record of a served call that never reached the interceptors (`RpcServerOptions.onUnserved`). */
export function unservedCallRecord(call: UnservedCall, peer: string): RpcCallRecord {
  return { side: 'server', method: call.method ?? unknownMethodLabel, code: call.code, latencyMs: undefined, peer, refused: call.refused };
}

/** The `rpc` field of `/status`. The first five fields are the dashboard's RPC panel figures. */
export interface RpcStatusSummary {
  /** Calls that ended over the window, per second (both sides). */
  callsPerSec: number;
  /** Share of those calls that ended OK (1 when there were none). */
  successRatio: number;
  /** Latency percentiles of the latest calls in the window (at most `rpcStatsLatencySamplesMax`). */
  latencyMsP50: number;
  latencyMsP99: number;
  /** Calls per peer over the window: the workers served by this node's calls, or its callers. */
  perWorker: Record<string, number>;
  windowMs: number;
  /** Calls since start, by side, method and status code (served calls that were refused or abandoned included). */
  calls: Record<RpcSide, Record<string, Record<string, number>>>;
  /** Served calls refused on arrival since start, by status code (also counted in `calls.server`). */
  refused: Record<string, number>;
  /** Calls in flight now, by peer: `client` the ones this node made, `server` the ones it serves. */
  inFlight: Record<RpcSide, Record<string, number>>;
}

interface Bucket {
  second: number;
  calls: number;
  ok: number;
  perPeer: Map<string, number>;
}

/**
 * RPC figures for `/status`, in bounded memory: cumulative counts by method and status
 * (method names capped), one counter bucket per second for the rolling rate, and a ring of
 * the latest latencies for p50/p99. Reading is O(ring size); recording is O(1).
 */
export class RpcStats {
  private readonly counts: Record<RpcSide, Map<string, Map<string, number>>> = { server: new Map(), client: new Map() };
  private readonly buckets: Bucket[] = Array.from({ length: rpcStatsWindowSeconds }, () => ({ second: -1, calls: 0, ok: 0, perPeer: new Map() }));
  private readonly sampleAtMs = new Float64Array(rpcStatsLatencySamplesMax);
  private readonly sampleMs = new Float64Array(rpcStatsLatencySamplesMax);
  private samples = 0;
  private readonly serverInFlight = new Map<string, number>();
  private readonly refused = new Map<string, number>();

  /** @param now monotonic milliseconds (the node's clock). */
  constructor(private readonly now: () => number) {}

  record(call: RpcCallRecord): void {
    const byMethod = this.counts[call.side];
    const method = byMethod.has(call.method) || byMethod.size < rpcStatsMethodsMax ? call.method : otherMethodLabel;
    let byCode = byMethod.get(method);
    if (byCode === undefined) byMethod.set(method, byCode = new Map());
    byCode.set(call.code, (byCode.get(call.code) ?? 0) + 1);
    const nowMs = this.now();
    if (call.refused === true) this.refused.set(call.code, (this.refused.get(call.code) ?? 0) + 1);
    const bucket = this.bucketAt(Math.floor(nowMs / 1000));
    bucket.calls++;
    if (call.code === 'OK') bucket.ok++;
    const peer = bucket.perPeer.has(call.peer) || bucket.perPeer.size < rpcStatsPeersMax ? call.peer : otherPeerLabel;
    bucket.perPeer.set(peer, (bucket.perPeer.get(peer) ?? 0) + 1);
    if (call.latencyMs === undefined) return;
    const slot = this.samples % rpcStatsLatencySamplesMax;
    this.sampleAtMs[slot] = nowMs;
    this.sampleMs[slot] = call.latencyMs;
    this.samples++;
  }

  /** A served call started (from `peer`); pair with `serverEnded`. */
  serverStarted(peer: string): void {
    const key = this.serverInFlight.has(peer) || this.serverInFlight.size < rpcStatsPeersMax ? peer : otherPeerLabel;
    this.serverInFlight.set(key, (this.serverInFlight.get(key) ?? 0) + 1);
  }

  serverEnded(peer: string): void {
    const key = this.serverInFlight.has(peer) ? peer : otherPeerLabel;
    const left = (this.serverInFlight.get(key) ?? 1) - 1;
    if (left <= 0) this.serverInFlight.delete(key);
    else this.serverInFlight.set(key, left);
  }

  /** The summary over the window ending now; `clientInFlight` comes from the RPC client's connections. */
  summary(clientInFlight: Record<string, number>): RpcStatusSummary {
    const nowMs = this.now();
    const second = Math.floor(nowMs / 1000);
    let calls = 0;
    let ok = 0;
    const perWorker: Record<string, number> = {};
    for (const bucket of this.buckets) {
      if (bucket.second <= second - rpcStatsWindowSeconds || bucket.second > second) continue;
      calls += bucket.calls;
      ok += bucket.ok;
      for (const [peer, n] of bucket.perPeer) perWorker[peer] = (perWorker[peer] ?? 0) + n;
    }
    const windowMs = rpcStatsWindowSeconds * 1000;
    const latencies = this.latenciesSince(nowMs - windowMs);
    return {
      callsPerSec: calls / rpcStatsWindowSeconds,
      successRatio: calls === 0 ? 1 : ok / calls,
      latencyMsP50: percentile(latencies, 0.5),
      latencyMsP99: percentile(latencies, 0.99),
      perWorker, windowMs,
      calls: { server: nested(this.counts.server), client: nested(this.counts.client) },
      refused: Object.fromEntries(this.refused),
      inFlight: { server: Object.fromEntries(this.serverInFlight), client: clientInFlight },
    };
  }

  private bucketAt(second: number): Bucket {
    const bucket = this.buckets[second % rpcStatsWindowSeconds]!;
    if (bucket.second !== second) {
      bucket.second = second;
      bucket.calls = 0;
      bucket.ok = 0;
      bucket.perPeer.clear();
    }
    return bucket;
  }

  private latenciesSince(sinceMs: number): Float64Array {
    const kept = Math.min(this.samples, rpcStatsLatencySamplesMax);
    const out: number[] = [];
    for (let i = 0; i < kept; i++) if (this.sampleAtMs[i]! > sinceMs) out.push(this.sampleMs[i]!);
    return Float64Array.from(out).sort();
  }
}

/** What `servedCallInterceptor` reports about each served call. */
export interface ServedCallHooks {
  started(call: ServerCallContext): void;
  ended(call: ServerCallContext, code: string, latencyMs: number): void;
}

/** One server interceptor that times every served call and reports its final status code. */
export function servedCallInterceptor(now: () => number, hooks: ServedCallHooks): ServerInterceptor {
  return async (call, next) => {
    const startedAtMs = now();
    let code = 'OK';
    hooks.started(call);
    try {
      await next();
    } catch (error) {
      code = error instanceof RpcError ? error.code : 'UNKNOWN';
      throw error;
    } finally {
      hooks.ended(call, code, now() - startedAtMs);
    }
  };
}

/** Nearest-rank percentile of an ascending array (0 when empty). */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return Math.round(sorted[rank]! * 1000) / 1000;
}

function nested(counts: Map<string, Map<string, number>>): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [method, byCode] of counts) out[method] = Object.fromEntries(byCode);
  return out;
}
