import type { Clock, TimerHandle } from '../clock.ts';
import { assert } from '../errors.ts';

/** A call with a deadline, as the queue keeps it. */
export interface DeadlineEntry {
  /** Absolute deadline on the queue's clock; fixed while queued. */
  readonly deadlineMs: number;
  /** Position in the queue (-1: not queued); only the queue writes it. */
  deadlineSlot: number;
  /** Insertion order, for ties; only the queue writes it. */
  deadlineOrder: number;
  /** The deadline passed: the entry is already out of the queue. */
  expire(): void;
}

/**
 * The deadlines of many calls behind ONE clock timer (the house rule: one timer table per
 * state machine, not a timer per call). A binary min-heap by deadline, ties by insertion
 * order so that a simulated run expires calls in the same order every time. Each entry
 * knows its slot, so a call that ends removes itself in O(log n).
 *
 * The timer is armed at the earliest deadline and is NOT moved later when that call ends
 * first (the common case: calls finish long before their deadline): it fires, finds nothing
 * due, and re-arms at the new earliest. So a steady stream of calls costs heap operations,
 * not a timer operation per call.
 */
export class DeadlineQueue {
  private readonly heap: DeadlineEntry[] = [];
  private added = 0;
  private handle: TimerHandle | undefined;
  private armedAtMs = Infinity;

  constructor(private readonly clock: Clock) {}

  get size(): number {
    return this.heap.length;
  }

  add(entry: DeadlineEntry): void {
    assert(entry.deadlineSlot === -1, 'a deadline entry is queued twice');
    assert(Number.isFinite(entry.deadlineMs), 'a queued deadline must be finite');
    entry.deadlineOrder = this.added++;
    entry.deadlineSlot = this.heap.length;
    this.heap.push(entry);
    this.up(entry.deadlineSlot);
    if (entry.deadlineMs < this.armedAtMs) this.arm(entry.deadlineMs);
  }

  remove(entry: DeadlineEntry): void {
    const slot = entry.deadlineSlot;
    if (slot < 0) return;
    entry.deadlineSlot = -1;
    const last = this.heap.pop()!;
    if (last === entry) return;
    this.heap[slot] = last;
    last.deadlineSlot = slot;
    this.down(slot);
    this.up(last.deadlineSlot);
  }

  /** Drops every entry without expiring it, and the timer. */
  clear(): void {
    for (const entry of this.heap) entry.deadlineSlot = -1;
    this.heap.length = 0;
    if (this.handle !== undefined) this.clock.cancelTimer(this.handle);
    this.handle = undefined;
    this.armedAtMs = Infinity;
  }

  private arm(atMs: number): void {
    if (this.handle !== undefined) this.clock.cancelTimer(this.handle);
    this.armedAtMs = atMs;
    this.handle = this.clock.setTimer(Math.max(0, atMs - this.clock.now()), () => this.fire(atMs));
  }

  /**
   * The timer armed for `atMs` fired: everything due by then expires. Due "by `atMs`", not
   * by the clock reading, which floating point may put a hair before it; re-arming at a
   * deadline the reading has not reached would fire again at the same reading forever.
   */
  private fire(atMs: number): void {
    this.handle = undefined;
    this.armedAtMs = Infinity;
    const dueMs = Math.max(atMs, this.clock.now());
    while (this.heap.length > 0 && this.heap[0]!.deadlineMs <= dueMs) {
      const entry = this.heap[0]!;
      this.remove(entry);
      entry.expire();
    }
    const next = this.heap[0];
    if (next !== undefined && next.deadlineMs < this.armedAtMs) this.arm(next.deadlineMs);
  }

  private before(a: DeadlineEntry, b: DeadlineEntry): boolean {
    return a.deadlineMs < b.deadlineMs || (a.deadlineMs === b.deadlineMs && a.deadlineOrder < b.deadlineOrder);
  }

  private up(slot: number): void {
    const heap = this.heap;
    const entry = heap[slot]!;
    while (slot > 0) {
      const parentSlot = (slot - 1) >> 1;
      const parent = heap[parentSlot]!;
      if (!this.before(entry, parent)) break;
      heap[slot] = parent;
      parent.deadlineSlot = slot;
      slot = parentSlot;
    }
    heap[slot] = entry;
    entry.deadlineSlot = slot;
  }

  private down(slot: number): void {
    const heap = this.heap;
    const entry = heap[slot]!;
    for (;;) {
      const left = 2 * slot + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && this.before(heap[right]!, heap[left]!) ? right : left;
      if (!this.before(heap[child]!, entry)) break;
      heap[slot] = heap[child]!;
      heap[slot]!.deadlineSlot = slot;
      slot = child;
    }
    heap[slot] = entry;
    entry.deadlineSlot = slot;
  }
}
