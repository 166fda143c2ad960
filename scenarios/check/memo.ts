/**
 * The search's memo: configurations already explored, each a register state plus the set of
 * operations linearized so far. Lowe's observation (used by Porcupine and Knossos) is that
 * two paths reaching the same set with the same state have the same future, so the second
 * is cut. A set is stored compactly and exactly (no false hits, so no false verdicts):
 * `frontier`, the first completion not yet passed (every operation completing before it is
 * linearized), the few operations linearized ahead of it, as sorted completion ranks, and
 * the id of the set of linearized operations with an unknown outcome (info-sets.ts).
 *
 * Entries live in one growable Int32Array (`state, frontier, infoSet, count, ranks...`)
 * indexed by an open-addressing table, so a step allocates nothing.
 */
export class Memo {
  private table: Int32Array;
  private hashes: Int32Array;
  private arena: Int32Array;
  private used = 0;
  size = 0;

  /**
   * Sized for `entriesExpected` up front: growing means allocating large arrays, and each
   * large allocation can cost a full collection of the caller's (often large) heap.
   */
  constructor(entriesExpected: number) {
    const slots = 2 ** Math.ceil(Math.log2(Math.max(memoTableSlotsMin, 2 * entriesExpected + 1)));
    this.table = new Int32Array(slots);
    this.hashes = new Int32Array(slots);
    this.arena = new Int32Array(Math.max(memoArenaIntsMin, entriesExpected * memoEntryIntsExpected));
  }

  /** Records the configuration; false when it was recorded before. */
  add(state: number, frontier: number, infoSet: number, ranks: Int32Array, count: number): boolean {
    const hash = configurationHash(mix(state, infoSet), frontier, ranks, count);
    const mask = this.table.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const at = this.table[slot]!;
      if (at === 0) break;
      if (this.hashes[slot] === hash && this.equals(at - 1, state, frontier, infoSet, ranks, count)) return false;
    }
    this.insert(hash, state, frontier, infoSet, ranks, count);
    return true;
  }

  private equals(at: number, state: number, frontier: number, infoSet: number, ranks: Int32Array, count: number): boolean {
    const arena = this.arena;
    if (arena[at] !== state || arena[at + 1] !== frontier || arena[at + 2] !== infoSet || arena[at + 3] !== count) return false;
    for (let i = 0; i < count; i++) if (arena[at + 4 + i] !== ranks[i]) return false;
    return true;
  }

  private insert(hash: number, state: number, frontier: number, infoSet: number, ranks: Int32Array, count: number): void {
    if (this.used + 4 + count > this.arena.length) this.growArena(4 + count);
    const at = this.used;
    this.arena[at] = state;
    this.arena[at + 1] = frontier;
    this.arena[at + 2] = infoSet;
    this.arena[at + 3] = count;
    for (let i = 0; i < count; i++) this.arena[at + 4 + i] = ranks[i]!;
    this.used += 4 + count;
    this.size++;
    if (this.size * 2 > this.table.length) this.growTable();
    this.place(hash, at + 1);
  }

  private place(hash: number, reference: number): void {
    const mask = this.table.length - 1;
    let slot = hash & mask;
    while (this.table[slot] !== 0) slot = (slot + 1) & mask;
    this.table[slot] = reference;
    this.hashes[slot] = hash;
  }

  private growArena(needed: number): void {
    const next = new Int32Array(Math.max(this.arena.length * 2, this.used + needed));
    next.set(this.arena.subarray(0, this.used));
    this.arena = next;
  }

  private growTable(): void {
    const oldTable = this.table;
    const oldHashes = this.hashes;
    this.table = new Int32Array(oldTable.length * 2);
    this.hashes = new Int32Array(oldTable.length * 2);
    for (let slot = 0; slot < oldTable.length; slot++) {
      if (oldTable[slot] !== 0) this.place(oldHashes[slot]!, oldTable[slot]!);
    }
  }
}

/** Smallest sizes; both double as needed (the number of entries is bounded by the search's step budget). */
const memoTableSlotsMin = 1 << 10;
const memoArenaIntsMin = 1 << 12;
/** Four integers per entry and the few ranks ahead of the frontier (up to the concurrency). */
const memoEntryIntsExpected = 6;

/** MurmurHash3's 32-bit mixing over the configuration's integers. */
function configurationHash(seed: number, frontier: number, ranks: Int32Array, count: number): number {
  let h = mix(seed, frontier);
  for (let i = 0; i < count; i++) h = mix(h, ranks[i]!);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}
