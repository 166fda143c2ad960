import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../core/errors.ts';
import { loadScenarioApps, scenarioApps, type ScenarioApps } from '../../scenarios/apps.ts';
import { checkScenarioDeterminism } from '../../scenarios/determinism.ts';
import { loadScenarioFile, parseScenario } from '../../scenarios/load.ts';
import { formatReport } from '../../scenarios/report.ts';
import { runScenario } from '../../scenarios/runner.ts';

const fixtures = 'tests/fixtures/apps';
const kvFile = `${fixtures}/kv-partition.yaml`;
const dir = mkdtempSync(join(tmpdir(), 'shoal-apps-'));
const shoal = (...args: string[]) => spawnSync(process.execPath, ['bin/shoal.js', ...args], { encoding: 'utf8', timeout: 120_000 });
const hint = (file: string, seed: number) => `reproduce with \`npx shoal run ${file} --seed ${seed}\``;

/** A scenario of three members running one app module (an absolute path), written to a temporary file. */
function scenarioWithApp(name: string, module: string, extra = ''): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\nduration: 5s\ncluster:\n  size: 3\n  apps:\n    - module: ${resolve(fixtures, module)}\n${extra}`);
  return file;
}

describe('apps in scenarios', () => {
  it('runs a user app under a partition: the workload calls its methods with bodies from its generator, reported values show in the report', async () => {
    const scenario = loadScenarioFile(kvFile);
    const apps = await loadScenarioApps(scenario, kvFile);
    const report = await runScenario(scenario, { apps });
    const why = hint(kvFile, scenario.seed);
    expect(report.expectations.filter((e) => !e.ok), why).toEqual([]);
    // The generator picks the method: every fourth call is a get.
    const put = report.rpc!.byMethod!['kv.v1/put']!;
    const get = report.rpc!.byMethod!['kv.v1/get']!;
    expect(put.issued + get.issued).toBe(report.rpc!.issued);
    expect(get.issued, why).toBeGreaterThan(report.rpc!.issued / 5);
    expect(get.issued, why).toBeLessThan(report.rpc!.issued / 3);
    const values = report.apps!;
    const kvMembers = ['n1', 'n2', 'n3', 'n4', 'n5'];
    // Calls went only to the members the app is placed on (role=kv), and each was a real put of the generator's keys k0..k7.
    const served = kvMembers.reduce((sum, n) => sum + Number(values[n]!.kv!.puts ?? 0), 0);
    expect(served, why).toBeGreaterThanOrEqual(put.succeeded);
    expect(values.client!.kv).toBeUndefined();
    for (const n of kvMembers) {
      expect(values[n]!.kv!.keys, `${n} ${why}`).toBe(8);
      // Gossip carried the other members' puts too.
      expect(Number(values[n]!.kv!.applied), `${n} ${why}`).toBeGreaterThan(Number(values[n]!.kv!.puts ?? 0));
    }
    // The .mjs app runs on every member, the workload's client included, for the whole run.
    for (const n of [...kvMembers, 'client']) expect(values[n]!.counter!.ticks, n).toBe(29);
    const text = formatReport(report);
    expect(text).toContain('kv.v1/get: ');
    expect(text).toMatch(/n3: kv keys=8 .*; counter ticks=29/);
  });

  it('fails a call whose handler throws and keeps the member serving', async () => {
    const scenario = loadScenarioFile(kvFile);
    const loaded = await loadScenarioApps(scenario, kvFile);
    // Every fifth put has an empty key, which the app's handler refuses by throwing a plain Error.
    const apps: ScenarioApps = {
      placements: loaded.placements.map((p) => (p.module.app.name !== 'kv' ? p : {
        ...p, module: { ...p.module, workload: (_random, i) => ({ key: i % 5 === 4 ? '' : `k${i % 3}`, value: i }) },
      })),
    };
    // No retries: a retried failure also counts against the members' circuit breakers, which is the client's policy, not the app's.
    const report = await runScenario({ ...scenario, faults: [], workload: { ...scenario.workload!, retries: 0 } }, { apps });
    const put = report.rpc!.byMethod!['kv.v1/put']!;
    // A plain exception reaches the caller as UNKNOWN (docs/PROTOCOL.md: "handler throws anything else").
    expect(put.failed.UNKNOWN).toBe(Math.floor(put.issued / 5));
    // Every other call succeeds, but the one issued at t=0, before the client knew any member.
    expect(put.failed.UNAVAILABLE ?? 0).toBeLessThanOrEqual(1);
    expect(put.succeeded).toBe(put.issued - put.failed.UNKNOWN! - (put.failed.UNAVAILABLE ?? 0));
    expect(report.membership.events.failed ?? 0).toBe(0);
    for (const n of ['n1', 'n2', 'n3', 'n4', 'n5']) expect(report.apps![n]!.kv!.keys).toBe(3);
  });

  it('keeps old scenarios: services or a compute workload place the director/worker example on every member', () => {
    const withService = parseScenario('name: s\nduration: 1s\ncluster: { size: 2, services: [director-worker] }\n');
    expect(scenarioApps(withService).placements.map((p) => [p.module.app.name, p.on])).toEqual([['director-worker', '']]);
    const withCompute = parseScenario('name: s\nduration: 1s\ncluster: { size: 2 }\nworkload: { rate: 1, method: tokens }\n');
    expect(scenarioApps(withCompute).placements.map((p) => p.module.app.name)).toEqual(['director-worker']);
    expect(scenarioApps(parseScenario('name: s\nduration: 1s\ncluster: { size: 2 }\n')).placements).toEqual([]);
    const withApps = parseScenario('name: s\nduration: 1s\ncluster: { size: 2, apps: [{ module: ./x.ts }] }\n');
    expect(() => scenarioApps(withApps)).toThrow(/load them with loadScenarioApps/);
  });

  it('refuses a workload method no placed app serves, naming what is served', async () => {
    const file = scenarioWithApp('unserved', 'kv.ts', 'workload: { rate: 5, method: kv.v1/delete }\n');
    await expect(loadScenarioApps(loadScenarioFile(file), file)).rejects.toThrow(InvalidArgumentError);
    await expect(loadScenarioApps(loadScenarioFile(file), file)).rejects.toThrow('workload.method kv.v1/delete: no app of the scenario serves it (served: kv.v1)');
  });
});

describe('app errors are bad input: one line naming the module, exit 2', () => {
  const cases: [string, string, RegExp][] = [
    ['missing', 'no-such-app.ts', /no-such-app\.ts: cannot load the app: no such file/],
    ['not-an-app', 'not-an-app.ts', /not-an-app\.ts: the default export is not an app/],
    ['throws-on-start', 'throws-on-start.ts', /throws-on-start\.ts: app throws-on-start failed to start on n1: cannot open the data directory/],
  ];
  it.each(cases)('%s', (name, module, message) => {
    const r = shoal('run', scenarioWithApp(name, module));
    expect(r.status, r.stderr).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^shoal run: cluster\.apps\[0\] /);
    expect(lines[0]).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('a configuration the app refuses', () => {
    const bad = shoal('run', scenarioWithApp('bad-config', 'kv.ts', '      config: { replicate: 3 }\n'));
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^shoal run: cluster\.apps\[0\] \S*kv\.ts: app kv: config refused: replicate must be true or false, got 3$/);
  });
});

describe('shoal run --check-determinism', () => {
  it('names the first diverging event of an app that reads the wall clock and Math.random, exit 1', () => {
    const r = shoal('run', `${fixtures}/wall-clock.yaml`, '--check-determinism');
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^NOT DETERMINISTIC: wall-clock seed 1: trace hashes [0-9a-f]{16} and [0-9a-f]{16} differ/);
    expect(r.stdout).toMatch(/first diverging event, trace entry #\d+:\n {4}run 1: t=\d+\.\d{3} ms n\d \w+.*\n {4}run 2: t=\d+\.\d{3} ms n\d \w+/);
    expect(r.stdout).toContain(`reproduce: npx shoal run ${fixtures}/wall-clock.yaml --seed 1 --check-determinism`);
  });

  it('passes a deterministic app, with the hash a plain run reports, exit 0', () => {
    const r = shoal('run', kvFile, '--check-determinism');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const plain = JSON.parse(shoal('run', kvFile, '--json').stdout) as { traceHash: string };
    expect(r.stdout.trim()).toMatch(new RegExp(`^deterministic \\(hash ${plain.traceHash}, \\d+ events\\): kv-partition seed 7 ran twice with the same trace$`));
  });

  it('the director/worker example app runs to the same trace twice', async () => {
    const file = 'scenarios/library/director-worker-failover.yaml';
    const scenario = loadScenarioFile(file);
    const apps = await loadScenarioApps(scenario, file);
    const check = await checkScenarioDeterminism(scenario, { apps, seed: 3 });
    expect(check.deterministic, hint(file, 3)).toBe(true);
    expect(check.divergence).toBeUndefined();
    const run = await runScenario(scenario, { apps, seed: 3 });
    expect(check.hashes).toEqual([run.traceHash, run.traceHash]);
    expect(check.events).toEqual([run.events, run.events]);
  });
});

describe('other commands load the apps', () => {
  it('sweep runs an app scenario in worker threads; replay reproduces its trace', () => {
    const sweep = shoal('sweep', kvFile, '--seeds', '7..8', '--jobs', '2', '--json');
    expect(sweep.status, sweep.stdout + sweep.stderr).toBe(0);
    expect(JSON.parse(sweep.stdout)).toMatchObject({ seeds: 2, passed: 2 });
    const trace = join(dir, 'kv.jsonl');
    expect(shoal('run', kvFile, '--trace', trace).status).toBe(0);
    const replay = shoal('replay', trace, '--json');
    expect(replay.status, replay.stderr).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({ reproduced: true });
  });

  it('sweep refuses an app that cannot load before starting workers', () => {
    const r = shoal('sweep', scenarioWithApp('sweep-missing', 'no-such-app.ts'), '--seeds', '1..2');
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^shoal sweep: cluster\.apps\[0\] \S*no-such-app\.ts: cannot load the app: no such file$/);
  });
});
