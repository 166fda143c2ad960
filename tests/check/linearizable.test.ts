import { describe, expect, it } from 'vitest';
import { checkLinearizable, HistoryError, type HistoryOp } from '../../scenarios/check/index.ts';
import { cas, historyOf, read, write } from './histories.ts';

const register = { model: 'register' } as const;

describe('checkLinearizable: registers', () => {
  it('a read that misses a write completed before it began is not linearizable, with the three operations as evidence', () => {
    const result = checkLinearizable(historyOf(write(1, 1, 0, 1), write(2, 2, 2, 3), read(3, 1, 4, 5)), register);
    expect(result.verdict).toBe('not-linearizable');
    expect(result.operations).toBe(3);
    expect(result.evidence?.minimal).toBe(true);
    expect(result.evidence?.operations).toEqual([
      { process: 1, f: 'write', value: 1, invokeTime: 0, completeTime: 1, type: 'ok' },
      { process: 2, f: 'write', value: 2, invokeTime: 2, completeTime: 3, type: 'ok' },
      { process: 3, f: 'read', value: 1, invokeTime: 4, completeTime: 5, type: 'ok' },
    ]);
    expect(result.evidence?.message).toBe("process 3's read → 1 [4, 5] cannot be linearized: it saw 1, written by process 1's write 1 [0, 1], but process 2's write 2 [2, 3] overwrote it before the read began");
  });

  it('the same read while the second write is in flight is linearizable (control)', () => {
    expect(checkLinearizable(historyOf(write(1, 1, 0, 1), write(2, 2, 2, 6), read(3, 1, 4, 5)), register).verdict).toBe('linearizable');
  });

  it('concurrent writes may be read in either order, but not both orders one after the other', () => {
    const writes = [write(1, 1, 0, 10), write(2, 2, 0, 10)];
    expect(checkLinearizable(historyOf(...writes, read(3, 1, 11, 12)), register).verdict).toBe('linearizable');
    expect(checkLinearizable(historyOf(...writes, read(3, 2, 11, 12)), register).verdict).toBe('linearizable');
    expect(checkLinearizable(historyOf(...writes, read(3, 1, 2, 3), read(4, 2, 4, 5)), register).verdict).toBe('linearizable');
    const flipped = checkLinearizable(historyOf(...writes, read(3, 1, 2, 3), read(4, 2, 4, 5), read(5, 1, 6, 7)), register);
    expect(flipped.verdict).toBe('not-linearizable');
    expect(flipped.evidence?.operations.map((op) => op.process)).toEqual([1, 2, 3, 4, 5]);
    expect(flipped.evidence?.message).toBe("process 5's read → 1 [6, 7] cannot be linearized: no order of these 5 operations respects real time (an operation that completed before another was invoked comes first) and gives every operation the result it returned");
  });

  it('a read of a value no operation wrote is named as such, alone', () => {
    const result = checkLinearizable(historyOf(write(1, 1, 0, 1), write(2, 9, 2, 3, { type: 'fail' }), read(3, 9, 4, 5)), register);
    expect(result.verdict).toBe('not-linearizable');
    expect(result.operations).toBe(2);
    expect(result.evidence?.operations).toHaveLength(1);
    expect(result.evidence?.message).toBe("process 3's read → 9 [4, 5] cannot be linearized: it saw 9, a value no operation wrote");
  });

  it('a read of the initial null after a completed write is stale; before any write it is not', () => {
    expect(checkLinearizable(historyOf(read(1, null, 0, 1), write(2, 1, 2, 3)), register).verdict).toBe('linearizable');
    expect(checkLinearizable(historyOf(write(2, 1, 0, 1), read(1, null, 2, 3)), register).verdict).toBe('not-linearizable');
  });

  it('values are compared as JSON, whatever the order of object keys', () => {
    const history = historyOf(write(1, { a: 1, b: [2] }, 0, 1), read(2, { b: [2], a: 1 }, 2, 3));
    expect(checkLinearizable(history, register).verdict).toBe('linearizable');
  });

  it('events at the same time are ordered as the history lists them', () => {
    const completedFirst: HistoryOp[] = [
      { process: 1, type: 'invoke', f: 'write', value: 1, time: 0 },
      { process: 1, type: 'ok', f: 'write', value: 1, time: 5 },
      { process: 2, type: 'invoke', f: 'read', value: null, time: 5 },
      { process: 2, type: 'ok', f: 'read', value: null, time: 6 },
    ];
    expect(checkLinearizable(completedFirst, register).verdict).toBe('not-linearizable');
    const invokedFirst = [completedFirst[0]!, completedFirst[2]!, completedFirst[1]!, completedFirst[3]!];
    expect(checkLinearizable(invokedFirst, register).verdict).toBe('linearizable');
  });
});

