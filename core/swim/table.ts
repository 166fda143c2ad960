import type { Address } from '../address.ts';
import { randomInt, shuffle, type Random } from '../random.ts';
import type { Tags } from './codec.ts';
import type { Member, MemberState } from './member.ts';

/** Random draws a random member takes at most before giving up (it skips the excluded and the gone). */
export const randomMemberTriesMax = 16;

/**
 * The member table: every known member by name (the local node included) and by address
 * (the local node excluded), the probe list (the other members in probe order, reshuffled
 * on wrap) and the count of live members. It keeps these consistent; what a change means
 * (events, gossip, suspicion) is decided by its callers.
 */
export class MemberTable {
  private readonly byName = new Map<string, Member>();
  /** Members by address, to know who a datagram or exchange came from. */
  private readonly byAddress = new Map<Address, Member>();
  private readonly probeList: Member[] = [];
  private probeCursor = 0;
  /** Alive or suspect members, the local node included: the n of every formula. */
  private live = 1;
  /** Members in state dead (not yet reaped), and in state suspect. */
  private dead = 0;
  private suspect = 0;

  constructor(private readonly self: Member, private readonly random: Random) {
    this.byName.set(self.name, self);
  }

  /** Every known member, the local node included. */
  get size(): number {
    return this.byName.size;
  }

  /** Alive or suspect members, the local node included. */
  get liveCount(): number {
    return this.live;
  }

  get(name: string): Member | undefined {
    return this.byName.get(name);
  }

  /** The other member at `address`, if any. */
  at(address: Address): Member | undefined {
    return this.byAddress.get(address);
  }

  /** Whether any member is suspect or dead (if none, no member needs our verdict on it). */
  get anySuspectOrDead(): boolean {
    return this.suspect + this.dead > 0;
  }

  values(): IterableIterator<Member> {
    return this.byName.values();
  }

  /** An Alive that would change nothing: about another member, at an incarnation already held. */
  readonly knownAlive = (name: string, incarnation: number): boolean => {
    if (name === this.self.name) return false;
    const m = this.byName.get(name);
    return m !== undefined && incarnation <= m.incarnation;
  };

  /** Adds a new member at a random position of the probe list (bounds time to first probe). */
  add(m: Member): void {
    this.byName.set(m.name, m);
    this.byAddress.set(m.address, m);
    this.live++;
    const list = this.probeList;
    const at = randomInt(this.random, list.length + 1);
    const displaced = list[at];
    list.push(m);
    m.probeIndex = list.length - 1;
    if (displaced !== undefined) {
      list[at] = m;
      m.probeIndex = at;
      list[list.length - 1] = displaced;
      displaced.probeIndex = list.length - 1;
    }
  }

  remove(m: Member): void {
    this.byName.delete(m.name);
    if (this.byAddress.get(m.address) === m) this.byAddress.delete(m.address);
    if (m.live) this.live--;
    if (m.state === 'dead') this.dead--;
    else if (m.state === 'suspect') this.suspect--;
    const list = this.probeList;
    const last = list.pop()!;
    if (last !== m) {
      list[m.probeIndex] = last;
      last.probeIndex = m.probeIndex;
    }
    m.probeIndex = -1;
  }

  setState(m: Member, state: MemberState, nowMs: number): void {
    if (m.state === state) return;
    const wasLive = m.live;
    if (m.state === 'dead') this.dead--;
    else if (m.state === 'suspect') this.suspect--;
    m.state = state;
    m.stateChangedAtMs = nowMs;
    if (state === 'dead') this.dead++;
    else if (state === 'suspect') this.suspect++;
    if (wasLive !== m.live) this.live += m.live ? 1 : -1;
  }

  /** An Alive at a newer incarnation, which may move the member (a restart on another address) and bring new tags. */
  seen(m: Member, address: Address, incarnation: number, tags: Tags): void {
    if (m.address !== address) {
      if (this.byAddress.get(m.address) === m) this.byAddress.delete(m.address);
      this.byAddress.set(address, m);
    }
    m.seen(address, incarnation, tags);
  }

  /** Round-robin over the probe list, skipping dead and left members; reshuffles on wrap. */
  nextProbeTarget(): Member | undefined {
    const list = this.probeList;
    for (let checked = 0; checked < list.length; checked++) {
      if (this.probeCursor >= list.length) {
        this.probeCursor = 0;
        shuffle(this.random, list);
        for (let i = 0; i < list.length; i++) list[i]!.probeIndex = i;
      }
      const m = list[this.probeCursor++]!;
      if (m.live) return m;
    }
    return undefined;
  }

  /**
   * Up to `tries` draws of any other member, whatever its state; the first drawn that is
   * dead and was declared within `withinMs` of `nowMs`, if any. While no member is dead the
   * draws are made all the same (the same random numbers consumed, so every later draw is
   * the one it would be) but no record is read: a large cluster mostly has none.
   */
  randomRecentlyDead(tries: number, nowMs: number, withinMs: number): Member | undefined {
    const list = this.probeList;
    if (list.length === 0) return undefined;
    for (let i = 0; i < tries; i++) {
      const at = randomInt(this.random, list.length);
      if (this.dead === 0) continue;
      const m = list[at]!;
      if (m.state === 'dead' && nowMs - m.stateChangedAtMs < withinMs) return m;
    }
    return undefined;
  }

  /** A random live other member, not `exclude`. O(1) expected. */
  randomLive(exclude: Member | undefined): Member | undefined {
    return this.randomMember(exclude, true, 0, 0);
  }

  /**
   * A random other member, live or dead within `deadWithinMs` of `nowMs` (so a healed
   * partition is found again). O(1) expected.
   */
  randomReachable(nowMs: number, deadWithinMs: number): Member | undefined {
    return this.randomMember(undefined, false, nowMs, deadWithinMs);
  }

  private randomMember(exclude: Member | undefined, liveOnly: boolean, nowMs: number, deadWithinMs: number): Member | undefined {
    const list = this.probeList;
    if (list.length === 0) return undefined;
    for (let tries = 0; tries < randomMemberTriesMax; tries++) {
      const m = list[randomInt(this.random, list.length)]!;
      if (m === exclude) continue;
      if (m.live) return m;
      if (!liveOnly && m.state === 'dead' && nowMs - m.stateChangedAtMs < deadWithinMs) return m;
    }
    return undefined;
  }
}
