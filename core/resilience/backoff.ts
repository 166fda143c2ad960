import { jitter, type Random } from '../random.ts';
import { requireFinite, requireInteger } from './validate.ts';

export interface BackoffOptions {
  /** Ceiling of the first retry's delay; each retry doubles the ceiling. @default 50 */
  baseMs?: number;
  /** Largest ceiling, so a long outage does not push retries out to minutes. @default 5_000 */
  maxMs?: number;
  /** Retries allowed after the first attempt: the retry bound of the call. @default 3 */
  retriesMax?: number;
}

/**
 * Full jitter (AWS architecture blog, "Exponential Backoff and Jitter"): the delay before
 * retry number `retry` (0 for the first) is uniform in [0, min(maxMs, baseMs · 2^retry)).
 * Spreading retries over the whole interval, instead of around its end, is what stops
 * many clients that failed together from retrying together.
 */
export function fullJitterDelayMs(retry: number, random: Random, baseMs: number, maxMs: number): number {
  // 2^retry overflows to Infinity for huge retry counts; min() then caps it at maxMs.
  return jitter(random, Math.min(maxMs, baseMs * 2 ** retry));
}

/** One call's retry schedule: a bounded number of full-jitter delays. */
export class Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly retriesMax: number;
  private retriesUsed = 0;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = requireFinite('baseMs', options.baseMs ?? 50, 0);
    this.maxMs = requireFinite('maxMs', options.maxMs ?? 5_000, this.baseMs);
    this.retriesMax = requireInteger('retriesMax', options.retriesMax ?? 3, 0);
  }

  /** Retries handed out so far. */
  get retries(): number {
    return this.retriesUsed;
  }

  /**
   * The delay before the next retry, or undefined when the retries are used up or the
   * delay would not end before `budgetMs` (what is left of the call's deadline): a retry
   * that cannot finish in time is not worth sending.
   */
  nextDelayMs(random: Random, budgetMs = Infinity): number | undefined {
    if (this.retriesUsed >= this.retriesMax) return undefined;
    const delayMs = fullJitterDelayMs(this.retriesUsed, random, this.baseMs, this.maxMs);
    if (delayMs >= budgetMs) return undefined;
    this.retriesUsed++;
    return delayMs;
  }

  reset(): void {
    this.retriesUsed = 0;
  }
}
