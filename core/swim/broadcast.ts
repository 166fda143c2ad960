import type { PacketBuilder } from './codec.ts';

/** Broadcasts that may fail to fit before a packet counts as full. */
export const fillMissesMax = 4;

/** One queued update: its encoded bytes and how often it was sent. */
interface Broadcast {
  readonly key: string;
  readonly bytes: Uint8Array;
  transmits: number;
  /** False once replaced, removed or spent: the buckets drop it lazily. */
  queued: boolean;
}

/** A bucket's ring starts this long. */
const ringInitial = 8;

/**
 * An emptied ring longer than this is let go (a join's burst is spent: kept, a thousand
 * members' rings held 28 B per observer-member pair); a shorter one is kept for the next.
 */
const ringKeptMax = 64;

/**
 * Broadcasts sent the same number of times, oldest first, in a ring that grows by doubling
 * and is compacted in place: each broadcast a packet takes moves to the next bucket (in a
 * 1 000-member join, about ten million moves), and arrays pushed at the end and filtered
 * were two fifths of everything a join allocated. Spent entries are skipped, then
 * compacted away.
 */
class Bucket {
  /** Power-of-two length; slots head … head + count − 1 (wrapping) are in use, stale ones included. Read by `fill`'s scan. */
  ring: (Broadcast | undefined)[] = new Array<Broadcast | undefined>(ringInitial);
  head = 0;
  /** Slots in use. */
  count = 0;
  /** Entries this bucket still holds (the rest of `count` is stale). */
  live = 0;

  constructor(readonly transmits: number) {}

  holds(b: Broadcast): boolean {
    return b.queued && b.transmits === this.transmits;
  }

  /** The entry `i` places from the oldest (i < count). */
  at(i: number): Broadcast {
    return this.ring[(this.head + i) & (this.ring.length - 1)]!;
  }

  push(b: Broadcast): void {
    if (this.count === this.ring.length) this.makeRoom();
    this.ring[(this.head + this.count) & (this.ring.length - 1)] = b;
    this.count++;
    this.live++;
  }

  /**
   * Drops the stale entries before the oldest held one: the oldest are sent first, so
   * stale entries gather at the front, and the next packet need not scan them again.
   */
  dropStaleHead(): void {
    const ring = this.ring;
    const mask = ring.length - 1;
    while (this.count > 0 && !this.holds(ring[this.head]!)) {
      ring[this.head] = undefined;
      this.head = (this.head + 1) & mask;
      this.count--;
    }
  }

  /** The oldest broadcast still here. */
  first(): Broadcast | undefined {
    this.dropStaleHead();
    return this.count > 0 ? this.at(0) : undefined;
  }

  /** One broadcast left this bucket; compacts when most entries are stale. */
  left(): void {
    this.live--;
    if (this.live === 0) {
      this.empty();
      return;
    }
    const stale = this.count - this.live;
    if (stale > 64 && stale > this.live) this.compact();
  }

  /** Lets go of every entry (and of a grown ring's room: a join's burst is spent). */
  empty(): void {
    if (this.ring.length > ringKeptMax) this.ring = new Array<Broadcast | undefined>(ringInitial);
    else for (let i = 0; i < this.count; i++) this.ring[(this.head + i) & (this.ring.length - 1)] = undefined;
    this.head = 0;
    this.count = 0;
    this.live = 0;
  }

  /** Keeps only the entries still held, in order, in place. */
  private compact(): void {
    const ring = this.ring;
    const mask = ring.length - 1;
    let kept = 0;
    for (let i = 0; i < this.count; i++) {
      const b = ring[(this.head + i) & mask]!;
      if (this.holds(b)) ring[(this.head + kept++) & mask] = b;
    }
    for (let i = kept; i < this.count; i++) ring[(this.head + i) & mask] = undefined;
    this.count = kept;
  }

