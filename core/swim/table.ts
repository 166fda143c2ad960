import type { Address } from '../address.ts';
import { randomInt, shuffle, type Random } from '../random.ts';
import type { Tags } from './codec.ts';
import type { Member, MemberState } from './member.ts';
import { nameId, nameIdIfAny, nameIdOfUtf8, nameIdsEpoch } from './names.ts';

/** The known-Alive index grows to at most this many slots per member held, plus `indexSlackBase`. */
export const indexSlack = 4;
export const indexSlackBase = 1024;

/**
 * Changes `MemberTable.takeChanges` lists at most between two calls, other than additions
 * (a frame is patched for each by a scan of its members: for more it is made again).
 */
export const changedKeptMax = 64;
/** Members added that `MemberTable.takeChanges` lists at most between two calls (appended to a frame, each costs its entry). */
export const addedKeptMax = 1024;

/** See `MemberTable.takeChanges`. */
export interface TableChanges {
  readonly added: readonly Member[];
  readonly changed: readonly Member[];
}

/** Random draws a random member takes at most before giving up (it skips the excluded and the gone). */
export const randomMemberTriesMax = 16;

/**
 * The member table: every known member by name (the local node included), the probe list
 * (the other members in probe order, reshuffled on wrap), when each member last changed
 * state, the suspect and dead members by address, and the count of live members. It keeps
 * these consistent; what a change means (events, gossip, suspicion) is decided by its callers.
 *
 * What is kept per member is what a large cluster pays for at every node (n² in all): no
 * index by address (only the few suspect and dead members have one), and the times of
 * the last state change in one array of doubles beside the probe list rather than a boxed
 * number per record.
 */
export class MemberTable {
  private readonly byName = new Map<string, Member>();
  /** Suspect and dead members by address (the last one set wins): whom a ping that needs our verdict came from. */
  private readonly unwellByAddress = new Map<Address, Member>();
  private readonly probeList: Member[] = [];
  /** times[i]: when probeList[i] last changed state (a double array: unboxed). */
  private readonly times: number[] = [];
  /**
   * codes[i]: probeList[i]'s state as a number (`stateCode`: alive and suspect below dead and left). The random draws (gossip
   * targets, ping-req relays, the dead probe) and the probe order test a state here, in a
   * few cache lines, instead of in a record each that is rarely in cache (most draws at a
   * large cluster's nodes land on members not touched for many periods). Grown by doubling.
   */
  private codes = new Uint8Array(16);
  private selfChangedAtMs: number;
  /** The last state change of members no longer in the table (a reaper may still look at them). */
  private readonly removedChangedAtMs = new WeakMap<Member, number>();
  private probeCursor = 0;
  /**
   * incarnationPlus1[nameId(m.name)] = m.incarnation + 1 for every other member held, 0
   * otherwise: the known-Alive test reads one number instead of a map entry and two records
   * (it runs for every gossiped Alive and push-pull entry: millions during a join). An index
   * only; a 0 (not held, or an incarnation at the very top of its range) asks `byName`.
   * Rebuilt when the process-wide name ids start again (`nameIdsEpoch`).
   */
  private incarnationPlus1 = new Uint32Array(0);
  private indexEpoch = nameIdsEpoch();
  /**
   * Whether every member held (the local node aside) is in the index. Then a name the index
   * lacks is not held, or held at the top incarnation (where the Alive changes nothing
   * either): no need to ask `byName`. False once a member could not be indexed.
   */
  private indexComplete = true;
  /**
   * The first acks of members without a phi detector yet (`health.ts`): slot i holds the
   * ack's time at 2i and the first interval the detector will assume at 2i + 1, and the
   * member's `acks` holds i. Round-robin probing gives each member its first ack at each
   * node about once per n periods, each kept until the second: as objects they were
   * nearly all a steady cluster's nodes kept allocating (and the garbage collector kept
   * copying and promoting). A slot is reused once let go; at most one per member held.
   */
  private firstAcks = new Float64Array(0);
  private readonly firstAckFree: number[] = [];
  private firstAckSlots = 0;
  /** Alive or suspect members, the local node included: the n of every formula. */
  private live = 1;
  /** Members in state dead (not yet reaped), and in state suspect. */
  private dead = 0;
  private suspect = 0;
  /** See `takeChanges`: undefined once either list overflowed. */
  private changes: { added: Member[]; changed: Member[] } | undefined = { added: [], changed: [] };

  constructor(private readonly self: Member, private readonly random: Random, nowMs: number) {
    this.byName.set(self.name, self);
    this.selfChangedAtMs = nowMs;
  }

