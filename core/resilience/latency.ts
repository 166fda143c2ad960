import { requirePositive } from './validate.ts';

export interface EwmaOptions {
  /**
   * Decay time constant τ: a sample's weight falls to 1/e after τ of clock time. It is
   * time-based rather than per-sample so that a busy worker and a quiet one forget at the
   * same speed. Finagle's peak EWMA uses 10 s.
   * @default 10_000
   */
  decayMs?: number;
}

/** The weight an old average keeps after `elapsedMs`: exp(-elapsed / τ), 1 for no elapsed time. */
export function decayWeight(elapsedMs: number, decayMs: number): number {
  return elapsedMs <= 0 ? 1 : Math.exp(-elapsedMs / decayMs);
}

/**
 * Exponentially weighted moving average of latency samples, weighted by the time between
 * them. Undefined until the first sample, which is taken as is.
 */
export class Ewma {
  readonly decayMs: number;
  protected average: number | undefined;
  protected stampMs = 0;

  constructor(options: EwmaOptions = {}) {
    this.decayMs = requirePositive('decayMs', options.decayMs ?? 10_000);
  }

  /** The average after the last sample. */
  get value(): number | undefined {
    return this.average;
  }

  observe(sampleMs: number, nowMs: number): void {
    if (this.average === undefined) {
      this.average = sampleMs;
    } else {
      const w = decayWeight(nowMs - this.stampMs, this.decayMs);
      this.average = this.average * w + sampleMs * (1 - w);
    }
    this.stampMs = Math.max(this.stampMs, nowMs);
  }
}

/**
 * Peak EWMA (Finagle, Linkerd): a sample above the average replaces it at once, a sample
 * below is blended in slowly. A worker that turns slow is penalised on its first slow
 * answer; one that recovers earns its traffic back gradually. Reading with `valueAt`
 * also decays towards zero with idle time, so a worker avoided for being slow is tried
 * again eventually instead of being starved forever on a stale peak.
 */
export class PeakEwma extends Ewma {
  override observe(sampleMs: number, nowMs: number): void {
    if (this.average === undefined || sampleMs > this.average) {
      this.average = sampleMs;
      this.stampMs = Math.max(this.stampMs, nowMs);
      return;
    }
    super.observe(sampleMs, nowMs);
  }

  /** The average as seen at `nowMs`: decayed towards zero for the time since the last sample. */
  valueAt(nowMs: number): number | undefined {
    if (this.average === undefined) return undefined;
    return this.average * decayWeight(nowMs - this.stampMs, this.decayMs);
  }
}
