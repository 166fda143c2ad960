import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadScenarioApps, loadScenarioFile, parseScenario, runScenario, type Scenario } from '../../sim/public.ts';
import { shrink } from '../../scenarios/shrink.ts';

/**
 * The store's scenario (scenarios/library/kv-partition.yaml) and its `fast` twin
 * (examples/kv/fast.yaml), as docs/GUIDE.md chapter 2 runs them: abd passes, fast fails
 * on the seed the guide shows, and the evidence names the reads that went back in time.
 */
const abdFile = 'scenarios/library/kv-partition.yaml';
const fastFile = 'examples/kv/fast.yaml';
/** The seed docs/GUIDE.md shows failing in fast mode, and shrinks. */
const fastFailingSeed = 87;

async function run(file: string, seed: number) {
  const scenario = loadScenarioFile(file);
  const apps = await loadScenarioApps(scenario, file);
  return runScenario(scenario, { apps, seed, reproduce: `npx shoal run ${file} --seed ${seed}` });
}

/** What the two files must share: everything but their names, descriptions, module paths and mode. */
function comparable(scenario: Scenario) {
  const { name: _name, description: _description, cluster, ...rest } = scenario;
  const apps = cluster.apps.map(({ module: _module, config, ...app }) => ({ ...app, config: { ...(config as object), mode: undefined } }));
  return { ...rest, cluster: { ...cluster, apps } };
}

describe('examples/kv: the kv-partition scenario', () => {
  it('fast.yaml is kv-partition.yaml with mode fast and nothing else changed', () => {
    const abd = loadScenarioFile(abdFile);
    const fast = loadScenarioFile(fastFile);
    expect(abd.cluster.apps[0]?.config).toMatchObject({ mode: 'abd' });
    expect(fast.cluster.apps[0]?.config).toMatchObject({ mode: 'fast' });
    expect(comparable(fast)).toEqual(comparable(abd));
  });

  it('docs/GUIDE.md shows the library scenario as it is', () => {
    const blocks = [...readFileSync('docs/GUIDE.md', 'utf8').matchAll(/```yaml\n(name: kv-partition\n[^]*?)```/g)].map((m) => m[1]!);
    expect(blocks).toHaveLength(1);
    const shown = parseScenario(blocks[0]!);
    expect(comparable(shown)).toEqual(comparable(loadScenarioFile(abdFile)));
    expect(shown.cluster.apps[0]?.config).toEqual(loadScenarioFile(abdFile).cluster.apps[0]?.config);
  });

  it(`fast mode fails the linearizability check at seed ${fastFailingSeed}, naming the reads; abd passes there`, async () => {
    const fast = await run(fastFile, fastFailingSeed);
    const verdict = fast.expectations.find((e) => e.name.includes('linearizable'));
    expect(verdict?.ok).toBe(false);
    expect(verdict?.detail).toMatch(/NOT linearizable on key "k\d"/);
    // The evidence: two reads of the key, the later one returning a value older than the earlier one's.
    expect(verdict?.evidence?.filter((line) => /read "k\d" saw "v\d+"/.test(line)).length).toBeGreaterThanOrEqual(2);
    const abd = await run(abdFile, fastFailingSeed);
    expect(abd.expectations.map((e) => [e.name, e.ok, e.detail])).toEqual([[expect.stringContaining('linearizable'), true, expect.any(String)]]);
  }, 60_000);

  it('shrink keeps a linearizability failure only with its evidence (seed 92 fails before any fault; cut to 1.9 s its history has no operation)', async () => {
    const scenario = loadScenarioFile(fastFile);
    const apps = await loadScenarioApps(scenario, fastFile);
    const result = await shrink(scenario, 92, { apps });
    expect(result.scenario.faults).toEqual([]);
    const shrunk = await runScenario(result.scenario, { apps, seed: 92 });
    const verdict = shrunk.expectations.find((e) => e.name.includes('linearizable'));
    expect(verdict?.ok).toBe(false);
    expect(verdict?.detail).toMatch(/NOT linearizable on key "k\d"/);
    expect(verdict?.evidence?.length).toBeGreaterThan(0);
  }, 60_000);
});
