import { requireFinite, requireInteger, requirePositive } from './validate.ts';

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /**
   * Consecutive failures that open a closed circuit: the fast trip for a worker that
   * stopped answering altogether.
   * @default 5
   */
  consecutiveFailuresMax?: number;
  /**
   * Failure ratio over the sliding window that opens a closed circuit: the trip for a
   * worker that fails often but not every time. Values above 1 disable it.
   * @default 0.5
   */
  failureRatioMax?: number;
  /**
   * Calls the window must hold before the ratio counts, so that 1 failure out of 1 call
   * does not read as 100 %.
   * @default 20
   */
  windowCallsMin?: number;
  /** Length of the sliding window the ratio is measured over. @default 10_000 */
  windowMs?: number;
  /**
   * Buckets the window is cut into: memory is this many counters whatever the call rate,
   * and the window slides in steps of `windowMs / windowBuckets`.
   * @default 10
   */
  windowBuckets?: number;
  /** Cool-down: how long an open circuit refuses calls before letting probes through. @default 5_000 */
  openDurationMs?: number;
  /** Probes a half-open circuit lets through at once; the rest are refused until one answers. @default 1 */
  halfOpenProbesMax?: number;
  /** Told about every state change, for events and metrics. */
  onTransition?: (from: CircuitState, to: CircuitState, nowMs: number) => void;
}

/**
 * Proof that `tryAcquire` let a call through, handed back with its outcome. It records the
 * breaker's epoch (bumped on every state change), so the late answer of a call sent before
 * the circuit opened cannot close it again: only calls of the current epoch count.
 */
export type CircuitPermit = number;

/**
 * A per-worker circuit breaker, driven by `nowMs` arguments (no timers): closed → open
 * after `consecutiveFailuresMax` failures in a row or a failure ratio of
 * `failureRatioMax` over the window; open → half-open once `openDurationMs` passed;
 * half-open lets at most `halfOpenProbesMax` probes through; a probe's success closes
 * the circuit and its failure opens it again for another cool-down.
 */
export class CircuitBreaker {
  readonly consecutiveFailuresMax: number;
  readonly failureRatioMax: number;
  readonly windowCallsMin: number;
  readonly windowMs: number;
  readonly windowBuckets: number;
  readonly openDurationMs: number;
  readonly halfOpenProbesMax: number;

  private current: CircuitState = 'closed';
  private epoch = 0;
  private openedAtMs = 0;
  private consecutiveFailures = 0;
  private probesInFlight = 0;
  private readonly bucketMs: number;
  private readonly bucketIds: number[];
  private readonly bucketSuccesses: number[];
  private readonly bucketFailures: number[];
  private readonly onTransition: CircuitBreakerOptions['onTransition'];

  constructor(options: CircuitBreakerOptions = {}) {
    this.consecutiveFailuresMax = requireInteger('consecutiveFailuresMax', options.consecutiveFailuresMax ?? 5, 1);
    this.failureRatioMax = requirePositive('failureRatioMax', options.failureRatioMax ?? 0.5);
    this.windowCallsMin = requireInteger('windowCallsMin', options.windowCallsMin ?? 20, 1);
    this.windowMs = requirePositive('windowMs', options.windowMs ?? 10_000);
    this.windowBuckets = requireInteger('windowBuckets', options.windowBuckets ?? 10, 1);
    this.openDurationMs = requireFinite('openDurationMs', options.openDurationMs ?? 5_000, 0);
    this.halfOpenProbesMax = requireInteger('halfOpenProbesMax', options.halfOpenProbesMax ?? 1, 1);
    this.onTransition = options.onTransition;
    this.bucketMs = this.windowMs / this.windowBuckets;
    this.bucketIds = new Array<number>(this.windowBuckets).fill(-1);
    this.bucketSuccesses = new Array<number>(this.windowBuckets).fill(0);
    this.bucketFailures = new Array<number>(this.windowBuckets).fill(0);
  }

