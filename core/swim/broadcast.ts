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

/** Broadcasts sent the same number of times, oldest first; spent entries are skipped, then compacted away. */
class Bucket {
  items: Broadcast[] = [];
  head = 0;
  live = 0;

  constructor(readonly transmits: number) {}

  holds(b: Broadcast): boolean {
    return b.queued && b.transmits === this.transmits;
  }

  push(b: Broadcast): void {
    this.items.push(b);
    this.live++;
  }

  /** The oldest broadcast still here. */
  first(): Broadcast | undefined {
    while (this.head < this.items.length && !this.holds(this.items[this.head]!)) this.head++;
    return this.items[this.head];
  }

  /** One broadcast left this bucket; compacts when most entries are stale. */
  left(): void {
    this.live--;
    if (this.live === 0) {
      // Emptied (a join's burst spent): let go of the spent broadcasts and the array's room.
      this.items = [];
      this.head = 0;
      return;
    }
    // Everything but the live entries is dead weight, those before the head included.
    const stale = this.items.length - this.live;
    if (stale > 64 && stale > this.live) {
      this.items = this.items.filter((b, i) => i >= this.head && this.holds(b));
      this.head = 0;
    }
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
  private readonly picked: Broadcast[] = [];

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
    picked.length = 0;
    // Stop after a few broadcasts that did not fit: scanning a long queue for a small one
    // would make every packet O(queue).
    let misses = 0;
    scan: for (const bucket of this.buckets) {
      if (bucket.live === 0) continue;
      const items = bucket.items;
      for (let i = bucket.head; i < items.length; i++) {
        const b = items[i]!;
        if (!bucket.holds(b)) {
          // Sent or replaced: the oldest are sent first, so stale entries gather at the
          // front; stepping the head past them keeps the next packet from scanning them again.
          if (i === bucket.head) bucket.head++;
          continue;
        }
        if (packet.tryAppend(b.bytes)) picked.push(b);
        else if (++misses >= fillMissesMax) break scan;
      }
    }
    for (const b of picked) {
      this.buckets[b.transmits]!.left();
      b.transmits++;
      if (b.transmits >= limit) {
        b.queued = false;
        this.byKey.delete(b.key);
      } else {
        this.bucket(b.transmits).push(b);
      }
    }
    return picked.length;
  }

  clear(): void {
    for (const b of this.byKey.values()) b.queued = false;
    this.byKey.clear();
    for (const bucket of this.buckets) {
      bucket.items = [];
      bucket.head = 0;
      bucket.live = 0;
    }
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
