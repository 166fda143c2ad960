import type { PacketBuilder } from './codec.ts';

/** Broadcasts that may fail to fit before a packet counts as full. */
export const fillMissesMax = 4;

/** One queued update: its encoded bytes and how often it was sent. */
interface Broadcast {
  readonly key: string;
  readonly bytes: Uint8Array;
  transmits: number;
}

/**
 * memberlist's transmit-limited queue: one broadcast per member (a newer update about a
 * member replaces the older), each sent at most `limit` times, the least-transmitted first.
 * Broadcasts sit in buckets by transmit count, so filling a packet touches only what it
 * sends; nothing is sorted.
 */
export class BroadcastQueue {
  private readonly byKey = new Map<string, Broadcast>();
  /** buckets[t] holds the broadcasts sent t times, in insertion order. */
  private readonly buckets: Set<Broadcast>[] = [];
  private readonly picked: Broadcast[] = [];

  constructor(private readonly sizeMax: number) {}

  get size(): number {
    return this.byKey.size;
  }

  /** Queues `bytes` as the update for `key`, replacing a pending one. */
  enqueue(key: string, bytes: Uint8Array): void {
    this.remove(key);
    if (this.byKey.size >= this.sizeMax) this.dropMostTransmitted();
    const b: Broadcast = { key, bytes, transmits: 0 };
    this.byKey.set(key, b);
    this.bucket(0).add(b);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  remove(key: string): void {
    const old = this.byKey.get(key);
    if (old === undefined) return;
    this.byKey.delete(key);
    this.buckets[old.transmits]!.delete(old);
  }

  /**
   * Appends the least-transmitted broadcasts that fit to `packet`, counting a transmission
   * for each; those that reached `limit` leave the queue. Returns how many were added.
   */
  fill(packet: PacketBuilder, limit: number): number {
    const picked = this.picked;
    picked.length = 0;
    // Stop after a few broadcasts that did not fit: scanning a long queue for a small one
    // would make every packet O(queue).
    let misses = 0;
    scan: for (let t = 0; t < this.buckets.length; t++) {
      for (const b of this.buckets[t]!) {
        if (packet.tryAppend(b.bytes)) picked.push(b);
        else if (++misses >= fillMissesMax) break scan;
      }
    }
    for (const b of picked) {
      this.buckets[b.transmits]!.delete(b);
      b.transmits++;
      if (b.transmits >= limit) this.byKey.delete(b.key);
      else this.bucket(b.transmits).add(b);
    }
    return picked.length;
  }

  clear(): void {
    this.byKey.clear();
    for (const bucket of this.buckets) bucket.clear();
  }

  private bucket(t: number): Set<Broadcast> {
    while (this.buckets.length <= t) this.buckets.push(new Set());
    return this.buckets[t]!;
  }

  private dropMostTransmitted(): void {
    for (let t = this.buckets.length - 1; t >= 0; t--) {
      const first = this.buckets[t]!.values().next();
      if (!first.done) {
        this.remove(first.value.key);
        return;
      }
    }
  }
}
