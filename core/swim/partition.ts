/** Suspicions remembered for partition detection, at most. */
export const partitionRecentMax = 100_000;

/**
 * Detects a partition from the local view: when at least `fraction` of the other known
 * members (and at least `membersMin`) became suspect within `windowMs`, they are most
 * likely cut off rather than all crashed at once. It is healed once half of them came back.
 */
export class PartitionDetector {
  private readonly recent: { name: string; atMs: number }[] = [];
  private head = 0;
  private active: Set<string> | undefined;
  private activeSize = 0;
  private readonly returnedNames: string[] = [];

  constructor(private readonly windowMs: number, private readonly fraction: number, private readonly membersMin: number) {}

  get detected(): boolean {
    return this.active !== undefined;
  }

  /** Records a suspicion; returns the members of a newly detected partition. */
  suspected(name: string, nowMs: number, othersKnown: number): string[] | undefined {
    if (this.active !== undefined) {
      if (!this.active.has(name)) {
        this.active.add(name);
        this.activeSize++;
      }
      return undefined;
    }
    const q = this.recent;
    if (q.length - this.head >= partitionRecentMax) this.head++;
    q.push({ name, atMs: nowMs });
    while (this.head < q.length && q[this.head]!.atMs < nowMs - this.windowMs) this.head++;
    if (this.head > 1024) {
      q.splice(0, this.head);
      this.head = 0;
    }
    const names = new Set<string>();
    for (let i = this.head; i < q.length; i++) names.add(q[i]!.name);
    if (names.size < this.membersMin || names.size < this.fraction * othersKnown) return undefined;
    this.active = names;
    this.activeSize = names.size;
    this.returnedNames.length = 0;
    q.length = 0;
    this.head = 0;
    return [...names];
  }

  /** Records a member seen alive again; returns the members that came back once healed. */
  returned(name: string): string[] | undefined {
    if (this.active === undefined || !this.active.delete(name)) return undefined;
    this.returnedNames.push(name);
    if (this.returnedNames.length * 2 < this.activeSize) return undefined;
    this.active = undefined;
    return this.returnedNames.splice(0);
  }
}
