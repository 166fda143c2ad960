import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventQueue, Simulation } from '../../sim/index.ts';

describe('event queue', () => {
  it('pops by time, and in scheduling order at equal times', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 300 }), (times) => {
      const queue = new EventQueue<{ timeMs: number; seq: number; label: number }>();
      times.forEach((timeMs, label) => queue.push({ timeMs, seq: 0, label }));
      const popped: { timeMs: number; label: number }[] = [];
      for (let e = queue.pop(); e !== undefined; e = queue.pop()) popped.push(e);
      const expected = times.map((timeMs, label) => ({ timeMs, label })).sort((a, b) => a.timeMs - b.timeMs || a.label - b.label);
      expect(popped.map(({ timeMs, label }) => ({ timeMs, label }))).toEqual(expected);
    }), { numRuns: 200 });
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