  /** Every known member, the local node included. */
  get size(): number {
    return this.byName.size;
  }

  /**
   * What changed in the table since the last call: the members added, in order, and the
   * members removed or moved to another state or version (the local node's version aside:
   * it changes on the member itself), in the order of their changes, a member as often as
   * it changed; undefined when more than `addedKeptMax` members were added or
   * `changedKeptMax` other changes came (then nothing more was noted). What is derived
   * from the whole table (a push-pull's state frame, `KeptStateFrame`) is patched with
   * this rather than made again; one caller per table. Noting starts again at every call,
   * until `stopNotingChanges`.
   */
  takeChanges(): TableChanges | undefined {
    const changes = this.changes;
    this.changes = { added: [], changed: [] };
    return changes;
  }

  /** Notes nothing until the next `takeChanges` (which then answers undefined): nothing is derived from the table now. */
  stopNotingChanges(): void {
    this.changes = undefined;
  }

  private note(m: Member): void {
    const changes = this.changes;
    if (changes === undefined) return;
    if (changes.changed.length >= changedKeptMax) this.changes = undefined;
    else changes.changed.push(m);
  }

  private noteAdded(m: Member): void {
    const changes = this.changes;
    if (changes === undefined) return;
    if (changes.added.length >= addedKeptMax) this.changes = undefined;
    else changes.added.push(m);
  }

  /** Alive or suspect members, the local node included. */
  get liveCount(): number {
    return this.live;
  }

  get(name: string): Member | undefined {
    return this.byName.get(name);
  }

  /** Whether `m` itself is held (not removed, nor replaced by another record of its name): `get(m.name) === m`, without the lookup. */
  holds(m: Member): boolean {
    return m.probeIndex >= 0 || m === this.self;
  }

  /**
   * The other member at `address`, if any (the last in table order when several claim it).
   * O(n): a scan, for callers that do O(n) work anyway (merging a push-pull).
   */
  at(address: Address): Member | undefined {
    let found: Member | undefined;
    for (const m of this.byName.values()) if (m.address === address && m !== this.self) found = m;
    return found;
  }

  /** The suspect or dead member at `address`, if any. O(1). */
  unwellAt(address: Address): Member | undefined {
    return this.unwellByAddress.get(address);
  }

  /** When `m` last changed state, by this node's clock (when it was added, if never since). */
  changedAtMs(m: Member): number {
    if (m.probeIndex >= 0) return this.times[m.probeIndex]!;
    return m === this.self ? this.selfChangedAtMs : this.removedChangedAtMs.get(m) ?? NaN;
  }

  /** Whether any member is suspect or dead (if none, no member needs our verdict on it). */
  get anySuspectOrDead(): boolean {
    return this.suspect + this.dead > 0;
  }

  /** Whether any member is in state suspect (a suspicion is held only for such a member: `Suspects`). */
  get anySuspect(): boolean {
    return this.suspect > 0;
  }

  /** Whether any member is dead (not yet reaped). */
  get anyDead(): boolean {
    return this.dead > 0;
  }

  values(): IterableIterator<Member> {
    return this.byName.values();
  }

  /**
   * `knownAlive` from the name's UTF-8 bytes, when the index can tell (a name held here is
   * found so unless its probe run in `names.ts` was full); undefined when the name must be
   * decoded first. False, too, for a member held at the top incarnation, where `knownAlive`
   * would say true: an Alive decoded in full that changes nothing is only slower. The first
   * Alive of each new member (a join brings one per member to every node) is answered here,
   * without asking the records by name.
   */
  knownAliveUtf8(bytes: Uint8Array, start: number, end: number, incarnation: number): boolean | undefined {
    if (this.indexEpoch !== nameIdsEpoch()) this.reindex();
    const id = nameIdOfUtf8(bytes, start, end);
    if (id === undefined) return undefined;
    const held = this.incarnationPlus1[id];
    if (held !== undefined && held !== 0) return incarnation < held;
    return this.indexComplete ? false : undefined;
  }

  /** An Alive that would change nothing: about another member, at an incarnation already held. */
  readonly knownAlive = (name: string, incarnation: number): boolean => {
    if (this.indexEpoch !== nameIdsEpoch()) this.reindex();
    const id = nameIdIfAny(name);
    const held = id === undefined ? undefined : this.incarnationPlus1[id];
    if (held !== undefined && held !== 0) return incarnation < held;
    if (name === this.self.name) return false;
    const m = this.byName.get(name);
    return m !== undefined && incarnation <= m.incarnation;
  };