describe('checkLinearizable: unknown outcomes', () => {
  it('an info write may land long after its timeout: a later read that sees it is linearizable', () => {
    const history = historyOf(write(1, 1, 0, 1), write(2, 2, 2, 3, { type: 'info' }), read(3, 1, 4, 5), read(3, 2, 20, 21), read(4, 2, 22, 23));
    expect(checkLinearizable(history, register).verdict).toBe('linearizable');
  });

  it('an info write that is never seen is linearizable (it may never have happened)', () => {
    const history = historyOf(write(1, 1, 0, 1), write(2, 2, 2, 3, { type: 'info' }), read(3, 1, 4, 5), read(3, 1, 20, 21));
    expect(checkLinearizable(history, register).verdict).toBe('linearizable');
  });

  it('an invoke left pending at the end counts as info', () => {
    expect(checkLinearizable(historyOf(write(1, 1, 0, 1), write(2, 2, 2), read(3, 2, 30, 31)), register).verdict).toBe('linearizable');
  });

  it('but an info write cannot be seen before it was invoked, nor seen, unseen and seen again', () => {
    expect(checkLinearizable(historyOf(read(3, 2, 0, 1), write(2, 2, 2, 3, { type: 'info' })), register).verdict).toBe('not-linearizable');
    const flicker = historyOf(write(1, 1, 0, 1), write(2, 2, 2, 3, { type: 'info' }), read(3, 2, 4, 5), read(3, 1, 6, 7), read(3, 2, 8, 9));
    const result = checkLinearizable(flicker, register);
    expect(result.verdict).toBe('not-linearizable');
    expect(result.evidence?.operations.find((op) => op.process === 2)).toMatchObject({ type: 'info', completeTime: 3 });
  });
});

describe('checkLinearizable: cas-register', () => {
  const model = { model: 'cas-register' } as const;

  it('a cas that took effect is seen by a later read', () => {
    expect(checkLinearizable(historyOf(write(1, 1, 0, 1), cas(2, 1, 2, 2, 3), read(3, 2, 4, 5)), model).verdict).toBe('linearizable');
    expect(checkLinearizable(historyOf(write(1, 1, 0, 1), cas(2, 1, 2, 2, 3), read(3, 1, 4, 5)), model).verdict).toBe('not-linearizable');
  });

  it('a cas cannot succeed against a value the register did not hold; a failed one did not happen', () => {
    expect(checkLinearizable(historyOf(write(1, 1, 0, 1), cas(2, 5, 6, 2, 3)), model).verdict).toBe('not-linearizable');
    expect(checkLinearizable(historyOf(write(1, 1, 0, 1), cas(2, 5, 6, 2, 3, { type: 'fail' }), read(3, 1, 4, 5)), model).verdict).toBe('linearizable');
  });

  it('two concurrent cas from the same value cannot both succeed', () => {
    const both = historyOf(write(1, 0, 0, 1), cas(2, 0, 1, 2, 5), cas(3, 0, 2, 2, 5));
    expect(checkLinearizable(both, model).verdict).toBe('not-linearizable');
    expect(checkLinearizable(historyOf(write(1, 0, 0, 1), cas(2, 0, 1, 2, 5), cas(3, 1, 2, 2, 5)), model).verdict).toBe('linearizable');
  });

  it('model register refuses a cas, naming the event', () => {
    expect(() => checkLinearizable(historyOf(cas(2, null, 1, 0, 1)), register)).toThrow(HistoryError);
    expect(() => checkLinearizable(historyOf(cas(2, null, 1, 0, 1)), register)).toThrow(/event 1: model register has no cas/);
  });
});

