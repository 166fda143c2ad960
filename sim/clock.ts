import { ConfigError, InvalidArgumentError } from '../core/index.ts';

/**
 * A host's local clock: piecewise linear in simulated time, so it can be skewed (a forward
 * jump) and drift (run fast or slow). It is monotonic: skew only moves it forward, drift
 * keeps the rate positive. It belongs to the host, not to one boot, so skew survives a
 * crash and restart.
 */
export class HostClock {
  private baseLocalMs: number;
  private baseSimMs = 0;
  private rate = 1;

  constructor(offsetMs = 0) {
    this.baseLocalMs = offsetMs;
  }

  /** Local time at simulated time `simMs` (which must not be before the last change). */
  local(simMs: number): number {
    return this.baseLocalMs + (simMs - this.baseSimMs) * this.rate;
  }

  /** The simulated time at which the local clock reads `localMs`. */
  simTimeOf(localMs: number): number {
    return this.baseSimMs + (localMs - this.baseLocalMs) / this.rate;
  }

  get driftPpm(): number {
    return (this.rate - 1) * 1e6;
  }

  /** Jumps the clock forward by `deltaMs` at simulated time `simMs`. */
  skew(simMs: number, deltaMs: number): void {
    if (!Number.isFinite(deltaMs) || deltaMs < 0) {
      throw new InvalidArgumentError(`clock skew must be a finite forward jump (≥ 0 ms): monotonic clocks never go back; got ${deltaMs}`);
    }
    this.rebase(simMs);
    this.baseLocalMs += deltaMs;
  }

  /** From simulated time `simMs` on, runs at (1 + ppm / 10^6) times real speed. */
  drift(simMs: number, ppm: number): void {
    if (!Number.isFinite(ppm) || ppm <= -1e6 || ppm > 1e6) {
      throw new ConfigError('driftPpm', `must be in (-1000000, 1000000], got ${ppm}`);
    }
    this.rebase(simMs);
    this.rate = 1 + ppm / 1e6;
  }

  private rebase(simMs: number): void {
    this.baseLocalMs = this.local(simMs);
    this.baseSimMs = simMs;
  }
}
