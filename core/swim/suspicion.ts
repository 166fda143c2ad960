import { suspicionTimeoutMs } from './formulas.ts';

/** Confirmations tracked per suspicion: more than k never shorten the timeout further. */
export const confirmationsMax = 32;

/**
 * One member's suspicion (memberlist's suspicion.go): started at `startMs` with a timeout
 * between `minMs` and `maxMs` that shrinks with each independent confirmation.
 */
export class Suspicion {
  private readonly confirmers = new Set<string>();
  deadlineMs: number;

  constructor(
    readonly incarnation: number,
    from: string,
    private readonly startMs: number,
    private readonly expected: number,
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {
    // The member that started the suspicion does not count as a confirmation.
    this.confirmers.add(from);
    this.deadlineMs = startMs + suspicionTimeoutMs(0, expected, minMs, maxMs);
  }

  get confirmations(): number {
    return this.confirmers.size - 1;
  }

  /** Counts `from` as a confirmation; true when it was new (and so should be re-gossiped). */
  confirm(from: string): boolean {
    if (this.confirmers.has(from) || this.confirmations >= Math.min(this.expected, confirmationsMax)) return false;
    this.confirmers.add(from);
    this.deadlineMs = this.startMs + suspicionTimeoutMs(this.confirmations, this.expected, this.minMs, this.maxMs);
    return true;
  }
}