describe('checkLinearizable: kv', () => {
  const model = { model: 'kv' } as const;

  it('checks each key on its own and reports a verdict per key', () => {
    const history = historyOf(
      write(1, 1, 0, 1, { key: 'x' }), write(2, 1, 0, 1, { key: 'y' }),
      write(1, 2, 2, 3, { key: 'x' }), read(2, 1, 4, 5, { key: 'y' }), read(3, 2, 4, 5, { key: 'x' }),
    );
    const result = checkLinearizable(history, model);
    expect(result.verdict).toBe('linearizable');
    expect(result.keys).toEqual({ x: { verdict: 'linearizable', operations: 3 }, y: { verdict: 'linearizable', operations: 2 } });
  });

  it('a stale read of one key fails that key only, and the evidence names it', () => {
    const history = historyOf(
      write(1, 1, 0, 1, { key: 'x' }), write(2, 1, 0, 1, { key: 'y' }),
      write(1, 2, 2, 3, { key: 'x' }), read(2, 1, 4, 5, { key: 'y' }), read(3, 1, 4, 5, { key: 'x' }),
    );
    const result = checkLinearizable(history, model);
    expect(result.verdict).toBe('not-linearizable');
    expect(result.keys).toEqual({ x: { verdict: 'not-linearizable', operations: 3 }, y: { verdict: 'linearizable', operations: 2 } });
    expect(result.evidence?.key).toBe('x');
    expect(result.evidence?.operations.every((op) => op.key === 'x')).toBe(true);
  });

  it('the same history as one register is not linearizable, which is why kv needs keys', () => {
    const history = historyOf(write(1, 1, 0, 1, { key: 'x' }), write(2, 2, 2, 3, { key: 'y' }), read(3, 1, 4, 5, { key: 'x' }));
    expect(checkLinearizable(history, model).verdict).toBe('linearizable');
    expect(checkLinearizable(history, register).verdict).toBe('not-linearizable');
    expect(() => checkLinearizable(historyOf(write(1, 1, 0, 1)), model)).toThrow(/needs a "key"/);
  });
});

describe('checkLinearizable: budget', () => {
  /** Many concurrent writes of distinct values with reads that rule most orders out. */
  function hard(writers: number): HistoryOp[] {
    const calls = [];
    for (let i = 0; i < writers; i++) calls.push(write(`w${i}`, i, 0, 100));
    for (let i = 0; i < writers; i++) calls.push(read(`r${i}`, writers - 1 - i, 1 + i, 1 + i + 0.5));
    return historyOf(...calls);
  }

  it('past stepsMax the verdict is unknown with what was explored, never a guess', () => {
    const result = checkLinearizable(hard(12), { model: 'register', stepsMax: 50 });
    expect(result).toMatchObject({ verdict: 'unknown', stoppedBy: 'stepsMax', explored: { steps: 50 } });
    expect(result.evidence).toBeUndefined();
    expect(checkLinearizable(hard(12), { model: 'register' }).verdict).toBe('linearizable');
  });

  it('past timeMsMax the verdict is unknown', () => {
    let clock = 0;
    const result = checkLinearizable(hard(40), { model: 'register', timeMsMax: 1_000, now: () => (clock += 600) });
    expect(result).toMatchObject({ verdict: 'unknown', stoppedBy: 'timeMsMax' });
    expect(result.explored.steps).toBeGreaterThanOrEqual(1024);
  });

  it('a kv key after the budget ran out is unknown too', () => {
    const history = [...hard(12).map((e) => ({ ...e, key: 'a' })), ...historyOf(write(1, 1, 200, 201, { key: 'b' }))];
    const result = checkLinearizable(history, { model: 'kv', stepsMax: 50 });
    expect(result.keys).toEqual({ a: { verdict: 'unknown', operations: 24 }, b: { verdict: 'unknown', operations: 1 } });
  });
});