  /** The ring is full: compacts it when at least half stale (a ring is never all stale: emptied, it is reset), else doubles it. */
  private makeRoom(): void {
    if (this.count - this.live >= this.live) {
      this.compact();
      return;
    }
    const old = this.ring;
    const mask = old.length - 1;
    const grown = new Array<Broadcast | undefined>(old.length * 2);
    for (let i = 0; i < this.count; i++) grown[i] = old[(this.head + i) & mask];
    this.ring = grown;
    this.head = 0;
  }
}

/**
 * memberlist's transmit-limited queue: one broadcast per member (a newer update about a
 * member replaces the older), each sent at most `limit` times, the least-transmitted first.
 * Broadcasts sit in buckets by transmit count (arrays, oldest first), so filling a packet
 * touches only what it sends; nothing is sorted. When full, the most-transmitted (the
 * most redundant: the one most members already heard) makes room.
 */
export class BroadcastQueue {
  private readonly byKey = new Map<string, Broadcast>();
  /** buckets[t] holds the broadcasts sent t times, in insertion order. */
  private readonly buckets: Bucket[] = [];
  /** Scratch of `fill`: what the packet took (its length kept: emptying an array lets go of its room). */
  private readonly picked: (Broadcast | undefined)[] = [];

  constructor(private readonly sizeMax: number) {}

  get size(): number {
    return this.byKey.size;
  }

  /** Queues `bytes` as the update for `key`, replacing a pending one. */
  enqueue(key: string, bytes: Uint8Array): void {
    this.remove(key);
    if (this.byKey.size >= this.sizeMax) this.dropMostTransmitted();
    const b: Broadcast = { key, bytes, transmits: 0, queued: true };
    this.byKey.set(key, b);
    this.bucket(0).push(b);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  remove(key: string): void {
    const old = this.byKey.get(key);
    if (old === undefined) return;
    this.byKey.delete(key);
    old.queued = false;
    this.buckets[old.transmits]!.left();
  }

  /**
   * Appends the least-transmitted broadcasts that fit to `packet`, counting a transmission
   * for each; those that reached `limit` leave the queue. Returns how many were added.
   */
  fill(packet: PacketBuilder, limit: number): number {
    if (this.byKey.size === 0) return 0;
    const picked = this.picked;
    let count = 0;
    // Stop after a few broadcasts that did not fit: scanning a long queue for a small one
    // would make every packet O(queue).
    let misses = 0;
    const buckets = this.buckets;
    scan: for (let t = 0; t < buckets.length; t++) {
      const bucket = buckets[t]!;
      if (bucket.live === 0) continue;
      bucket.dropStaleHead();
      // Nothing changes the ring during the scan: its fields are read once.
      const { ring, head, count: used } = bucket;
      const mask = ring.length - 1;
      for (let i = 0; i < used; i++) {
        const b = ring[(head + i) & mask]!;
        // Sent or replaced (stale): skipped.
        if (!b.queued || b.transmits !== t) continue;
        if (packet.tryAppend(b.bytes)) picked[count++] = b;
        else if (++misses >= fillMissesMax) break scan;
      }
    }
    for (let i = 0; i < count; i++) {
      const b = picked[i]!;
      picked[i] = undefined;
      this.buckets[b.transmits]!.left();
      b.transmits++;
      if (b.transmits >= limit) {
        b.queued = false;
        this.byKey.delete(b.key);
      } else {
        this.bucket(b.transmits).push(b);
      }
    }
    return count;
  }

  clear(): void {
    for (const b of this.byKey.values()) b.queued = false;
    this.byKey.clear();
    for (const bucket of this.buckets) bucket.empty();
  }

  private bucket(t: number): Bucket {
    while (this.buckets.length <= t) this.buckets.push(new Bucket(this.buckets.length));
    return this.buckets[t]!;
  }

  private dropMostTransmitted(): void {
    for (let t = this.buckets.length - 1; t >= 0; t--) {
      const first = this.buckets[t]!.live > 0 ? this.buckets[t]!.first() : undefined;
      if (first !== undefined) {
        this.remove(first.key);
        return;
      }
    }
  }
}
