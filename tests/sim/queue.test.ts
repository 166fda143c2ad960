import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventQueue, Simulation } from '../../sim/index.ts';
import type { WheelShape } from '../../sim/queue.ts';

/** A step of a run: queue an item `push` ms from now, take the earliest, or take it if due by a bound. */
type Step = { push: number } | { pop: true } | { bound: number; exclusive: boolean };

/**
 * Runs `steps` on a queue and on a model (sorted by time, and by insertion at equal times)
 * and checks they agree at every step: what is taken, when, what is next and how many are
 * left. Bounds are absolute, or from now when `boundsFromNow` (as a run's steps are). At
 * the end, everything left comes out in the model's order.
 */
function checkAgainstModel(queue: EventQueue<number>, steps: readonly Step[], boundsFromNow: boolean): void {
  const model: { timeMs: number; label: number }[] = [];
  let nowMs = 0;
  steps.forEach((s, label) => {
    if ('push' in s) {
      const timeMs = nowMs + s.push;
      queue.push(label, timeMs);
      const at = model.findIndex((m) => m.timeMs > timeMs);
      model.splice(at === -1 ? model.length : at, 0, { timeMs, label });
      expect(queue.peekTimeMs()).toBe(model[0]!.timeMs);
      return;
    }
    const head = model[0];
    if ('pop' in s) {
      expect(queue.pop()).toBe(head?.label);
      if (head !== undefined) nowMs = head.timeMs;
      model.shift();
    } else {
      const bound = boundsFromNow ? nowMs + s.bound : s.bound;
      const due = head !== undefined && !(head.timeMs > bound || (s.exclusive && head.timeMs === bound));
      expect(queue.hasDue(bound, s.exclusive)).toBe(due);
      const got = queue.popDue(bound, s.exclusive);
      if (!due) return expect(got).toBeUndefined();
      model.shift();
      expect(got).toBe(head.label);
      expect(queue.takenMs).toBe(head.timeMs);
      nowMs = head.timeMs;
    }
    expect(queue.size).toBe(model.length);
  });
  while (model.length > 0) expect(queue.pop()).toBe(model.shift()!.label);
  expect(queue.size).toBe(0);
  expect(queue.pop()).toBeUndefined();
}

