import { describe, expect, it } from 'vitest';
import { falseFailures, type RunRecord } from '../../scenarios/expectations.ts';
import { RunObserver } from '../../scenarios/observe.ts';

function record(build: (o: RunObserver) => void): RunRecord {
  const observer = new RunObserver(['n1', 'n2', 'n4']);
  build(observer);
  return { nodes: ['n1', 'n2', 'n4'], endMs: 20_000, observer, convergedAt: new Map(), rpc: undefined };
}

describe('no-false-failures', () => {
  it('counts a failure of a member that has been running all along', () => {
    const r = record((o) => {
      o.observe({ timeMs: 100, observer: 'n1', type: 'joined', member: 'n4', incarnation: 0 });
      o.observe({ timeMs: 5_000, observer: 'n1', type: 'failed', member: 'n4', incarnation: 0 });
    });
    expect(falseFailures(r)).toEqual([{ observer: 'n1', member: 'n4', timeMs: 5_000 }]);
  });

  it('does not count a failure while the member is crashed', () => {
    const r = record((o) => {
      o.fault({ timeMs: 2_000, kind: 'crash', nodes: ['n4'] });
      o.observe({ timeMs: 7_000, observer: 'n1', type: 'failed', member: 'n4', incarnation: 0 });
    });
    expect(falseFailures(r)).toEqual([]);
  });

  it('does not count the late end of a true detection that lands just after a restart (old incarnation)', () => {
    const r = record((o) => {
      o.observe({ timeMs: 100, observer: 'n1', type: 'joined', member: 'n4', incarnation: 2 });
      o.fault({ timeMs: 2_000, kind: 'crash', nodes: ['n4'] });
      o.observe({ timeMs: 4_000, observer: 'n1', type: 'suspect', member: 'n4', incarnation: 2 });
      o.fault({ timeMs: 9_000, kind: 'restart', nodes: ['n4'] });
      o.observe({ timeMs: 9_313, observer: 'n1', type: 'failed', member: 'n4', incarnation: 2 });
    });
    expect(falseFailures(r)).toEqual([]);
  });

  it('counts a failure of the new life: an incarnation the member announced after its restart', () => {
    const r = record((o) => {
      o.observe({ timeMs: 100, observer: 'n1', type: 'joined', member: 'n4', incarnation: 2 });
      o.fault({ timeMs: 2_000, kind: 'crash', nodes: ['n4'] });
      o.fault({ timeMs: 9_000, kind: 'restart', nodes: ['n4'] });
      o.observe({ timeMs: 9_500, observer: 'n1', type: 'alive', member: 'n4', incarnation: 3 });
      o.observe({ timeMs: 14_000, observer: 'n2', type: 'failed', member: 'n4', incarnation: 3 });
    });
    expect(falseFailures(r)).toEqual([{ observer: 'n2', member: 'n4', timeMs: 14_000 }]);
  });
});
