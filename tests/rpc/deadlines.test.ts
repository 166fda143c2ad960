import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Clock, TimerHandle } from '../../core/index.ts';
import { DeadlineQueue, deadlineRunTombstonesMin, type DeadlineEntry } from '../../core/rpc/deadlines.ts';

/** A clock that moves only when told to, firing due timers in order. */
class ManualClock implements Clock {
  nowMs = 0;
  private timers = new Map<TimerHandle, { atMs: number; fn: () => void }>();
  private next = 1;
  now(): number {
    return this.nowMs;
  }
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const handle = this.next++;
    this.timers.set(handle, { atMs: this.nowMs + delayMs, fn });
    return handle;
  }
  cancelTimer(handle: TimerHandle): void {
    this.timers.delete(handle);
  }
  get pending(): number {
    return this.timers.size;
  }
  advanceTo(atMs: number): void {
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t.atMs <= atMs).sort((a, b) => a[1].atMs - b[1].atMs || a[0] - b[0])[0];
      if (due === undefined) break;
      this.timers.delete(due[0]);
      this.nowMs = Math.max(this.nowMs, due[1].atMs);
      due[1].fn();
    }
    this.nowMs = atMs;
  }
}

class Entry implements DeadlineEntry {
  deadlineSlot = -1;
  deadlineOrder = 0;
  constructor(readonly name: number, readonly deadlineMs: number, private readonly expired: number[]) {}
  expire(): void {
    this.expired.push(this.name);
  }
}

type Op = { kind: 'add'; timeoutMs: number } | { kind: 'remove'; pick: number } | { kind: 'advance'; byMs: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('add' as const), timeoutMs: fc.oneof(fc.constant(100), fc.constant(30), fc.integer({ min: 1, max: 200 })) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), byMs: fc.integer({ min: 0, max: 60 }) }) },
);

describe('DeadlineQueue', () => {
  it('expires exactly the entries still queued when their deadline passes, by deadline then insertion order', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const clock = new ManualClock();
      const expired: number[] = [];
      const queue = new DeadlineQueue(clock);
      const live: Entry[] = [];
      const model: number[] = [];
      let name = 0;
      for (const step of ops) {
        if (step.kind === 'add') {
          const entry = new Entry(name++, clock.nowMs + step.timeoutMs, expired);
          queue.add(entry);
          live.push(entry);
        } else if (step.kind === 'remove' && live.length > 0) {
          const [entry] = live.splice(step.pick % live.length, 1);
          queue.remove(entry!);
        } else if (step.kind === 'advance') {
          const toMs = clock.nowMs + step.byMs;
          const due = live.filter((e) => e.deadlineMs <= toMs).sort((a, b) => a.deadlineMs - b.deadlineMs || a.name - b.name);
          model.push(...due.map((e) => e.name));
          for (const e of due) live.splice(live.indexOf(e), 1);
          clock.advanceTo(toMs);
        }
        expect(expired).toEqual(model);
        expect(queue.size).toBe(live.length);
      }
    }), { numRuns: 500 });
  });

  it('stays bounded when one call outlives many others', () => {
    const clock = new ManualClock();
    const queue = new DeadlineQueue(clock);
    const long = new Entry(0, 1_000_000, []);
    queue.add(long);
    for (let i = 1; i <= 20 * deadlineRunTombstonesMin; i++) {
      const entry = new Entry(i, 1_000_000 + i, []);
      queue.add(entry);
      queue.remove(entry);
    }
    expect(queue.size).toBe(1);
    // The run was spilled to the heap at least once, so it never held all the tombstones.
    const runLength = (queue as unknown as { run: unknown[] }).run.length;
    expect(runLength).toBeLessThanOrEqual(deadlineRunTombstonesMin + 5);
    queue.remove(long);
    expect(queue.size).toBe(0);
  });

  it('uses one timer, not one per entry', () => {
    const clock = new ManualClock();
    const queue = new DeadlineQueue(clock);
    for (let i = 0; i < 100; i++) queue.add(new Entry(i, 1_000 + i, []));
    expect(clock.pending).toBe(1);
  });
});
