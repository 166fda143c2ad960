import { describe, expect, it } from 'vitest';
import { applyFault, describeFault, faultKinds, FaultUnsupportedError, refuseUnsupported, writtenScenario } from '../../scenarios/faults.ts';
import { parseScenario } from '../../scenarios/load.ts';
import { RunObserver } from '../../scenarios/observe.ts';
import { simFaultTarget } from '../../scenarios/runner.ts';
import { expectationSchema, faultSchema, type Fault } from '../../scenarios/schema.ts';
import { checkRealSupport, RealModeUnsupportedError, RealRunAbortedError, RunSteps } from '../../scenarios/real.ts';
import { validateScenarioText } from '../../scenarios/validate.ts';
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

  it('tells a kind without its action, or naming no action, as what is missing or unknown', () => {
    const missing = faultSchema.safeParse({ kind: 'crash', at: 1 });
    expect(missing.error!.issues[0]!.message).toBe('missing field "crash": a crash fault has: at, crash');
    expect(missing.error!.issues[0]!.path).toEqual(['crash']);
    expect(faultSchema.safeParse({ kind: 'crash', at: 1, crash: 'n1', pause: 'n2', for: 1 }).error!.issues[0]!.message).toBe('one fault per entry, found crash and pause');
    expect(faultSchema.safeParse({ kind: 'bogus', at: 1 }).error!.issues[0]!.message).toMatch(/^unknown fault "bogus"; expected one of: crash/);
  });

  it('refuses a slow fault that would do nothing, and two of one node at once', () => {
    const problems = (faults: string) => {
      const result = validateScenarioText(`name: s\nduration: 30s\ncluster: { size: 3 }\nfaults:\n${faults}`);
      return result.ok ? [] : result.problems.map((p) => `${p.path} ${p.message}`);
    };
    expect(problems('  - { at: 1s, slow: { node: n2, delay: 0s, for: 5s } }\n')).toEqual(['faults.0.slow.delay expected a duration more than 0: with 0 this fault would do nothing']);
    expect(problems('  - { at: 1s, slow: { node: n2, delay: 1s, for: 0 } }\n')).toEqual(['faults.0.slow.for expected a duration more than 0: with 0 this fault would do nothing']);
    // The simulator would end both at 11 s, a real node at 22 s: refused rather than meaning two things.
    expect(problems('  - { at: 1s, slow: { node: [n2, n3], delay: 1s, for: 10s } }\n  - { at: 2s, slow: { node: n3, delay: 3s, for: 20s } }\n'))
      .toEqual(['faults.1.slow.node n3 is still slow from faults.0 until 11s: one slow fault per node at a time (start this one at 11s or later)']);
    // One after the other, or after a restart (which ends the slowness with the process), is fine.
    expect(problems('  - { at: 1s, slow: { node: n2, delay: 1s, for: 10s } }\n  - { at: 11s, slow: { node: n2, delay: 3s, for: 5s } }\n')).toEqual([]);
    expect(problems('  - { at: 1s, slow: { node: n2, delay: 1s, for: 10s } }\n  - { at: 2s, restart: n2 }\n  - { at: 3s, slow: { node: n2, delay: 3s, for: 5s } }\n')).toEqual([]);
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

  it('real mode refuses, before the run, a slow fault beyond what a node\'s fault control takes', () => {
    const base = 'name: s\nduration: 10s\ncluster: { size: 3 }\n';
    expect(() => checkRealSupport(parseScenario(`${base}faults: [ { at: 1s, slow: { node: n2, delay: 90s, for: 2s } } ]\n`), 'loopback'))
      .toThrow(/^--mode real: a node's fault control slows by at most 60 s for at most 60 min; slow n2 by 90 s for 2 s at 1 s is beyond it$/);
  });

  it('a real run\'s failing step ends the run with what failed, never as an unhandled rejection, and no later step runs', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const steps = new RunSteps();
      const ran: string[] = [];
      steps.at(0, 'the start of n1', () => void ran.push('start'));
      steps.at(5, 'slow n2 by 90 s for 2 s at 1 s', () => Promise.reject(new Error('node n2 refused the slow fault')));
      steps.at(60_000, 'restart n2 at 60 s', () => void ran.push('restart'));
      // The run waits for its end or the first failure, as runScenarioReal does, then stops the steps not yet due.
      const ended = await Promise.race([new Promise((resolve) => setTimeout(() => resolve('end'), 2_000)), steps.failed]).catch((error: unknown) => error);
      steps.stop();
      expect(ended).toBeInstanceOf(RealRunAbortedError);
      expect((ended as Error).message).toBe('slow n2 by 90 s for 2 s at 1 s failed: node n2 refused the slow fault');
      await steps.settled();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(ran).toEqual(['start']);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
