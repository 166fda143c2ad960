import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLinearizable, type HistoryOp, type ModelName } from '../../scenarios/check/index.ts';
import { plannedCalls, simulate, type Simulated } from './simulate.ts';

const models: Array<{ model: ModelName; cas: boolean; keys: number }> = [
  { model: 'register', cas: false, keys: 1 },
  { model: 'cas-register', cas: true, keys: 1 },
  { model: 'kv', cas: true, keys: 2 },
];
const runs = { numRuns: 300 };

function withReadValue(history: readonly HistoryOp[], at: number, value: unknown): HistoryOp[] {
  return history.map((event, i) => (i === at ? { ...event, value } : event));
}

/** A completed read that began after a write of another value completed, itself begun after the write of `value` completed. */
function staleRead(sim: Simulated): { at: number; value: number } | undefined {
  for (const r of sim.reads) {
    for (const newer of sim.writes) {
      if (newer.key !== r.key || !(newer.completed < r.invoked)) continue;
      const older = sim.writes.find((w) => w.key === r.key && w.completed < newer.invoked);
      if (older !== undefined) return { at: r.at, value: older.value };
    }
  }
  return undefined;
}

describe.each(models)('checkLinearizable on simulated $model histories', ({ model, cas, keys }) => {
  it('judges every history a sequential reference produced with overlapping operations linearizable', () => {
    fc.assert(fc.property(plannedCalls({ cas, keys }), (calls) => {
      const { history } = simulate(calls, model === 'kv');
      const result = checkLinearizable(history, { model });
      expect(result.verdict, JSON.stringify(result.evidence)).toBe('linearizable');
    }), runs);
  });

  it('judges the same history with one read of a value never written not linearizable, that read alone the evidence', () => {
    fc.assert(fc.property(plannedCalls({ cas, keys }), fc.nat(), (calls, pick) => {
      const sim = simulate(calls, model === 'kv');
      fc.pre(sim.reads.length > 0);
      const read = sim.reads[pick % sim.reads.length]!;
      const result = checkLinearizable(withReadValue(sim.history, read.at, 'never written'), { model });
      expect(result.verdict).toBe('not-linearizable');
      expect(result.evidence?.operations).toEqual([expect.objectContaining({ f: 'read', value: 'never written', completeTime: read.completed })]);
      expect(result.evidence?.message).toMatch(/a value no operation wrote$/);
    }), runs);
  });

  it('judges the same history with one read made stale not linearizable, and the evidence holds that read', () => {
    fc.assert(fc.property(plannedCalls({ cas, keys, lengthMin: 12, lengthMax: 60 }), (calls) => {
      const sim = simulate(calls, model === 'kv');
      const stale = staleRead(sim);
      fc.pre(stale !== undefined);
      const result = checkLinearizable(withReadValue(sim.history, stale.at, stale.value), { model });
      expect(result.verdict).toBe('not-linearizable');
      expect(result.evidence?.minimal).toBe(true);
      const completed = sim.history[stale.at]!.time;
      expect(result.evidence?.operations).toContainEqual(expect.objectContaining({ f: 'read', value: stale.value, completeTime: completed }));
    }), { ...runs, numRuns: 150 });
  });
});
