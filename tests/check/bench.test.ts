import { describe, expect, it } from 'vitest';
import { generateKvHistory, runCheckBench } from '../../bench/check.ts';
import { pairOperations } from '../../scenarios/check/index.ts';

describe('check bench', () => {
  it('generates kv histories with the promised concurrency per key and every kind of outcome', () => {
    const history = generateKvHistory({ operations: 4_000, keys: 2, clientsPerKey: 5, seed: 3 });
    const operations = pairOperations(history);
    for (const key of ['k0', 'k1']) {
      // Clients in flight at once; an info operation ends its client's wait, though it stays pending for the checker.
      const intervals = operations.filter((op) => op.key === key && op.type === 'ok').map((op) => [op.invokeTime, op.completeTime!] as const);
      const inFlightMax = Math.max(...intervals.map(([start]) => intervals.filter(([s, e]) => s <= start && start < e).length));
      expect(inFlightMax, key).toBe(5);
    }
    for (const type of ['ok', 'fail', 'info']) expect(history.some((e) => e.type === type), type).toBe(true);
    for (const f of ['read', 'write', 'cas']) expect(history.some((e) => e.f === f), f).toBe(true);
  });

  it('grows the history to the cap, every size judged linearizable with a few steps per operation, and reports stable fields', () => {
    const result = runCheckBench({ operationsMin: 500, operationsMax: 2_000, runs: 1, violationOperations: 2_000 });
    expect(Object.keys(result).sort()).toEqual(['baseline', 'clientsPerKey', 'keys', 'largest', 'model', 'opsPerSec', 'sizes', 'statistic', 'stoppedBy', 'target', 'timeMsLimit', 'violation'].sort());
    expect(result.violation).toMatchObject({ operations: 2_000, verdict: 'not-linearizable' });
    expect(result.violation.evidenceOperations).toBeLessThanOrEqual(4);
    expect(result.sizes.map((s) => [s.operations, s.verdict])).toEqual([[500, 'linearizable'], [1_000, 'linearizable'], [2_000, 'linearizable']]);
    for (const size of result.sizes) expect(size.steps).toBeLessThan(20 * size.operations);
    expect(result).toMatchObject({ stoppedBy: 'operationsMax', largest: { operations: 2_000, clientsPerKey: 5, keys: 1 }, target: { operations: 500, met: true } });
    expect(result.opsPerSec).toBe(result.largest.opsPerSec);
  });
});
