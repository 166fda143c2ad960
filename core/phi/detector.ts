import { resolvePhiOptions, phiExponential, phiNormal, varianceOf, type PhiModel, type PhiOptions } from './phi.ts';

/**
 * A phi-accrual detector for one monitored peer: a ring of the last `windowSize`
 * inter-arrival times with running sum and sum of squares, so `heartbeat` and `phi` are
 * O(1) and allocate nothing after construction.
 */
export class PhiAccrualDetector {
  readonly model: PhiModel;
  readonly threshold: number;
  /** A plain array: far smaller than a typed array for the short windows SWIM keeps per member. */
  private readonly intervals: number[];
  private readonly minStdDevMs: number;
  private readonly acceptablePauseMs: number;
  private head = 0;
  private count = 0;
  private sum = 0;
  private sumOfSquares = 0;
  private lastMs = -1;

  constructor(options: PhiOptions = {}) {
    const o = resolvePhiOptions(options);
    this.model = o.model;
    this.threshold = o.threshold;
    this.minStdDevMs = o.minStdDevMs;
    this.acceptablePauseMs = o.acceptablePauseMs;
    this.intervals = new Array<number>(o.windowSize).fill(0.5);
    // Akka's bootstrap: two virtual samples with mean = first interval, stdDev = first / 4.
    const first = o.firstIntervalMs;
    const deviation = first / 4;
    this.push(first - deviation);
    this.push(first + deviation);
  }

  /** Records a heartbeat (an ack, a message) arriving at `nowMs`. */
  heartbeat(nowMs: number): void {
    if (this.lastMs >= 0 && nowMs > this.lastMs) this.push(nowMs - this.lastMs);
    this.lastMs = nowMs;
  }

  /** φ at `nowMs`; 0 before the first heartbeat. */
  phi(nowMs: number): number {
    if (this.lastMs < 0) return 0;
    const elapsed = nowMs - this.lastMs;
    const mean = this.sum / this.count + this.acceptablePauseMs;
    if (this.model === 'exponential') return phiExponential(elapsed, mean);
    const stdDev = Math.max(Math.sqrt(varianceOf(this.count, this.sum, this.sumOfSquares)), this.minStdDevMs);
    return phiNormal(elapsed, mean, stdDev);
  }

  isAvailable(nowMs: number): boolean {
    return this.phi(nowMs) < this.threshold;
  }

  /** When the last heartbeat arrived, or undefined before the first. */
  get lastHeartbeatMs(): number | undefined {
    return this.lastMs < 0 ? undefined : this.lastMs;
  }

  get meanIntervalMs(): number {
    return this.sum / this.count;
  }

  get stdDevMs(): number {
    return Math.sqrt(varianceOf(this.count, this.sum, this.sumOfSquares));
  }

  get sampleCount(): number {
    return this.count;
  }

  private push(intervalMs: number): void {
    const size = this.intervals.length;
    if (this.count === size) {
      const old = this.intervals[this.head]!;
      this.sum -= old;
      this.sumOfSquares -= old * old;
    } else {
      this.count++;
    }
    this.intervals[this.head] = intervalMs;
    this.head = (this.head + 1) % size;
    this.sum += intervalMs;
    this.sumOfSquares += intervalMs * intervalMs;
  }
}
