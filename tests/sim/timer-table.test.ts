import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimerTable, readingStepMs, type Clock, type TimerHandle } from '../../core/index.ts';

/**
 * The table as it was written first (a Map iterated on every change), arming once at the
 * end of an expiry pass whatever its handlers did: the model. The array-backed table must
 * make the same clock calls (arm, cancel, at the same delays) and expire the same keys in
 * the same order, or every simulated run would change.
 */
class ModelTable<K extends string> {
  private readonly deadlines = new Map<K, number>();
  private armedAt = Infinity;
  private handle: TimerHandle | undefined;
  private firedAtMs = -Infinity;
  private expiring = false;

  constructor(private readonly clock: Clock, private readonly onExpire: (key: K, nowMs: number) => void) {}

  set(key: K, atMs: number): void {
    this.deadlines.set(key, atMs);
    if (!this.expiring) this.rearm();
  }

  clear(key: K): void {
    if (this.deadlines.delete(key) && !this.expiring) this.rearm();
  }

  deadline(key: K): number | undefined {
    return this.deadlines.get(key);
  }

  private rearm(): void {
    let next = Infinity;
    for (const at of this.deadlines.values()) if (at < next) next = at;
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
    const due = [...this.deadlines].filter(([, at]) => at <= now);
    due.sort((a, b) => a[1] - b[1]);
    for (const [key] of due) this.deadlines.delete(key);
    this.expiring = true;
    for (const [key] of due) this.onExpire(key, now);
    this.expiring = false;
    this.rearm();
  }
}

/** A manual clock that logs every call its table makes. */
class LoggingClock implements Clock {
  nowMs = 0;
  readonly log: string[] = [];
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  private nextId = 1;
  /** Handlers that keep re-setting each other at the same reading advance by a hair each time: stop after this many. */
  private firesLeft = 2_000;

  now(): number {
    return this.nowMs;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const id = this.nextId++;
    this.log.push(`arm ${id} +${delayMs}`);
    this.pending.set(id, { at: this.nowMs + delayMs, fn });
    return id;
  }

  cancelTimer(handle: TimerHandle): void {
    this.log.push(`cancel ${handle}`);
    this.pending.delete(handle);
  }

  /** Moves to `atMs`, firing what is due on the way (earliest first). */
  advance(atMs: number): void {
    for (;;) {
      let first: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.pending) if (e[1].at <= atMs && (first === undefined || e[1].at < first[1].at)) first = e;
      if (first === undefined) break;
      if (--this.firesLeft < 0) {
        this.log.push('fire budget spent');
        this.pending.clear();
        break;
      }
      this.pending.delete(first[0]);
      this.nowMs = Math.max(this.nowMs, first[1].at);
      first[1].fn();
    }
    this.nowMs = Math.max(this.nowMs, atMs);
  }
}

const keys = ['a', 'b', 'c', 'd', 'e'] as const;
type Key = (typeof keys)[number];
type Op =
  | { op: 'set'; key: Key; atMs: number }
  | { op: 'clear'; key: Key }
  | { op: 'advance'; byMs: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), key: fc.constantFrom(...keys), atMs: fc.integer({ min: 0, max: 60 }) }),
  fc.record({ op: fc.constant('clear' as const), key: fc.constantFrom(...keys) }),
  fc.record({ op: fc.constant('advance' as const), byMs: fc.integer({ min: 0, max: 20 }) }),
);
/** What a handler does when its key expires: nothing, re-set keys, or clear one. */
const reactionArb = fc.array(fc.oneof(
  fc.record({ op: fc.constant('set' as const), key: fc.constantFrom(...keys), atMs: fc.integer({ min: -5, max: 30 }) }),
  fc.record({ op: fc.constant('clear' as const), key: fc.constantFrom(...keys) }),
), { maxLength: 3 });

function drive(make: (clock: Clock, onExpire: (key: Key, now: number) => void) => { set(k: Key, at: number): void; clear(k: Key): void; deadline(k: Key): number | undefined }, ops: Op[], reactions: Record<Key, { op: 'set' | 'clear'; key: Key; atMs?: number }[]>): string[] {
  const clock = new LoggingClock();
  const table = make(clock, (key, now) => {
    clock.log.push(`expire ${key} @${now}`);
    for (const r of reactions[key]) {
      if (r.op === 'set') table.set(r.key, now + r.atMs!);
      else table.clear(r.key);
    }
  });
  let step = 0;
  for (const o of ops) {
    if (++step > 200) break;
    if (o.op === 'set') table.set(o.key, clock.nowMs + o.atMs);
    else if (o.op === 'clear') table.clear(o.key);
    else clock.advance(clock.nowMs + o.byMs);
    clock.log.push(`deadlines ${keys.map((k) => table.deadline(k) ?? '-').join(',')}`);
  }
  clock.advance(clock.nowMs + 100);
  return clock.log;
}

describe('TimerTable', () => {
  it('makes the same clock calls and expiries as the map it replaced, in the same order', () => {
    fc.assert(fc.property(
      fc.array(opArb, { maxLength: 60 }),
      fc.record({ a: reactionArb, b: reactionArb, c: reactionArb, d: reactionArb, e: reactionArb }),
      (ops, reactions) => {
        // A handler that re-sets its own key at a deadline at or before now would loop in
        // the model too (it waits for the clock to move): keep reactions moving forward.
        for (const k of keys) for (const r of reactions[k]) if (r.op === 'set' && r.key === k && r.atMs! <= 0) r.atMs = 1;
        const model = drive((clock, onExpire) => new ModelTable<Key>(clock, onExpire), ops, reactions);
        const real = drive((clock, onExpire) => new TimerTable<Key>(clock, onExpire), ops, reactions);
        expect(real).toEqual(model);
      },
    ), { numRuns: 500 });
  });

  it('stays armed for what is left when a handler throws', () => {
    const clock = new LoggingClock();
    const expired: string[] = [];
    const table = new TimerTable<Key>(clock, (key) => {
      expired.push(key);
      if (key === 'a') throw new Error('handler failed');
    });
    table.set('a', 1);
    table.set('b', 5);
    expect(() => clock.advance(2)).toThrow('handler failed');
    clock.advance(10);
    expect(expired).toEqual(['a', 'b']);
  });
});
