import type { CallRecord, RpcSummary } from './types.ts';

export interface RpcWindowOptions {
  /** Calls older than this no longer count toward the figures. @default 10_000 */
  windowMs?: number;
  /** Calls kept at most (the oldest go first): bounds memory and the cost of percentiles. @default 10_000 */
  callsMax?: number;
}

/**
 * A sliding window of finished RPC calls, summarised on demand for the RPC panel:
 * calls per second, success ratio, p50/p99 latency and calls per worker.
 */
export class RpcWindow {
  private readonly windowMs: number;
  private readonly callsMax: number;
  private calls: CallRecord[] = [];

  constructor(options: RpcWindowOptions = {}) {
    this.windowMs = options.windowMs ?? 10_000;
    this.callsMax = options.callsMax ?? 10_000;
  }

  get size(): number {
    return this.calls.length;
  }

  record(call: CallRecord): void {
    this.calls.push(call);
    // Trim in batches so a full window costs amortised O(1) per call.
    if (this.calls.length > this.callsMax * 1.25) this.calls = this.calls.slice(this.calls.length - this.callsMax);
  }

  /** The figures over the window ending at `nowMs`; undefined when no call was seen in it. */
  summary(nowMs: number): RpcSummary | undefined {
    const since = nowMs - this.windowMs;
    const start = Math.max(this.calls.length - this.callsMax, 0);
    const recent = this.calls.slice(start).filter((c) => c.atMs > since && c.atMs <= nowMs);
    if (recent.length === 0) return undefined;
    const latencies = recent.map((c) => c.latencyMs).sort((a, b) => a - b);
    const perWorker: Record<string, number> = {};
    let ok = 0;
    for (const call of recent) {
      perWorker[call.worker] = (perWorker[call.worker] ?? 0) + 1;
      if (call.ok) ok++;
    }
    const spanMs = Math.min(this.windowMs, Math.max(nowMs - recent[0]!.atMs, 1_000));
    return {
      callsPerSec: recent.length / (spanMs / 1000),
      successRatio: ok / recent.length,
      latencyMsP50: percentile(latencies, 0.5),
      latencyMsP99: percentile(latencies, 0.99),
      perWorker,
    };
  }
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}
