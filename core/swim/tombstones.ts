/** Reaped members remembered at once, at most; beyond it the oldest is forgotten first. */
export const tombstonesMax = 16_384;

/** A member reaped while dead or left, remembered with the incarnation it had then. */
export interface Tombstone {
  readonly name: string;
  readonly incarnation: number;
  readonly left: boolean;
  readonly expiresAtMs: number;
  /** When this node last told the member of its verdict (a stale Alive of it arrived). */
  toldAtMs: number;
}

/**
 * Members forgotten by the reap, kept for one more reap period with their incarnation, so
 * an Alive older than the verdict (gossip still in flight, a peer that has not reaped yet)
 * cannot bring them back; a higher incarnation (a refutation, a restart that learned its
 * verdict) still does. Bounded in time and count; insertion order is expiry order.
 */
export class Tombstones {
  private readonly byName = new Map<string, Tombstone>();

  constructor(private readonly keepMs: number, private readonly sizeMax = tombstonesMax) {}

  get size(): number {
    return this.byName.size;
  }

  bury(name: string, incarnation: number, left: boolean, nowMs: number): void {
    this.byName.delete(name);
    this.prune(nowMs);
    if (this.byName.size >= this.sizeMax) this.byName.delete(this.byName.keys().next().value!);
    this.byName.set(name, { name, incarnation, left, expiresAtMs: nowMs + this.keepMs, toldAtMs: -Infinity });
  }

  /** The tombstone an Alive at `incarnation` is older than (it must be refused), if any. */
  refusing(name: string, incarnation: number, nowMs: number): Tombstone | undefined {
    const t = this.byName.get(name);
    if (t === undefined) return undefined;
    if (t.expiresAtMs <= nowMs || incarnation > t.incarnation) {
      this.byName.delete(name);
      return undefined;
    }
    return t;
  }

  private prune(nowMs: number): void {
    for (const t of this.byName.values()) {
      if (t.expiresAtMs > nowMs) return;
      this.byName.delete(t.name);
    }
  }
}
