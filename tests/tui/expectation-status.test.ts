import { describe, expect, it } from 'vitest';
import type { AppliedFault } from '../../scenarios/observe.ts';
import type { Expectation } from '../../scenarios/schema.ts';
import { liveExpectations, settling, statusOf, type Settling } from '../../tui/index.ts';

const pass = { name: 'x', ok: true, detail: 'held' };
const fail = { name: 'x', ok: false, detail: 'did not hold' };
const crashN3At3s: AppliedFault[] = [{ timeMs: 3_000, kind: 'crash', nodes: ['n3'] }];

describe('live expectation status', () => {
  it('decides each kind of settling as early as what happened allows', () => {
    const window: Settling = { kind: 'window', closesAtMs: 13_000 };
    const unopened: Settling = { kind: 'window', closesAtMs: undefined };
    const rows: [Settling, boolean, number, boolean, string][] = [
      // settling, check ok, now, ended, status
      [window, true, 5_000, false, 'passed'],
      [window, false, 13_000, false, 'pending'],
      [window, false, 13_001, false, 'failed'],
      [unopened, false, 1_000_000, false, 'pending'],
      [{ kind: 'safety' }, true, 5_000, false, 'pending'],
      [{ kind: 'safety' }, false, 5_000, false, 'failed'],
      [{ kind: 'at-end' }, true, 5_000, false, 'pending'],
      [{ kind: 'at-end' }, false, 5_000, false, 'pending'],
      [{ kind: 'at-end' }, true, 18_000, true, 'passed'],
      [{ kind: 'safety' }, true, 18_000, true, 'passed'],
      [unopened, false, 18_000, true, 'failed'],
    ];
    for (const [how, ok, nowMs, ended, status] of rows) {
      expect(statusOf(ok ? pass : fail, how, nowMs, ended), JSON.stringify({ how, ok, nowMs, ended })).toBe(status);
    }
  });

  it('times each window from the fault it is about, or from the scenario', () => {
    const cases: [Expectation, AppliedFault[], Settling][] = [
      [{ kind: 'failed-within', 'failed-within': { node: 'n3', within: 10_000 } }, [], { kind: 'window', closesAtMs: undefined }],
      [{ kind: 'failed-within', 'failed-within': { node: 'n3', within: 10_000 } }, crashN3At3s, { kind: 'window', closesAtMs: 13_000 }],
      [{ kind: 'failed-within', 'failed-within': { node: 'n4', within: 10_000 } }, crashN3At3s, { kind: 'window', closesAtMs: undefined }],
      [{ kind: 'rejoined-within', 'rejoined-within': { node: 'n3', within: 5_000 } }, [...crashN3At3s, { timeMs: 8_000, kind: 'restart', nodes: ['n3'] }], { kind: 'window', closesAtMs: 13_000 }],
      [{ kind: 'converge-within', 'converge-within': { after: 12_000, within: 5_000 } }, [], { kind: 'window', closesAtMs: 17_000 }],
      [{ kind: 'partition-detected', 'partition-detected': { sides: [['n1'], ['n2']] } }, [{ timeMs: 2_000, kind: 'partition', nodes: ['n1', 'n2'] }], { kind: 'window', closesAtMs: Infinity }],
      [{ kind: 'no-false-failures', 'no-false-failures': true }, [], { kind: 'safety' }],
      [{ kind: 'false-failures-at-most', 'false-failures-at-most': 2 }, [], { kind: 'safety' }],
      [{ kind: 'quorum-side-only', 'quorum-side-only': { sides: [['n1'], ['n2']] } }, [], { kind: 'at-end' }],
      [{ kind: 'success-ratio-at-least', 'success-ratio-at-least': 0.99 }, [], { kind: 'at-end' }],
    ];
    for (const [e, faults, how] of cases) expect(settling(e, faults), JSON.stringify(e)).toEqual(how);
  });

  it('shows pending evidence as "so far" and keeps the runner\'s detail once decided', () => {
    const expectations: Expectation[] = [{ kind: 'failed-within', 'failed-within': { node: 'n3', within: 10_000 } }, { kind: 'no-false-failures', 'no-false-failures': true }];
    const live = liveExpectations(expectations, [{ name: 'a', ok: true, detail: 'seen' }, { name: 'b', ok: true, detail: 'none' }], crashN3At3s, 9_000, false);
    expect(live).toEqual([{ name: 'a', status: 'passed', detail: 'seen' }, { name: 'b', status: 'pending', detail: 'so far: none' }]);
    expect(() => liveExpectations(expectations, [pass], [], 0, false)).toThrow(/1 results for 2 expectations/);
  });
});