describe('event queue', () => {
  it('pops by time, and in scheduling order at equal times', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 300, size: 'max' }), (times) => {
      const queue = new EventQueue<{ timeMs: number; label: number }>();
      times.forEach((timeMs, label) => queue.push({ timeMs, label }, timeMs));
      const popped: { timeMs: number; label: number }[] = [];
      for (let e = queue.pop(); e !== undefined; e = queue.pop()) popped.push(e);
      const expected = times.map((timeMs, label) => ({ timeMs, label })).sort((a, b) => a.timeMs - b.timeMs || a.label - b.label);
      expect(popped.map(({ timeMs, label }) => ({ timeMs, label }))).toEqual(expected);
    }), { numRuns: 200 });
  });

  it('keeps that order when pushes and pops interleave as in a run, near and far beyond the wheels', () => {
    // Delays as a run makes them: the same instant, a fraction of a bucket, latencies, timers
    // on the coarse wheel and beyond it (whole milliseconds too, so instants repeat there),
    // across both wheels' horizons (16 ms and about 2 s), a jump past 2^31 fine buckets, and
    // now and then an action at Infinity.
    const delay = fc.oneof(
      fc.constant(0), fc.double({ min: 0, max: 0.01, noNaN: true }), fc.double({ min: 0, max: 5, noNaN: true }),
      fc.integer({ min: 0, max: 3 }), fc.double({ min: 200, max: 5_000, noNaN: true }), fc.constant(Infinity),
      fc.double({ min: 14, max: 18, noNaN: true }), fc.integer({ min: 14, max: 18 }), fc.integer({ min: 0, max: 2_100 }),
      fc.double({ min: 1_900, max: 2_200, noNaN: true }), fc.constant(1e9 + 0.5),
    );
    const step = fc.oneof(fc.record({ push: delay }), fc.record({ pop: fc.constant(true) }));
    fc.assert(fc.property(fc.array(step, { maxLength: 400, size: 'max' }), (steps) => checkAgainstModel(new EventQueue<number>(), steps, true)), { numRuns: 300 });
  });

  it('keeps that order on small wheels, where every horizon is crossed all the time', () => {
    // Wheels of a few buckets: items file in at both wheels' edges, move between them,
    // skip empty stretches and wrap, at every step (the default shape crosses its edges
    // only now and then).
    const shapes: WheelShape[] = [
      { bucketsPerMs: 1, wheelBuckets: 32, coarseWidth: 4, coarseBuckets: 32 },
      { bucketsPerMs: 4, wheelBuckets: 32, coarseWidth: 32, coarseBuckets: 32 },
      { bucketsPerMs: 2, wheelBuckets: 64, coarseWidth: 1, coarseBuckets: 64 },
    ];
    const delay = fc.oneof(
      fc.constant(0), fc.integer({ min: 0, max: 300 }), fc.double({ min: 0, max: 300, noNaN: true }),
      fc.double({ min: 0, max: 2, noNaN: true }), fc.constant(1e9 + 0.5), fc.constant(Infinity),
    );
    const step = fc.oneof(fc.record({ push: delay }), fc.record({ push: delay }), fc.record({ pop: fc.constant(true) }),
      fc.record({ bound: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.double({ min: 0, max: 400, noNaN: true })), exclusive: fc.boolean() }));
    for (const shape of shapes) {
      fc.assert(fc.property(fc.array(step, { maxLength: 400, size: 'max' }), (steps) => checkAgainstModel(new EventQueue<number>(shape), steps, true)), { numRuns: 300 });
    }
  });

  it('refuses a wheel shape it cannot use', () => {
    expect(() => new EventQueue({ bucketsPerMs: 3, wheelBuckets: 32, coarseWidth: 4, coarseBuckets: 32 })).toThrow(/wheel shape/);
    expect(() => new EventQueue({ bucketsPerMs: 1, wheelBuckets: 16, coarseWidth: 4, coarseBuckets: 32 })).toThrow(/wheel shape/);
    expect(() => new EventQueue({ bucketsPerMs: 1, wheelBuckets: 32, coarseWidth: 64, coarseBuckets: 32 })).toThrow(/wheel shape/);
  });

  it('popDue takes the earliest item only when it is due by the bound, and hasDue agrees', () => {
    const delay = fc.oneof(
      fc.constant(0), fc.double({ min: 0, max: 5, noNaN: true }), fc.double({ min: 200, max: 5_000, noNaN: true }), fc.constant(Infinity),
      fc.integer({ min: 0, max: 2_100 }), fc.double({ min: 14, max: 18, noNaN: true }), fc.constant(1e9 + 0.5),
    );
    const step = fc.oneof(
      fc.record({ push: delay }),
      fc.record({ bound: fc.oneof(fc.double({ min: 0, max: 6_000, noNaN: true }), fc.integer({ min: 0, max: 2_100 }), fc.constant(Infinity)), exclusive: fc.boolean() }),
    );
    fc.assert(fc.property(fc.array(step, { maxLength: 300, size: 'max' }), (steps) => checkAgainstModel(new EventQueue<number>(), steps, false)), { numRuns: 300 });
  });
});

describe('running up to an instant', () => {
  it('exclusive stops before the events of the instant itself, so what comes next goes first', async () => {
    for (const async of [false, true]) {
      const sim = new Simulation({ seed: 1 });
      const order: string[] = [];
      sim.at(5, () => order.push('early'));
      sim.at(10, () => order.push('timer at 10'));
      if (async) await sim.runUntilAsync(10, { exclusive: true });
      else sim.runUntil(10, { exclusive: true });
      expect(sim.nowMs).toBe(10);
      expect(order).toEqual(['early']);
      order.push('action at 10');
      if (async) await sim.runUntilAsync(10);
      else sim.runUntil(10);
      expect(order).toEqual(['early', 'action at 10', 'timer at 10']);
    }
  });
});
