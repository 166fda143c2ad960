/**
 * Sets of operations with an unknown outcome that the search has linearized, each named by
 * one integer. Such an operation never completes, so once linearized it stays in the set for
 * the rest of a path: stored in every memo entry, a history with many of them would make
 * entries (and memory) grow with their number. Instead each set is hash-consed: a set is a
 * list sorted in decreasing order, `(largest, id of the rest)`, interned, so equal sets get
 * equal ids and the memo stores one integer. Adding an element larger than every other (the
 * usual case: they are linearized in roughly invoke order) is one lookup. Nothing is
 * allocated per call: the search calls this in its inner loop.
 */
export class InfoSets {
  /** The empty set. */
  static readonly empty = 0;
  private heads = new Int32Array(infoSetsInitial);
  private rests = new Int32Array(infoSetsInitial);
  /** Open addressing over ids (0: free slot), keyed by (head, rest). */
  private table = new Int32Array(infoSetsInitial * 2);
  private count = 1;
  private readonly larger: Int32Array;

  /** @param elementsMax one more than the largest element (the number of operations). */
  constructor(elementsMax: number) {
    this.larger = new Int32Array(elementsMax);
  }

  /** The id of `set` plus `element` (which it must not hold). */
  add(set: number, element: number): number {
    let larger = 0;
    let rest = set;
    while (rest !== InfoSets.empty && this.heads[rest]! > element) {
      this.larger[larger++] = this.heads[rest]!;
      rest = this.rests[rest]!;
    }
    if (rest !== InfoSets.empty && this.heads[rest] === element) throw new Error(`invariant: element ${element} is already in the set`);
    let id = this.cons(element, rest);
    while (larger > 0) id = this.cons(this.larger[--larger]!, id);
    return id;
  }

  private cons(head: number, rest: number): number {
    const mask = this.table.length - 1;
    let slot = pairHash(head, rest) & mask;
    for (let id = this.table[slot]!; id !== 0; id = this.table[slot]!) {
      if (this.heads[id] === head && this.rests[id] === rest) return id;
      slot = (slot + 1) & mask;
    }
    const id = this.count++;
    if (id === this.heads.length) this.grow();
    this.heads[id] = head;
    this.rests[id] = rest;
    if (this.count * 2 > this.table.length) this.rehash();
    else this.table[slot] = id;
    return id;
  }

  private grow(): void {
    const heads = new Int32Array(this.heads.length * 2);
    const rests = new Int32Array(this.heads.length * 2);
    heads.set(this.heads);
    rests.set(this.rests);
    this.heads = heads;
    this.rests = rests;
  }

  /** Doubles the table and places every id again (the newest included). */
  private rehash(): void {
    this.table = new Int32Array(this.table.length * 2);
    const mask = this.table.length - 1;
    for (let id = 1; id < this.count; id++) {
      let slot = pairHash(this.heads[id]!, this.rests[id]!) & mask;
      while (this.table[slot] !== 0) slot = (slot + 1) & mask;
      this.table[slot] = id;
    }
  }
}

const infoSetsInitial = 1 << 10;

function pairHash(head: number, rest: number): number {
  let h = Math.imul(head ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(rest, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 12);
}
