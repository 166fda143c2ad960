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
 * (it should not) refills nothing rather than draining the bucket. Tokens are counted in
 * thousandths so that integer rates and millisecond steps refill exactly: with plain
 * floats, ten refills of 0.1 make 0.999… and a token the caller is owed goes missing.
 */
export class TokenBucket {
  readonly ratePerSec: number;
  readonly burst: number;
  /** Tokens × 1 000. */
  private milliTokens: number;
  private refilledAtMs: number;

  constructor(options: TokenBucketOptions, nowMs: number) {
    this.ratePerSec = requirePositive('ratePerSec', options.ratePerSec);
    this.burst = requirePositive('burst', options.burst ?? options.ratePerSec);
    this.milliTokens = this.burst * 1000;
    this.refilledAtMs = nowMs;
  }

  /** Tokens available at `nowMs` (fractional: a token accrues continuously). */
  available(nowMs: number): number {
    this.refill(nowMs);
    return this.milliTokens / 1000;
  }

  /** Takes `count` tokens if they are all there; takes nothing otherwise. */
  tryTake(nowMs: number, count = 1): boolean {
    this.refill(nowMs);
    if (this.milliTokens < count * 1000) return false;
    this.milliTokens -= count * 1000;
    return true;
  }

  /** Milliseconds until `count` tokens are available: 0 if they are, Infinity if `count` exceeds the burst. */
  waitMs(nowMs: number, count = 1): number {
    if (count > this.burst) return Infinity;
    this.refill(nowMs);
    const missingMilliTokens = count * 1000 - this.milliTokens;
    return missingMilliTokens <= 0 ? 0 : Math.ceil(missingMilliTokens / this.ratePerSec);
  }

  private refill(nowMs: number): void {
    const elapsedMs = nowMs - this.refilledAtMs;
    if (elapsedMs <= 0) return;
    this.milliTokens = Math.min(this.burst * 1000, this.milliTokens + elapsedMs * this.ratePerSec);
    this.refilledAtMs = nowMs;
  }
}
