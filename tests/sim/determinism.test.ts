import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { checkDeterminism, DeterminismError, Simulation } from '../../sim/index.ts';
import { busySim } from './workload.ts';
import { seedHint } from './helpers.ts';

const file = 'tests/sim/determinism.test.ts';

const GOLDEN = '7b3a28a41c747702 3981';

const faultArb = fc.array(fc.record({
  atMs: fc.integer({ min: 0, max: 1_500 }), op: fc.integer({ min: 0, max: 7 }), host: fc.integer({ min: 0, max: 4 }),
}), { maxLength: 8 });

describe('determinism', () => {
  it('the same seed and fault schedule give a byte-identical trace', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), faultArb, async (seed, faults) => {
      const result = await checkDeterminism(() => busySim(seed, faults), (sim) => void sim.runUntil(2_000));
      expect(result.events, seedHint(seed, file)).toBeGreaterThan(100);
    }), { numRuns: 15 });
  });

  it('different seeds give different traces', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 1_000_000 }), (s1, s2) => {
      fc.pre(s1 !== s2);
      const a = busySim(s1);
      const b = busySim(s2);
      a.runUntil(500);
      b.runUntil(500);
      expect(a.trace.hash).not.toBe(b.trace.hash);
    }), { numRuns: 10 });
  });

  it('checkDeterminism catches a leak of real randomness', async () => {
    const leaky = () => {
      const sim = new Simulation({ seed: 1 });
      sim.host('a', ({ clock, emit }) => {
        clock.setTimer(Math.random() * 10, () => emit('tick'));
      });
      return sim;
    };
    await expect(checkDeterminism(leaky, (sim) => void sim.runUntil(100))).rejects.toThrow(DeterminismError);
  });

  it('the same seed gives the same hash in a fresh process (golden value)', () => {
    const sim = busySim(20261123, [{ atMs: 300, op: 0, host: 2 }, { atMs: 700, op: 1, host: 2 }, { atMs: 900, op: 3, host: 1 }, { atMs: 1_200, op: 4, host: 0 }]);
    sim.runUntil(2_000);
    const script = `
      import { busySim } from './tests/sim/workload.ts';
      const sim = busySim(20261123, [{ atMs: 300, op: 0, host: 2 }, { atMs: 700, op: 1, host: 2 }, { atMs: 900, op: 3, host: 1 }, { atMs: 1200, op: 4, host: 0 }]);
      sim.runUntil(2000);
      console.log(sim.trace.hash + ' ' + sim.trace.count);`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, VITEST: '' } });
    expect(child.stderr).not.toMatch(/Error/);
    expect(child.stdout.trim().split('\n').pop()).toBe(`${sim.trace.hash} ${sim.trace.count}`);
    // The value this run had when it was recorded: a change means runs no longer replay
    // across versions or machines (update it only for an intended change to the simulator).
    expect(`${sim.trace.hash} ${sim.trace.count}`).toBe(GOLDEN);
  });
});
