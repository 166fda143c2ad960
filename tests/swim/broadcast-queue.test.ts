import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BroadcastQueue, fillMissesMax } from '../../core/swim/broadcast.ts';
import { PacketBuilder } from '../../core/swim/codec.ts';

/**
 * The queue against a plain model: every live broadcast with its transmit count and the
 * moment it entered its count; a packet takes the least transmitted first, oldest first,
 * and gives up after `fillMissesMax` that do not fit. The queue keeps buckets with stale
 * entries skipped lazily; whatever it does inside, it must pick the same broadcasts.
 */
interface ModelEntry { key: string; bytes: Uint8Array; transmits: number; entered: number }

class Model {
  private entries: ModelEntry[] = [];
  private clock = 0;
  constructor(private readonly sizeMax: number) {}

  enqueue(key: string, bytes: Uint8Array): void {
    this.remove(key);
    if (this.entries.length >= this.sizeMax) {
      const order = this.ordered();
      const most = order.filter((e) => e.transmits === order[order.length - 1]!.transmits);
      this.remove(most[0]!.key);
    }
    this.entries.push({ key, bytes, transmits: 0, entered: this.clock++ });
  }

  remove(key: string): void {
    this.entries = this.entries.filter((e) => e.key !== key);
  }

  fill(room: number, limit: number): string[] {
    const picked: ModelEntry[] = [];
    let misses = 0;
    for (const e of this.ordered()) {
      if (e.bytes.length <= room) {
        room -= e.bytes.length;
        picked.push(e);
      } else if (++misses >= fillMissesMax) break;
    }
    for (const e of picked) {
      e.transmits++;
      e.entered = this.clock++;
      if (e.transmits >= limit) this.remove(e.key);
    }
    return picked.map((e) => e.key);
  }

  get size(): number {
    return this.entries.length;
  }

  private ordered(): ModelEntry[] {
    return [...this.entries].sort((a, b) => a.transmits - b.transmits || a.entered - b.entered);
  }
}

/** The keys a packet took, read back from its bytes (each broadcast's first byte names its key). */
function keysIn(packet: PacketBuilder): string[] {
  const view = packet.view();
  const keys: string[] = [];
  for (let i = 1; i < view.length;) {
    const length = view[i + 1]!;
    keys.push(`k${view[i]}`);
    i += length;
  }
  return keys;
}

function ops(keys: number, lengthMax: number, roomMax: number, bigMin = lengthMax) {
  // Mostly small broadcasts, some big ones (from bigMin): a big one at a bucket's front that
  // does not fit leaves the small ones behind it sent, stale in the middle of the ring.
  const length = fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 2, max: lengthMax }) }, { weight: 1, arbitrary: fc.integer({ min: bigMin, max: Math.max(bigMin, lengthMax) + 20 }) });
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('enqueue' as const), key: fc.integer({ min: 0, max: keys }), length }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), key: fc.integer({ min: 0, max: keys }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('fill' as const), room: fc.integer({ min: 0, max: roomMax }), limit: fc.integer({ min: 1, max: 6 }) }) },
  );
}
type Op = { kind: 'enqueue'; key: number; length: number } | { kind: 'remove'; key: number } | { kind: 'fill'; room: number; limit: number };

function check(ops: readonly Op[], sizeMax: number): void {
  const queue = new BroadcastQueue(sizeMax);
  const model = new Model(sizeMax);
  for (const o of ops) {
    if (o.kind === 'enqueue') {
      // Byte 0 names the key, byte 1 the length: enough to read a packet back.
      const bytes = new Uint8Array(o.length).fill(0xee);
      bytes[0] = o.key;
      bytes[1] = o.length;
      queue.enqueue(`k${o.key}`, bytes);
      model.enqueue(`k${o.key}`, bytes);
    } else if (o.kind === 'remove') {
      queue.remove(`k${o.key}`);
      model.remove(`k${o.key}`);
    } else {
      const packet = new PacketBuilder(1 + o.room).reset();
      queue.fill(packet, o.limit);
      expect(keysIn(packet)).toEqual(model.fill(o.room, o.limit));
    }
    expect(queue.size).toBe(model.size);
  }
}

describe('BroadcastQueue', () => {
  it('picks what the model picks, through enqueues, replacements, removals and fills', () => {
    fc.assert(fc.property(fc.array(ops(40, 120, 300), { minLength: 20, maxLength: 300, size: 'max' }), fc.integer({ min: 1, max: 30 }), check), { numRuns: 300 });
  });

  it('picks what the model picks with hundreds of small broadcasts (rings that wrap, grow and compact)', () => {
    fc.assert(fc.property(fc.array(ops(250, 6, 80, 100), { minLength: 200, maxLength: 1500, size: 'max' }), fc.integer({ min: 50, max: 250 }), check), { numRuns: 60 });
  });
});
