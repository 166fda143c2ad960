import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../../scenarios/load.ts';
import { checkRealSupport, RealModeUnsupportedError, runScenarioReal } from '../../scenarios/real.ts';
import { runScenario } from '../../scenarios/runner.ts';

/**
 * "Simulated" must mean something: the same scenario run in the simulator and with real
 * `shoal node` processes on loopback (QUIC + encrypted gossip, real SIGKILL / SIGTERM /
 * SIGSTOP) must agree on the outcome of every expectation, though not on exact timings.
 */
const files = ['local-crash', 'local-leave', 'local-restart'].map((n) => `scenarios/library/${n}.yaml`);

describe('real and simulated runs agree', () => {
  it.each(files)('%s: every expectation has the same outcome in both modes', async (file) => {
    const scenario = loadScenarioFile(file);
    const reproduce = `npx shoal run ${file} --seed ${scenario.seed}`;
    const sim = await runScenario(scenario, { reproduce });
    const real = await runScenarioReal(scenario, { seed: scenario.seed, reproduce });
    const outcomes = (r: typeof sim) => r.expectations.map((e) => `${e.name}: ${e.ok ? 'pass' : 'fail'}`);
    expect(outcomes(real), `real: ${JSON.stringify(real.expectations)}\nsim: ${JSON.stringify(sim.expectations)}`).toEqual(outcomes(sim));
    expect(sim.ok, reproduce).toBe(true);
    expect(real.mode).toBe('real');
    expect(real.events).toBeGreaterThan(0);
  }, 120_000);

  it('refuses network faults it cannot apply on loopback, with a clear error', () => {
    const scenario = loadScenarioFile('scenarios/library/partition-heal.yaml');
    expect(() => checkRealSupport(scenario)).toThrow(RealModeUnsupportedError);
    expect(() => checkRealSupport(scenario)).toThrow(/partition.*network namespaces/);
  });
});
