import { scaleByAwareness } from './formulas.ts';

/**
 * Lifeguard's local health awareness: a score in [0, max) that rises when this member
 * shows signs of being the slow one (missed nacks, having to refute) and falls with each
 * successful probe. A disabled awareness stays at 0, which is classic SWIM.
 */
export class Awareness {
  private value = 0;
  constructor(private readonly max: number, private readonly enabled: boolean) {}

  get score(): number {
    return this.value;
  }

  /** Adds `delta` (negative to lower), clamped to [0, max − 1]; returns the new score. */
  apply(delta: number): number {
    if (!this.enabled) return 0;
    this.value = Math.min(this.max - 1, Math.max(0, this.value + delta));
    return this.value;
  }

  scale(intervalMs: number): number {
    return scaleByAwareness(intervalMs, this.value);
  }
}