  /** The state at `nowMs`; an open circuit whose cool-down ended reads as half-open. */
  state(nowMs: number): CircuitState {
    if (this.current === 'open' && nowMs >= this.openedAtMs + this.openDurationMs) this.transition('half-open', nowMs);
    return this.current;
  }

  /** A permit to send one call, or undefined when the circuit refuses it (open, or probes all taken). */
  tryAcquire(nowMs: number): CircuitPermit | undefined {
    switch (this.state(nowMs)) {
      case 'closed':
        return this.epoch;
      case 'open':
        return undefined;
      case 'half-open':
        if (this.probesInFlight >= this.halfOpenProbesMax) return undefined;
        this.probesInFlight++;
        return this.epoch;
    }
  }

  /** The call sent under `permit` succeeded. */
  onSuccess(permit: CircuitPermit, nowMs: number): void {
    if (permit !== this.epoch) return;
    if (this.current === 'half-open') {
      this.transition('closed', nowMs);
      return;
    }
    this.consecutiveFailures = 0;
    this.bucketAt(nowMs, 1, 0);
  }

  /** The call sent under `permit` failed in a way that blames the worker (not a caller error). */
  onFailure(permit: CircuitPermit, nowMs: number): void {
    if (permit !== this.epoch) return;
    if (this.current === 'half-open') {
      this.transition('open', nowMs);
      return;
    }
    this.consecutiveFailures++;
    this.bucketAt(nowMs, 0, 1);
    if (this.consecutiveFailures >= this.consecutiveFailuresMax || this.ratioTripped(nowMs)) this.transition('open', nowMs);
  }

  /** The call's outcome says nothing about the worker (cancelled, hedge lost): frees its probe slot. */
  onCancel(permit: CircuitPermit): void {
    if (permit === this.epoch && this.current === 'half-open' && this.probesInFlight > 0) this.probesInFlight--;
  }

  /** How long until the circuit lets a call through again: 0 unless open. */
  retryAfterMs(nowMs: number): number {
    if (this.state(nowMs) !== 'open') return 0;
    return this.openedAtMs + this.openDurationMs - nowMs;
  }

  /** Successes and failures inside the window ending at `nowMs`. */
  windowCounts(nowMs: number): { successes: number; failures: number } {
    const newest = Math.floor(nowMs / this.bucketMs);
    let successes = 0;
    let failures = 0;
    for (let slot = 0; slot < this.windowBuckets; slot++) {
      if (this.bucketIds[slot]! > newest - this.windowBuckets) {
        successes += this.bucketSuccesses[slot]!;
        failures += this.bucketFailures[slot]!;
      }
    }
    return { successes, failures };
  }

  private ratioTripped(nowMs: number): boolean {
    if (this.failureRatioMax > 1) return false;
    const { successes, failures } = this.windowCounts(nowMs);
    const total = successes + failures;
    return total >= this.windowCallsMin && failures / total >= this.failureRatioMax;
  }

  private bucketAt(nowMs: number, successes: number, failures: number): void {
    const id = Math.floor(nowMs / this.bucketMs);
    const slot = id % this.windowBuckets;
    if (this.bucketIds[slot] !== id) {
      this.bucketIds[slot] = id;
      this.bucketSuccesses[slot] = 0;
      this.bucketFailures[slot] = 0;
    }
    this.bucketSuccesses[slot]! += successes;
    this.bucketFailures[slot]! += failures;
  }

  private transition(to: CircuitState, nowMs: number): void {
    const from = this.current;
    this.current = to;
    this.epoch++;
    this.probesInFlight = 0;
    if (to === 'open') this.openedAtMs = nowMs;
    if (to === 'closed') {
      this.consecutiveFailures = 0;
      this.bucketIds.fill(-1);
    }
    this.onTransition?.(from, to, nowMs);
  }
}
