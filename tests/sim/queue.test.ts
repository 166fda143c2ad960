import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventQueue, Simulation } from '../../sim/index.ts';

describe('event queue', () => {
  it('pops by time, and in scheduling order at equal times', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 300 }), (times) => {
      const queue = new EventQueue<{ timeMs: number; label: number }>();
      times.forEach((timeMs, label) => queue.push({ timeMs, label }, timeMs));
      const popped: { timeMs: number; label: number }[] = [];
      for (let e = queue.pop(); e !== undefined; e = queue.pop()) popped.push(e);
      const expected = times.map((timeMs, label) => ({ timeMs, label })).sort((a, b) => a.timeMs - b.timeMs || a.label - b.label);
      expect(popped.map(({ timeMs, label }) => ({ timeMs, label }))).toEqual(expected);
    }), { numRuns: 200 });
  });

  it('keeps that order when pushes and pops interleave as in a run, near and far beyond the wheel', () => {
    // Delays as a run makes them: the same instant, a fraction of a bucket, latencies, timers
    // far beyond the wheel's horizon, and now and then an action at Infinity.
    const delay = fc.oneof(
      fc.constant(0), fc.double({ min: 0, max: 0.01, noNaN: true }), fc.double({ min: 0, max: 5, noNaN: true }),
      fc.integer({ min: 0, max: 3 }), fc.double({ min: 200, max: 5_000, noNaN: true }), fc.constant(Infinity),
    );
    const step = fc.oneof(fc.record({ push: delay }), fc.record({ pop: fc.constant(true) }));
    fc.assert(fc.property(fc.array(step, { maxLength: 400 }), (steps) => {
      const queue = new EventQueue<number>();
      const model: { timeMs: number; label: number }[] = [];
      let nowMs = 0;
      const take = () => {
        const got = queue.pop();
        const want = model.shift();
        expect(got).toBe(want?.label);
        if (want !== undefined) nowMs = want.timeMs;
      };
      steps.forEach((s, label) => {
        if ('pop' in s) return take();
        const timeMs = nowMs + s.push;
        queue.push(label, timeMs);
        // The model: sorted by time, and by insertion at equal times.
        const at = model.findIndex((m) => m.timeMs > timeMs);
        model.splice(at === -1 ? model.length : at, 0, { timeMs, label });
        expect(queue.peekTimeMs()).toBe(model[0]!.timeMs);
      });
      while (model.length > 0) take();
      expect(queue.size).toBe(0);
      expect(queue.pop()).toBeUndefined();
    }), { numRuns: 300 });
  });

  it('popDue takes the earliest item only when it is due by the bound, and hasDue agrees', () => {
    const delay = fc.oneof(fc.constant(0), fc.double({ min: 0, max: 5, noNaN: true }), fc.double({ min: 200, max: 5_000, noNaN: true }), fc.constant(Infinity));
    const step = fc.oneof(
      fc.record({ push: delay }),
      fc.record({ bound: fc.oneof(fc.double({ min: 0, max: 6_000, noNaN: true }), fc.constant(Infinity)), exclusive: fc.boolean() }),
    );
    fc.assert(fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
      const queue = new EventQueue<number>();
      const model: { timeMs: number; label: number }[] = [];
      let nowMs = 0;
      steps.forEach((s, label) => {
        if ('push' in s) {
          const timeMs = nowMs + s.push;
          queue.push(label, timeMs);
          const at = model.findIndex((m) => m.timeMs > timeMs);
          model.splice(at === -1 ? model.length : at, 0, { timeMs, label });
          return;
        }
        const head = model[0];
        const due = head !== undefined && !(head.timeMs > s.bound || (s.exclusive && head.timeMs === s.bound));
        expect(queue.hasDue(s.bound, s.exclusive)).toBe(due);
        const got = queue.popDue(s.bound, s.exclusive);
        if (!due) return expect(got).toBeUndefined();
        model.shift();
        expect(got).toBe(head.label);
        expect(queue.takenMs).toBe(head.timeMs);
        nowMs = head.timeMs;
      });
      expect(queue.size).toBe(model.length);
    }), { numRuns: 300 });
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
