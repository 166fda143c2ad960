import { QueueFullError, QueueTimeoutError } from './errors.ts';
import { requireFinite, requireInteger } from './validate.ts';

export interface AdmissionQueueOptions {
  /**
   * Waiters held at most. Beyond it calls are shed at once (RESOURCE_EXHAUSTED) instead of
   * queueing: under overload a queue only turns memory into latency.
   * @default 1_024
   */
  capacity?: number;
  /**
   * Longest a call waits for a free worker; a call's own deadline shortens it. Keep it well
   * below typical deadlines so a call still has time to run after it is admitted.
   * @default 1_000
   */
  timeoutMs?: number;
}

interface Waiter<T> {
  readonly item: T;
  readonly enqueuedAtMs: number;
  readonly deadlineMs: number;
}

/**
 * The bounded queue in front of the workers when every one is at its limit, poll-style and
 * driven by `nowMs` arguments: `offer` admits a waiter or throws `QueueFullError`; `take`
 * hands out the oldest live waiter when a worker frees up; `expire` ends waiters whose
 * time ran out with a `QueueTimeoutError`; `nextDeadlineMs` is the wake-up the owner
 * arms (e.g. in its `TimerTable`). Every waiter leaves exactly once: taken, expired or
 * removed. Operations are O(capacity) at worst, bounded by `capacity`.
 */
export class AdmissionQueue<T> {
  readonly capacity: number;
  readonly timeoutMs: number;
  private readonly waiters: Waiter<T>[] = [];

  constructor(options: AdmissionQueueOptions = {}) {
    this.capacity = requireInteger('capacity', options.capacity ?? 1_024, 0);
    this.timeoutMs = requireFinite('timeoutMs', options.timeoutMs ?? 1_000, 0);
  }

  get size(): number {
    return this.waiters.length;
  }

  /**
   * Queues `item` until `min(nowMs + timeoutMs, deadlineMs)`. Throws `QueueFullError` when
   * `capacity` waiters are already queued; the item is then not queued.
   */
  offer(item: T, nowMs: number, deadlineMs = Infinity): void {
    if (this.waiters.length >= this.capacity) throw new QueueFullError(this.capacity);
    this.waiters.push({ item, enqueuedAtMs: nowMs, deadlineMs: Math.min(nowMs + this.timeoutMs, deadlineMs) });
  }

  /** Removes and returns the oldest waiter still within its deadline; expired ones are left for `expire`. */
  take(nowMs: number): T | undefined {
    const index = this.waiters.findIndex((waiter) => waiter.deadlineMs > nowMs);
    if (index < 0) return undefined;
    return this.waiters.splice(index, 1)[0]!.item;
  }

  /** Removes a waiter whose caller gave up (cancelled); false if it already left. */
  remove(item: T): boolean {
    const index = this.waiters.findIndex((waiter) => waiter.item === item);
    if (index < 0) return false;
    this.waiters.splice(index, 1);
    return true;
  }

  /**
   * Removes every waiter whose deadline is at or before `nowMs`, oldest first, and hands
   * each to `reject` with the error to end it with. Returns how many expired.
   */
  expire(nowMs: number, reject: (item: T, error: QueueTimeoutError) => void): number {
    const expired: Waiter<T>[] = [];
    let kept = 0;
    for (const waiter of this.waiters) {
      if (waiter.deadlineMs <= nowMs) expired.push(waiter);
      else this.waiters[kept++] = waiter;
    }
    this.waiters.length = kept;
    // Rejected after the queue is consistent, so a `reject` that offers again sees the truth.
    for (const waiter of expired) reject(waiter.item, new QueueTimeoutError(nowMs - waiter.enqueuedAtMs));
    return expired.length;
  }

  /** The earliest waiter deadline, Infinity when the queue is empty. */
  nextDeadlineMs(): number {
    let earliest = Infinity;
    for (const waiter of this.waiters) if (waiter.deadlineMs < earliest) earliest = waiter.deadlineMs;
    return earliest;
  }
}
