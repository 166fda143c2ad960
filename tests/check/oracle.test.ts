import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLinearizable, pairOperations, type HistoryOp, type Operation } from '../../scenarios/check/index.ts';

/**
 * The checker against the definition, by brute force, on small random histories (many not
 * linearizable): some subset of the info operations plus every ok one, in some order that
 * respects real time, must give every read and cas what it returned.
 */
function linearizableByDefinition(operations: readonly Operation[]): boolean {
  const ok = operations.filter((op) => op.type === 'ok');
  const info = operations.filter((op) => op.type === 'info');
  for (let mask = 0; mask < 1 << info.length; mask++) {
    const chosen = [...ok, ...info.filter((_, i) => mask & (1 << i))];
    if (someOrder(chosen, null)) return true;
  }
  return false;
}

function someOrder(left: readonly Operation[], state: unknown): boolean {
  if (left.length === 0) return true;
  return left.some((op) => {
    // Every operation still to place that completed before `op` was invoked must come first.
    if (left.some((other) => other !== op && other.type === 'ok' && other.completeTime! < op.invokeTime)) return false;
    const next = apply(op, state);
    return next !== undefined && someOrder(left.filter((o) => o !== op), next.state);
  });
}

function apply(op: Operation, state: unknown): { state: unknown } | undefined {
  if (op.f === 'write') return { state: op.value };
  if (op.f === 'read') return op.type === 'info' || op.value === state ? { state } : undefined;
  const [expected, next] = op.value as [unknown, unknown];
  return expected === state ? { state: next } : undefined;
}

interface Call {
  readonly f: 'read' | 'write' | 'cas';
  readonly start: number;
  readonly length: number;
  readonly type: 'ok' | 'info' | 'fail';
  /** A read's result, a write's value, a cas's new value. */
  readonly value: number | null;
  readonly expected: number | null;
}

const value = fc.constantFrom(null, 1, 2);
const call: fc.Arbitrary<Call> = fc.record({
  f: fc.constantFrom('read' as const, 'write' as const, 'cas' as const),
  start: fc.nat(6),
  length: fc.nat(4),
  type: fc.constantFrom('ok' as const, 'ok' as const, 'ok' as const, 'info' as const, 'fail' as const),
  value, expected: value,
});

/** One process per operation; invokes at even times, completions at odd ones, so no invoke ties a completion. */
function historyOf(calls: ReadonlyArray<Call>): HistoryOp[] {
  const events = calls.flatMap((c, process) => {
    const written = c.f === 'cas' ? [c.expected, c.value] : c.f === 'write' ? c.value : null;
    return [
      { process, type: 'invoke' as const, f: c.f, value: written, time: 2 * c.start },
      { process, type: c.type, f: c.f, value: c.f === 'read' ? c.value : written, time: 2 * c.start + 1 + 2 * c.length },
    ];
  });
  return events.sort((x, y) => x.time - y.time);
}

describe('checkLinearizable against the definition', () => {
  it('agrees with a brute-force search on small histories of reads, writes and cas with every kind of outcome', () => {
    let violations = 0;
    fc.assert(fc.property(fc.array(call, { minLength: 1, maxLength: 6 }), (calls) => {
      const history = historyOf(calls);
      const expected = linearizableByDefinition(pairOperations(history));
      if (!expected) violations++;
      expect(checkLinearizable(history, { model: 'cas-register' }).verdict).toBe(expected ? 'linearizable' : 'not-linearizable');
    }), { numRuns: 2_000 });
    // Both answers were exercised, often.
    expect(violations).toBeGreaterThan(200);
    expect(violations).toBeLessThan(1_800);
  });
});
