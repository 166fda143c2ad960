import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../../scenarios/load.ts';
import { loadScenarioApps } from '../../scenarios/apps.ts';
import { runScenario } from '../../scenarios/runner.ts';

const dir = 'scenarios/library';
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

/** Every scenario of the library is a regression test: its expectations hold at its seed. */
describe('scenario library', () => {
  it('has the classic stories', () => {
    for (const name of ['crash-detection', 'partition-heal', 'oneway-partition', 'flapping-loss', 'slow-member-lifeguard', 'slow-member-classic', 'rolling-restart', 'split-brain-quorum', 'clock-skew', 'graceful-leave']) {
      expect(files).toContain(`${name}.yaml`);
    }
  });

  it.each(files)('%s passes at its seed', async (file) => {
    const scenario = loadScenarioFile(`${dir}/${file}`);
    const apps = await loadScenarioApps(scenario, `${dir}/${file}`);
    const report = await runScenario(scenario, { apps, reproduce: `npx shoal run ${dir}/${file} --seed ${scenario.seed}` });
    const failed = report.expectations.filter((e) => !e.ok).map((e) => `${e.name}: ${e.detail}`);
    expect(failed, `${report.reproduce}`).toEqual([]);
    expect(report.expectations.length).toBeGreaterThan(0);
  });

  it('reports what a run measured, reproducibly', async () => {
    const scenario = loadScenarioFile(`${dir}/crash-detection.yaml`);
    const a = await runScenario(scenario, { seed: 7 });
    const b = await runScenario(scenario, { seed: 7 });
    const c = await runScenario(scenario, { seed: 8 });
    expect(a.traceHash).toBe(b.traceHash);
    expect(a.traceHash).not.toBe(c.traceHash);
    expect(a).toMatchObject({ scenario: 'crash-detection', seed: 7, mode: 'sim', simulatedMs: 40_000 });
    const detection = a.membership.detection[0]!;
    expect(detection.node).toBe('n5');
    // SWIM: first detection ≈ 1.58 probe periods plus the probe timeout, then the suspicion timeout (≥ 4 s for LAN, n = 8).
    expect(detection.firstMs).toBeGreaterThan(4_000);
    expect(detection.allMs).toBeLessThan(15_000);
  });

  it('fails an expectation that cannot hold, with evidence', async () => {
    const scenario = loadScenarioFile(`${dir}/crash-detection.yaml`);
    const strict = { ...scenario, expect: [{ kind: 'failed-within' as const, 'failed-within': { node: 'n5', within: 500 } }] };
    const report = await runScenario(strict);
    expect(report.ok).toBe(false);
    expect(report.expectations[0]!.detail).toMatch(/did not see it failed in time/);
  });
});
