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
  /** Each key's slot, fixed at its first use: the deadlines live in arrays, not a map iterated per change. */
  private readonly slotOf = new Map<K, number>();
  private readonly keys: K[] = [];
  /** Per slot: the deadline, or NaN when the key is not set. */
  private readonly at: number[] = [];
  /** Per slot: when the key was set while unset (a map's insertion order: ties expire in it). */
  private readonly order: number[] = [];
  private nextOrder = 0;
  /** The clock timer's deadline: outside an expiry pass, always the earliest deadline. */
  private armedAt = Infinity;
  /** Set while `fire` runs its handlers (the armed deadline is then not the earliest). */
  private expiring = false;
  private handle: TimerHandle | undefined;
  /** The clock reading of the latest expiry pass. */
  private firedAtMs = -Infinity;
  /** Scratch of `fire`: the slots due, in expiry order. */
  private readonly due: number[] = [];
  /** What the clock timer calls: made once, not at every arming. */
  private readonly onClock = (): void => this.fire();

  constructor(
    private readonly clock: Clock,
    private readonly onExpire: (key: K, nowMs: number) => void,
  ) {}

  /** Sets (or moves) the deadline of `key` to the absolute clock time `atMs`. */
  set(key: K, atMs: number): void {
    if (!Number.isFinite(atMs)) throw new InvalidArgumentError(`timer ${key}: deadline must be finite`);
    let slot = this.slotOf.get(key);
    if (slot === undefined) {
      slot = this.keys.length;
      this.slotOf.set(key, slot);
      this.keys.push(key);
      this.at.push(NaN);
      this.order.push(0);
    }
    const old = this.at[slot]!;
    if (Number.isNaN(old)) this.order[slot] = this.nextOrder++;
    this.at[slot] = atMs;
    // Outside an expiry pass the clock timer is armed at the earliest deadline, so only a
    // change at or before it can move it; within one, the pass arms it once at its end.
    if (!this.expiring && (atMs < this.armedAt || old === this.armedAt)) this.rearm();
  }

  /** Sets the deadline of `key` to `delayMs` from now. */
  setIn(key: K, delayMs: number): void {
    this.set(key, this.clock.now() + delayMs);
  }

  clear(key: K): void {
    const slot = this.slotOf.get(key);
    if (slot === undefined) return;
    const atMs = this.at[slot]!;
    if (Number.isNaN(atMs)) return;
    this.at[slot] = NaN;
    if (!this.expiring && atMs === this.armedAt) this.rearm();
  }

  has(key: K): boolean {
    return this.deadline(key) !== undefined;
  }

  deadline(key: K): number | undefined {
    const slot = this.slotOf.get(key);
    if (slot === undefined) return undefined;
    const atMs = this.at[slot]!;
    return Number.isNaN(atMs) ? undefined : atMs;
  }

  /** The next wake-up, or Infinity when nothing is pending. */
  nextDeadline(): number {
    let min = Infinity;
    const at = this.at;
    for (let i = 0; i < at.length; i++) if (at[i]! < min) min = at[i]!;
    return min;
  }

  /** Drops every deadline and the underlying timer (used on shutdown). */
  clearAll(): void {
    this.at.fill(NaN);
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
    this.handle = this.clock.setTimer(delayMs, this.onClock);
  }

  private fire(): void {
    this.handle = undefined;
    this.armedAt = Infinity;
    const now = this.clock.now();
    this.firedAtMs = now;
    // Expire in deadline order; ties in the order the keys were set: collect and
    // insertion-sort (the table is small and usually one entry is due), no allocation.
    const { at, order, due } = this;
    let count = 0;
    for (let slot = 0; slot < at.length; slot++) {
      const t = at[slot]!;
      if (!(t <= now)) continue;
      let i = count++;
      for (; i > 0; i--) {
        const prev = due[i - 1]!;
        if (at[prev]! < t || (at[prev]! === t && order[prev]! < order[slot]!)) break;
        due[i] = prev;
      }
      due[i] = slot;
    }
    for (let i = 0; i < count; i++) at[due[i]!] = NaN;
    this.expiring = true;
    try {
      for (let i = 0; i < count; i++) this.onExpire(this.keys[due[i]!]!, now);
    } finally {
      this.expiring = false;
      // Once, whatever the handlers set and cleared (and even when one threw).
      this.rearm();
    }
  }
}
