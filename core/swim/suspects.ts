import type { SwimConfig } from './config.ts';
import { expectedConfirmations, suspicionTimeoutBoundsMs } from './formulas.ts';
import type { Member } from './member.ts';
import { Suspicion } from './suspicion.ts';
import type { SwimTimers } from './timers.ts';

/**
 * The members this node suspects, each with its `Suspicion` (Lifeguard's timeout that
 * shrinks with independent confirmations), and the one timer at the earliest deadline.
 */
export class Suspects {
  private readonly members = new Map<Member, Suspicion>();

  constructor(private readonly config: Readonly<SwimConfig>, private readonly timers: SwimTimers) {}

  /** Starts suspecting `m` (reported by `from`); the timeout is scaled to the `liveCount` members. */
  start(m: Member, incarnation: number, from: string, nowMs: number, liveCount: number): void {
    const c = this.config;
    const { minMs, maxMs } = suspicionTimeoutBoundsMs(c.suspicionMult, c.suspicionMaxTimeoutMult, liveCount, c.probeIntervalMs);
    const expected = c.dynamicSuspicionEnabled ? expectedConfirmations(c.suspicionMult, liveCount) : 0;
    this.members.set(m, new Suspicion(incarnation, from, nowMs, expected, minMs, maxMs));
    this.arm();
  }

  clear(m: Member): void {
    if (!this.members.delete(m)) return;
    this.arm();
  }

  /** The suspects as of now (a copy: declaring one dead changes the set). */
  snapshot(): Member[] {
    return [...this.members.keys()];
  }

  get size(): number {
    return this.members.size;
  }

  /** The suspects, in the order they became suspect. */
  values(): IterableIterator<Member> {
    return this.members.keys();
  }

  /** The suspicion of `m`, while it is suspected. */
  of(m: Member): Suspicion | undefined {
    return this.members.get(m);
  }

  /** Re-arms the timer at the earliest deadline (call after a confirmation moved one). */
  arm(): void {
    let next = Infinity;
    for (const s of this.members.values()) if (s.deadlineMs < next) next = s.deadlineMs;
    if (next === Infinity) this.timers.clear('suspicion');
    else if (this.timers.deadline('suspicion') !== next) this.timers.set('suspicion', next);
  }
}
