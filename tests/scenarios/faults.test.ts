import { describe, expect, it } from 'vitest';
import { applyFault, describeFault, faultKinds, FaultUnsupportedError, refuseUnsupported, writtenScenario } from '../../scenarios/faults.ts';
import { parseScenario } from '../../scenarios/load.ts';
import { RunObserver } from '../../scenarios/observe.ts';
import { simFaultTarget } from '../../scenarios/runner.ts';
import { expectationSchema, faultSchema, type Fault } from '../../scenarios/schema.ts';
import { checkRealSupport, RealModeUnsupportedError } from '../../scenarios/real.ts';
import { Simulation } from '../../sim/index.ts';

/** One fault of every kind, as a scenario file writes it. */
const examples: Record<string, Record<string, unknown>> = {
  crash: { at: '1s', crash: 'n3' },
  restart: { at: '1s', restart: 'n3' },
  leave: { at: '1s', leave: ['n2', 'n3'] },
  pause: { at: '1s', pause: 'n2', for: '2s' },
  slow: { at: '1s', slow: { node: 'n2', delay: '600ms', for: '5s' } },
  partition: { at: '1s', partition: [['n1'], ['n2', 'n3']] },
  oneway: { at: '1s', oneway: { from: 'n1', to: 'n2' } },
  bridge: { at: '1s', bridge: { a: 'n1', via: 'n2', b: 'n3' } },
  isolate: { at: '1s', isolate: 'n1' },
  heal: { at: '1s', heal: true },
  repair: { at: '1s', repair: { a: 'n1', b: 'n2' } },
  hold: { at: '1s', hold: { from: 'n1', to: 'n2' } },
  release: { at: '1s', release: { from: 'n1', to: 'n2' } },
  skew: { at: '1s', skew: { node: 'n1', ms: 500 } },
  drift: { at: '1s', drift: { node: 'n1', ppm: 100 } },
  loss: { at: '1s', loss: 0.1 },
  latency: { at: '1s', latency: { kind: 'constant', ms: 5 }, from: 'n1' },
};

describe('one fault vocabulary', () => {
  it('parses every kind into a discriminated union that parses again to itself', () => {
    expect(Object.keys(examples).sort()).toEqual([...faultKinds].sort());
    for (const [kind, written] of Object.entries(examples)) {
      const fault = faultSchema.parse(written);
      expect(fault.kind).toBe(kind);
      expect(faultSchema.parse(fault)).toEqual(fault);
      expect(describeFault(fault)).toMatch(new RegExp(`^${kind}\\b.* at 1 s$`));
    }
    const e = expectationSchema.parse({ 'failed-within': { node: 'n3', within: '5s' } });
    expect(e).toEqual({ kind: 'failed-within', 'failed-within': { node: 'n3', within: 5_000 } });
    expect(expectationSchema.parse(e)).toEqual(e);
  });

  it('refuses a kind that does not name the entry', () => {
    const result = faultSchema.safeParse({ kind: 'pause', at: 1, crash: 'n1' });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.message).toMatch(/kind "pause" does not name the fault this entry gives \(crash\)/);
  });

  it('writes a parsed scenario back as the file format, without kind', () => {
    const scenario = parseScenario('name: s\nduration: 5s\ncluster: { size: 3 }\nfaults: [ { at: 1s, crash: n3 } ]\nexpect: [ { no-false-failures: true } ]\n');
    const written = writtenScenario(scenario);
    expect(written.faults).toEqual([{ at: 1_000, crash: 'n3' }]);
    expect(written.expect).toEqual([{ 'no-false-failures': true }]);
  });

  it('the simulator applies every kind through the one dispatch, and records each', () => {
    const sim = new Simulation({ seed: 1 });
    for (const n of ['n1', 'n2', 'n3']) sim.host(n, () => undefined);
    const observer = new RunObserver(['n1', 'n2', 'n3']);
    const target = simFaultTarget(sim, observer, new Map());
    const faults = Object.values(examples).map((w) => faultSchema.parse(w));
    refuseUnsupported(target, faults, 'the simulator');
    for (const fault of faults) applyFault(target, fault);
    expect(observer.faults.map((f) => f.kind)).toEqual(faults.map((f) => (f.kind === 'bridge' ? 'partition' : f.kind)));
    expect(sim.trace.entries().some((e) => e.kind === 'fault' && e.label === 'slow')).toBe(true);
  });

  it('refuses, before a run, every kind a target cannot apply, with the reason', () => {
    const faults: Fault[] = [faultSchema.parse(examples.crash), faultSchema.parse(examples.skew), faultSchema.parse(examples.hold)];
    const cannot = (kind: string) => (kind === 'skew' || kind === 'hold' ? 'only in the simulator' : undefined);
    expect(() => refuseUnsupported({ cannot }, faults, 'this target')).toThrow(FaultUnsupportedError);
    expect(() => refuseUnsupported({ cannot }, faults, 'this target')).toThrow(/^this target cannot apply skew, hold faults: only in the simulator$/);
  });

  it('real mode takes slow on loopback and refuses what only the simulator does', () => {
    const base = 'name: s\nduration: 10s\ncluster: { size: 3 }\n';
    expect(checkRealSupport(parseScenario(`${base}faults: [ { at: 1s, slow: { node: n2, delay: 600ms, for: 5s } } ]\n`), 'loopback')).toBe('loopback');
    expect(() => checkRealSupport(parseScenario(`${base}faults: [ { at: 1s, skew: { node: n2, ms: 5 } } ]\n`), 'loopback')).toThrow(RealModeUnsupportedError);
  });
});
