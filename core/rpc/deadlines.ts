import type { Clock, TimerHandle } from '../clock.ts';
import { assert } from '../errors.ts';

/** A call with a deadline, as the queue keeps it. */
export interface DeadlineEntry {
  /** Absolute deadline on the queue's clock; fixed while queued. */
  readonly deadlineMs: number;
  /** Where the queue keeps it (-1: not queued); only the queue writes it. */
  deadlineSlot: number;
  /** Insertion order, for ties; only the queue writes it. */
  deadlineOrder: number;
  /** The deadline passed: the entry is already out of the queue. */
  expire(): void;
}

/**
 * Tombstones the in-order run may hold beyond four per live entry; past that its live
 * entries move to the heap (so a call that outlives many others cannot make the run grow
 * without bound).
 */
export const deadlineRunTombstonesMin = 1_024;

/**
 * The deadlines of many calls behind ONE clock timer (the house rule: one timer table per
 * state machine, not a timer per call), ordered by deadline, ties by insertion order so
 * that a simulated run expires calls in the same order every time.
 *
 * Calls with the same timeout on a monotonic clock are added in deadline order, so most
 * entries go to an in-order run: appending is O(1), and a call that ends leaves a
 * tombstone (O(1)) that is dropped once the entries before it are gone. An entry whose
 * deadline is earlier than the run's last goes to a binary min-heap instead. Each entry
 * knows its slot, so a call that ends removes itself without a search.
 *
 * The timer is armed at the earliest deadline and is NOT moved later when that call ends
 * first (the common case: calls finish long before their deadline): it fires, finds nothing
 * due, and re-arms at the new earliest. So a steady stream of calls costs queue operations,
 * not a timer operation per call.
 */
export class DeadlineQueue {
  private readonly heap: DeadlineEntry[] = [];
  /** Entries in deadline order from `runHead` on; undefined where one was removed. */
  private run: (DeadlineEntry | undefined)[] = [];
  private runHead = 0;
  /** Sequence number of `run[0]`: an entry in the run has slot `-2 - sequence`. */
  private runBase = 0;
  private runLive = 0;
  /** Deadline of the run's last entry, live or not: a later add that is not earlier may append. */
  private runLastMs = -Infinity;
  private added = 0;
  private handle: TimerHandle | undefined;
  private armedAtMs = Infinity;

  constructor(private readonly clock: Clock) {}

  get size(): number {
    return this.heap.length + this.runLive;
  }

  add(entry: DeadlineEntry): void {
    assert(entry.deadlineSlot === -1, 'a deadline entry is queued twice');
    assert(Number.isFinite(entry.deadlineMs), 'a queued deadline must be finite');
    entry.deadlineOrder = this.added++;
    if (entry.deadlineMs >= this.runLastMs) {
      entry.deadlineSlot = -2 - (this.runBase + this.run.length);
      this.run.push(entry);
      this.runLive++;
      this.runLastMs = entry.deadlineMs;
    } else {
      this.heapAdd(entry);
    }
    if (entry.deadlineMs < this.armedAtMs) this.arm(entry.deadlineMs);
  }

  remove(entry: DeadlineEntry): void {
    const slot = entry.deadlineSlot;
    if (slot === -1) return;
    entry.deadlineSlot = -1;
    if (slot >= 0) return this.heapRemove(entry, slot);
    this.run[-2 - slot - this.runBase] = undefined;
    this.runLive--;
    this.trimRun();
  }

  /** Drops every entry without expiring it, and the timer. */
  clear(): void {
    for (const entry of this.heap) entry.deadlineSlot = -1;
    for (let i = this.runHead; i < this.run.length; i++) if (this.run[i] !== undefined) this.run[i]!.deadlineSlot = -1;
    this.heap.length = 0;
    this.resetRun();
    if (this.handle !== undefined) this.clock.cancelTimer(this.handle);
    this.handle = undefined;
    this.armedAtMs = Infinity;
  }

  /** The entry due first, or undefined when there is none. */
  private earliest(): DeadlineEntry | undefined {
    const fromHeap = this.heap[0];
    const fromRun = this.runLive > 0 ? this.run[this.runHead] : undefined;
    if (fromHeap === undefined || fromRun === undefined) return fromHeap ?? fromRun;
    return this.before(fromRun, fromHeap) ? fromRun : fromHeap;
  }

  /** Drops tombstones at the head of the run; spills its live entries to the heap when tombstones dominate. */
  private trimRun(): void {
    const run = this.run;
    if (this.runLive === 0) return this.resetRun();
    while (run[this.runHead] === undefined) this.runHead++;
    if (this.runHead >= deadlineRunTombstonesMin && 2 * this.runHead >= run.length) {
      this.runBase += this.runHead;
      this.run = run.slice(this.runHead);
      this.runHead = 0;
      return;
    }
    const tombstones = run.length - this.runHead - this.runLive;
    if (tombstones <= deadlineRunTombstonesMin + 4 * this.runLive) return;
    for (let i = this.runHead; i < run.length; i++) if (run[i] !== undefined) this.heapAdd(run[i]!);
    this.resetRun();
  }

  private resetRun(): void {
    this.runBase += this.run.length;
    this.run.length = 0;
    this.runHead = 0;
    this.runLive = 0;
    this.runLastMs = -Infinity;
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
    for (let entry = this.earliest(); entry !== undefined && entry.deadlineMs <= dueMs; entry = this.earliest()) {
      this.remove(entry);
      entry.expire();
    }
    const next = this.earliest();
    if (next !== undefined && next.deadlineMs < this.armedAtMs) this.arm(next.deadlineMs);
  }

  private heapAdd(entry: DeadlineEntry): void {
    entry.deadlineSlot = this.heap.length;
    this.heap.push(entry);
    this.up(entry.deadlineSlot);
  }

  private heapRemove(entry: DeadlineEntry, slot: number): void {
    const last = this.heap.pop()!;
    if (last === entry) return;
    this.heap[slot] = last;
    last.deadlineSlot = slot;
    this.down(slot);
    this.up(last.deadlineSlot);
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
