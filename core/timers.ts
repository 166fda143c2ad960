import type { Clock, TimerHandle } from './clock.ts';
import { InvalidArgumentError } from './errors.ts';

/**
 * The smallest delay that moves a clock reading of `nowMs` forward: a few units in the
 * last place of the reading, so `nowMs + delay > nowMs` holds in floating point.
 */
export function readingStepMs(nowMs: number): number {
  return Math.max(Number.MIN_VALUE, Math.abs(nowMs) * Number.EPSILON * 2);
}

/**
 * A small fixed table of named deadlines (probe, ack, suspicion, gossip, ...) backed by a
 * single clock timer armed at the earliest entry, as in quinn-proto: a state machine keeps
 * its wake-ups in one place instead of scattering timer callbacks.
 *
 * The table wakes at most once per clock reading. A handler whose "not yet" test rounds
 * differently from the deadline it re-arms (`now - last < idle` holds, yet
 * `last + idle <= now`) sets a deadline that is due at the very reading it is handling; a
 * table that honoured it at once would expire it again at that reading forever (a
 * simulated clock never moves on by itself). Such a deadline waits until the clock has
 * moved past the reading.
 */
export class TimerTable<K extends string> {
  private readonly deadlines = new Map<K, number>();
  private armedAt = Infinity;
  private handle: TimerHandle | undefined;
  /** The clock reading of the latest expiry pass. */
  private firedAtMs = -Infinity;
  /** Scratch of `fire`: the keys due and their deadlines, in expiry order. */
  private readonly dueKeys: K[] = [];
  private readonly dueTimes: number[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly onExpire: (key: K, nowMs: number) => void,
  ) {}

  /** Sets (or moves) the deadline of `key` to the absolute clock time `atMs`. */
  set(key: K, atMs: number): void {
    if (!Number.isFinite(atMs)) throw new InvalidArgumentError(`timer ${key}: deadline must be finite`);
    this.deadlines.set(key, atMs);
    this.rearm();
  }

  /** Sets the deadline of `key` to `delayMs` from now. */
  setIn(key: K, delayMs: number): void {
    this.set(key, this.clock.now() + delayMs);
  }

  clear(key: K): void {
    if (this.deadlines.delete(key)) this.rearm();
  }

  has(key: K): boolean {
    return this.deadlines.has(key);
  }

  deadline(key: K): number | undefined {
    return this.deadlines.get(key);
  }

  /** The next wake-up, or Infinity when nothing is pending. */
  nextDeadline(): number {
    let min = Infinity;
    for (const at of this.deadlines.values()) if (at < min) min = at;
    return min;
  }

  /** Drops every deadline and the underlying timer (used on shutdown). */
  clearAll(): void {
    this.deadlines.clear();
    this.rearm();
  }

  private rearm(): void {
    const next = this.nextDeadline();
    if (next === this.armedAt) return;
    if (this.handle !== undefined) this.clock.cancelTimer(this.handle);
    this.handle = undefined;
    this.armedAt = next;
    if (next === Infinity) return;
    const now = this.clock.now();
    const delayMs = now > this.firedAtMs ? Math.max(0, next - now) : Math.max(next - now, readingStepMs(now));
    this.handle = this.clock.setTimer(delayMs, () => this.fire());
  }

  private fire(): void {
    this.handle = undefined;
    this.armedAt = Infinity;
    const now = this.clock.now();
    this.firedAtMs = now;
    // Expire in deadline order; ties in insertion order, so runs are deterministic. The
    // table is small and usually one entry is due: collect and insertion-sort, no allocation.
    const keys = this.dueKeys;
    const times = this.dueTimes;
    let count = 0;
    for (const [key, at] of this.deadlines) {
      if (at > now) continue;
      let i = count++;
      for (; i > 0 && times[i - 1]! > at; i--) {
        keys[i] = keys[i - 1]!;
        times[i] = times[i - 1]!;
      }
      keys[i] = key;
      times[i] = at;
    }
    for (let i = 0; i < count; i++) this.deadlines.delete(keys[i]!);
    for (let i = 0; i < count; i++) this.onExpire(keys[i]!, now);
    this.rearm();
  }
}
