/** Latencies kept for percentiles: the most recent ones, in a ring, so memory is fixed. */
export const LATENCY_SAMPLES_MAX = 256;

/** A ring of recent latencies with a quantile read, for p95-based hedging and reports. */
export class LatencySample {
  private readonly values: number[] = [];
  private next = 0;

  constructor(readonly capacity = LATENCY_SAMPLES_MAX) {}

  get size(): number {
    return this.values.length;
  }

  add(valueMs: number): void {
    if (this.values.length < this.capacity) this.values.push(valueMs);
    else this.values[this.next] = valueMs;
    this.next = (this.next + 1) % this.capacity;
  }

  /** The q-quantile (0..1) by nearest rank; undefined when empty. */
  quantile(q: number): number | undefined {
    if (this.values.length === 0) return undefined;
    const sorted = [...this.values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  }

  snapshot(): number[] {
    return [...this.values];
  }
}