  /**
   * Keeps `m`'s incarnation in the index (`m` is held and not the local node). Written on
   * stale ids, it is rebuilt all the same before it is next read.
   */
  private index(m: Member): void {
    this.indexAs(m, nameId(m.name));
  }

  /**
   * Indexes `m` at `id`, growing the index up to `indexSlack` slots per member held: ids
   * are the process's, so a small table holding a member named late (ids given to names
   * that came and went elsewhere) leaves that member out rather than hold an index sized
   * by every name the process has seen; it is then asked of `byName`.
   */
  private indexAs(m: Member, id: number): void {
    if (id >= this.incarnationPlus1.length) {
      const size = Math.max(16, id + 1, this.incarnationPlus1.length * 2);
      if (size > indexSlack * this.byName.size + indexSlackBase) {
        this.indexComplete = false;
        return;
      }
      const grown = new Uint32Array(size);
      grown.set(this.incarnationPlus1);
      this.incarnationPlus1 = grown;
    }
    this.incarnationPlus1[id] = m.incarnation + 1;
  }

  private unindex(m: Member): void {
    const id = nameIdIfAny(m.name);
    if (id !== undefined && id < this.incarnationPlus1.length) this.incarnationPlus1[id] = 0;
  }

  /**
   * Rebuilds the index from the table (the name ids started again). Giving ids may start
   * them again (the epoch moves): then it builds once more, and if that moves it too (a
   * table holding more names than there are ids: `membersMax` above `nameIdsMax`), the
   * index starts empty and every name it lacks is asked of `byName`.
   */
  private reindex(): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      this.indexEpoch = nameIdsEpoch();
      this.incarnationPlus1 = new Uint32Array(0);
      this.indexComplete = true;
      for (const m of this.byName.values()) if (m !== this.self) this.indexAs(m, nameId(m.name));
      if (this.indexEpoch === nameIdsEpoch()) return;
    }
    this.indexEpoch = nameIdsEpoch();
    this.incarnationPlus1 = new Uint32Array(0);
    this.indexComplete = this.byName.size <= 1;
  }

  /** Keeps `m`'s first ack (nothing for a member no longer held: no one asks about its acks). */
  noteFirstAck(m: Member, atMs: number, intervalMs: number): void {
    if (!this.holds(m)) return;
    let slot = this.firstAckFree.pop();
    if (slot === undefined) {
      slot = this.firstAckSlots++;
      if (2 * slot + 2 > this.firstAcks.length) {
        const grown = new Float64Array(Math.max(32, this.firstAcks.length * 2));
        grown.set(this.firstAcks);
        this.firstAcks = grown;
      }
    }
    this.firstAcks[2 * slot] = atMs;
    this.firstAcks[2 * slot + 1] = intervalMs;
    m.acks = slot;
  }

  firstAckAtMs(slot: number): number {
    return this.firstAcks[2 * slot]!;
  }

  firstAckIntervalMs(slot: number): number {
    return this.firstAcks[2 * slot + 1]!;
  }

  /** Lets go of `m`'s first ack, if the table keeps one (its detector replaces it, or it leaves the table). */
  dropFirstAck(m: Member): void {
    if (typeof m.acks !== 'number') return;
    this.firstAckFree.push(m.acks);
    m.acks = undefined;
  }

  /** Moves `m` (held, not the local node) to another incarnation (a Suspect or Dead names only that). */
  setIncarnation(m: Member, incarnation: number): void {
    if (incarnation !== m.incarnation) this.note(m);
    m.setIncarnation(incarnation);
    this.index(m);
  }

  /** Adds a new (alive) member, as of `nowMs`, at a random position of the probe list (bounds time to first probe). */
  add(m: Member, nowMs: number): void {
    this.noteAdded(m);
    this.byName.set(m.name, m);
    this.index(m);
    this.live++;
    const list = this.probeList;
    const times = this.times;
    const at = randomInt(this.random, list.length + 1);
    const displaced = list[at];
    list.push(m);
    times.push(nowMs);
    const last = list.length - 1;
    if (last >= this.codes.length) {
      const grown = new Uint8Array(this.codes.length * 2);
      grown.set(this.codes);
      this.codes = grown;
    }
    const codes = this.codes;
    codes[last] = stateCode(m.state);
    m.probeIndex = last;
    if (displaced !== undefined) {
      times[last] = times[at]!;
      times[at] = nowMs;
      codes[last] = codes[at]!;
      codes[at] = stateCode(m.state);
      list[at] = m;
      m.probeIndex = at;
      list[last] = displaced;
      displaced.probeIndex = last;
    }
  }

  remove(m: Member): void {
    this.note(m);
    this.byName.delete(m.name);
    this.unindex(m);
    this.forgetUnwell(m);
    this.dropFirstAck(m);
    if (m.live) this.live--;
    if (m.state === 'dead') this.dead--;
    else if (m.state === 'suspect') this.suspect--;
    const list = this.probeList;
    const times = this.times;
    const at = m.probeIndex;
    this.removedChangedAtMs.set(m, times[at]!);
    const last = list.pop()!;
    const lastAt = times.pop()!;
    if (last !== m) {
      list[at] = last;
      times[at] = lastAt;
      this.codes[at] = this.codes[list.length]!;
      last.probeIndex = at;
    }
    m.probeIndex = -1;
  }

  setState(m: Member, state: MemberState, nowMs: number): void {
    if (m.state === state) return;
    this.note(m);
    const wasLive = m.live;
    if (m.state === 'dead') this.dead--;
    else if (m.state === 'suspect') this.suspect--;
    if (m.state === 'dead' || m.state === 'suspect') this.forgetUnwell(m);
    m.state = state;
    if (m.probeIndex >= 0) {
      this.times[m.probeIndex] = nowMs;
      this.codes[m.probeIndex] = stateCode(state);
    } else if (m === this.self) this.selfChangedAtMs = nowMs;
    if (state === 'dead') this.dead++;
    else if (state === 'suspect') this.suspect++;
    if ((state === 'dead' || state === 'suspect') && m !== this.self) this.unwellByAddress.set(m.address, m);
    if (wasLive !== m.live) this.live += m.live ? 1 : -1;
  }

  /** An Alive at a newer incarnation, which may move the member (a restart on another address) and bring new tags. */
  seen(m: Member, address: Address, incarnation: number, tags: Tags): void {
    this.note(m);
    const unwell = m.address !== address && (m.state === 'dead' || m.state === 'suspect') && m !== this.self;
    if (unwell) this.forgetUnwell(m);
    m.seen(address, incarnation, tags);
    if (m !== this.self) this.index(m);
    if (unwell) this.unwellByAddress.set(address, m);
  }

  private forgetUnwell(m: Member): void {
    if (this.unwellByAddress.get(m.address) === m) this.unwellByAddress.delete(m.address);
  }

  /** Round-robin over the probe list, skipping dead and left members; reshuffles on wrap. */
  nextProbeTarget(): Member | undefined {
    const list = this.probeList;
    for (let checked = 0; checked < list.length; checked++) {
      if (this.probeCursor >= list.length) {
        this.probeCursor = 0;
        shuffle(this.random, list);
        // The times and state codes follow their members to their new places.
        const times = this.times;
        const codes = this.codes;
        const old = times.slice();
        const oldCodes = codes.slice(0, list.length);
        for (let i = 0; i < list.length; i++) {
          const member = list[i]!;
          times[i] = old[member.probeIndex]!;
          codes[i] = oldCodes[member.probeIndex]!;
          member.probeIndex = i;
        }
      }
      const at = this.probeCursor++;
      if (this.codes[at]! <= suspectCode) return list[at]!;
    }
    return undefined;
  }

  /**
   * Up to `tries` draws of any other member, whatever its state; the first drawn that is
   * dead and was declared within `withinMs` of `nowMs`, if any. No draw is made while no
   * member is dead.
   */
  randomRecentlyDead(tries: number, nowMs: number, withinMs: number): Member | undefined {
    const list = this.probeList;
    if (list.length === 0 || this.dead === 0) return undefined;
    for (let i = 0; i < tries; i++) {
      const at = randomInt(this.random, list.length);
      if (this.codes[at] === deadCode && nowMs - this.times[at]! < withinMs) return list[at]!;
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
    const excluded = exclude === undefined ? -1 : exclude.probeIndex;
    for (let tries = 0; tries < randomMemberTriesMax; tries++) {
      const at = randomInt(this.random, list.length);
      if (at === excluded) continue;
      const code = this.codes[at]!;
      if (code <= suspectCode) return list[at]!;
      if (!liveOnly && code === deadCode && nowMs - this.times[at]! < deadWithinMs) return list[at]!;
    }
    return undefined;
  }
}

/** A state as `MemberTable`'s codes hold it: alive and suspect (live) below dead and left. */
const aliveCode = 0;
const suspectCode = 1;
const deadCode = 2;
const leftCode = 3;

function stateCode(state: MemberState): number {
  switch (state) {
    case 'alive': return aliveCode;
    case 'suspect': return suspectCode;
    case 'dead': return deadCode;
    case 'left': return leftCode;
  }
}
