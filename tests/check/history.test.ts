import { describe, expect, it } from 'vitest';
import { HistoryError, pairOperations, parseHistory } from '../../scenarios/check/index.ts';

const line = (event: object) => JSON.stringify(event);
const invoke = (process: number, f: string, value: unknown, time: number, extra: object = {}) => line({ process, type: 'invoke', f, value, time, ...extra });
const done = (process: number, type: string, f: string, value: unknown, time: number, extra: object = {}) => line({ process, type, f, value, time, ...extra });

/** The HistoryError `text` raises, for its fields. */
function problem(text: string): HistoryError {
  try {
    parseHistory(text, 'h.jsonl');
  } catch (error) {
    if (error instanceof HistoryError) return error;
    throw error;
  }
  throw new Error('expected a HistoryError');
}

describe('parseHistory', () => {
  it('reads JSON lines, skipping blank ones, and pairs invokes with completions', () => {
    const text = [invoke(1, 'write', 1, 0), '', invoke(2, 'read', null, 1), done(1, 'ok', 'write', 1, 2), done(2, 'ok', 'read', 1, 3), invoke(1, 'write', 2, 4), done(1, 'fail', 'write', 2, 5), invoke(3, 'write', 3, 6)].join('\n');
    const history = parseHistory(text);
    expect(history).toHaveLength(7);
    const operations = pairOperations(history);
    expect(operations.map((op) => [op.process, op.f, op.value, op.type, op.invokeTime, op.completeTime])).toEqual([
      [1, 'write', 1, 'ok', 0, 2],
      [2, 'read', 1, 'ok', 1, 3],
      [3, 'write', 3, 'info', 6, null],
    ]);
  });

  it('names the file and line of a line that is not JSON', () => {
    const error = problem([invoke(1, 'write', 1, 0), '{"process": 1, "type": "ok",'].join('\n'));
    expect(error).toMatchObject({ file: 'h.jsonl', line: 2 });
    expect(error.message).toMatch(/^h\.jsonl:2: not JSON: /);
  });

  it('names a missing or ill-typed field', () => {
    expect(problem(line({ type: 'invoke', f: 'read', time: 0 })).message).toBe('h.jsonl:1: missing field "process"');
    expect(problem(line({ process: 1, type: 'invoke', f: 'read' })).message).toBe('h.jsonl:1: "time" must be a number, got undefined');
    expect(problem(line({ process: 1, type: 'done', f: 'read', time: 0 })).message).toBe('h.jsonl:1: "type" must be one of invoke, ok, fail, info; got "done"');
    expect(problem(line({ process: 1, type: 'invoke', f: 'append', time: 0 })).message).toMatch(/"f" must be one of read, write, cas; got "append"/);
    expect(problem(line({ process: 1, type: 'invoke', f: 'write', time: 0 })).message).toMatch(/^h\.jsonl:1: missing field "value"/);
    expect(problem(invoke(1, 'cas', 1, 0)).message).toMatch(/a cas carries \[expected, new\], got 1/);
    expect(problem(invoke(1, 'read', null, 0, { key: 7 })).message).toMatch(/"key" must be a string/);
    expect(problem('[1, 2]').message).toMatch(/^h\.jsonl:1: expected an object/);
  });

  it('refuses a completion with no pending invoke, naming its line', () => {
    const error = problem([invoke(1, 'write', 1, 0), done(1, 'ok', 'write', 1, 1), done(1, 'ok', 'write', 1, 2)].join('\n'));
    expect(error.message).toBe('h.jsonl:3: ok for process 1, which has no pending invoke');
    expect(problem(done(4, 'info', 'read', null, 1)).line).toBe(1);
  });

  it('refuses a second invoke while one is pending, a mismatched completion, and one before its invoke', () => {
    expect(problem([invoke(1, 'write', 1, 0), invoke(1, 'read', null, 1)].join('\n')).message).toBe('h.jsonl:2: invoke by process 1 while its write invoked (line 1) is still pending');
    expect(problem([invoke(1, 'write', 1, 0), done(1, 'ok', 'read', 1, 1)].join('\n')).message).toMatch(/^h\.jsonl:2: ok of a read for process 1, but its pending invoke \(line 1\) is a write/);
    expect(problem([invoke(1, 'write', 1, 5), done(1, 'ok', 'write', 1, 4)].join('\n')).message).toMatch(/^h\.jsonl:2: completes at time 4, before its invoke at time 5/);
  });

  it('checks histories built in memory too, naming the event', () => {
    expect(() => pairOperations([{ process: 1, type: 'ok', f: 'read', value: 1, time: 0 }])).toThrow('event 1: ok for process 1, which has no pending invoke');
  });
});
