import { requirePositive } from './validate.ts';

export interface TokenBucketOptions {
  /** Sustained rate: tokens added per second. */
  ratePerSec: number;
  /**
   * Capacity, the largest burst allowed after a quiet period. Also the bound on what a
   * single `tryTake` may ask for.
   * @default ratePerSec (one second's worth)
   */
  burst?: number;
}

/**
 * A token bucket driven by `nowMs` arguments: it refills lazily when asked, so it needs
 * no timer and costs nothing while idle. It starts full. A clock that steps backwards
 * (it should not) refills nothing rather than draining the bucket.
 */
export class TokenBucket {
  readonly ratePerSec: number;
  readonly burst: number;
  private tokens: number;
  private refilledAtMs: number;

  constructor(options: TokenBucketOptions, nowMs: number) {
    this.ratePerSec = requirePositive('ratePerSec', options.ratePerSec);
    this.burst = requirePositive('burst', options.burst ?? options.ratePerSec);
    this.tokens = this.burst;
    this.refilledAtMs = nowMs;
  }

  /** Tokens available at `nowMs` (fractional: a token accrues continuously). */
  available(nowMs: number): number {
    this.refill(nowMs);
    return this.tokens;
  }

  /** Takes `count` tokens if they are all there; takes nothing otherwise. */
  tryTake(nowMs: number, count = 1): boolean {
    this.refill(nowMs);
    if (this.tokens < count) return false;
    this.tokens -= count;
    return true;
  }

  /** Milliseconds until `count` tokens are available: 0 if they are, Infinity if `count` exceeds the burst. */
  waitMs(nowMs: number, count = 1): number {
    if (count > this.burst) return Infinity;
    this.refill(nowMs);
    const missing = count - this.tokens;
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.ratePerSec);
  }

  private refill(nowMs: number): void {
    const elapsedMs = nowMs - this.refilledAtMs;
    if (elapsedMs <= 0) return;
    this.tokens = Math.min(this.burst, this.tokens + (elapsedMs * this.ratePerSec) / 1000);
    this.refilledAtMs = nowMs;
  }
}
