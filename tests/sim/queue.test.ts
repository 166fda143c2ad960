import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventQueue } from '../../sim/index.ts';

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
