import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ScenarioError, parseScenario } from '../../scenarios/load.ts';
import { runScenario, startScenarioRun } from '../../scenarios/runner.ts';
import { ClusterModel, SimSource, buildDashboardScenario, defaultScenario, formatDuration, readScenarioFile, speeds } from '../../tui/index.ts';

function session(seed: number, nodes = 5) {
  const base = defaultScenario(nodes, seed);
  const { built, run } = buildDashboardScenario({ base });
  const model = new ClusterModel();
  const source = new SimSource({ sim: built.sim, run, model, scenario: base, stepMs: 250 });
  return { source, model, sim: built.sim, hint: `seed ${seed}: reproduce with \`npx vitest run tests/tui/sim-source.test.ts\` (SimSource over defaultScenario(${nodes}, ${seed}))` };
}

/** The dashboard over a scenario (its YAML), as `shoal tui --scenario` builds it. */
function scenarioSession(text: string, options: { savePath?: string } = {}) {
  const base = parse(text) as Record<string, unknown>;
  const { built, run } = buildDashboardScenario({ base });
  const model = new ClusterModel();
  const source = new SimSource({ sim: built.sim, run, model, scenario: base, ...options });
  const statuses = () => model.expectations!.results.map((r) => r.status);
  return { source, model, sim: built.sim, statuses };
}

const localCrash = readFileSync('scenarios/library/local-crash.yaml', 'utf8');
const localCrashHint = 'seed 1: reproduce with `npx shoal tui --scenario scenarios/library/local-crash.yaml`';

const until = async (condition: () => boolean, timeoutMs = 5_000) => {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe('SimSource', () => {
  it('shows a crashed member failed everywhere and records the crash with its simulated time', async () => {
    const { source, model, sim, hint } = session(11);
    await source.advance(3_000);
    expect(model.members().map((r) => r.state), hint).toEqual(['alive', 'alive', 'alive', 'alive', 'alive']);
    source.crash(['n3']);
    await source.idle();
    expect(model.status.message).toBe('crashed n3');
    await source.advance(20_000);
    const n3 = model.member('n3')!;
    expect(n3.condition, hint).toBe('down');
    expect(n3.state, hint).toBe('dead');
    expect(model.events({ kind: 'failed' }).some((e) => e.member === 'n3'), hint).toBe(true);
    expect(model.events({ kind: 'fault' }).map((e) => e.text)).toEqual(['crashed n3']);
    expect(source.actions).toEqual([{ kind: 'crash', at: 3_000.25, crash: 'n3' }]);
    expect(model.matrix({ columnsMax: 10, rowsMax: 10 }).disagreeingMembers, hint).toBe(0);
    expect(model.status.timeMs).toBe(sim.nowMs);
    source.crash(['n3']);
    await source.idle();
    expect(model.status.message).toMatch(/nothing selected is up/);
    source.restart(['n3']);
    await source.idle();
    expect(model.status.message).toBe('restarted n3');
    await source.advance(10_000);
    expect(model.member('n3')!.state, hint).toBe('alive');
  });

  it('partitions a group from the rest, shows the cut, and heals', async () => {
    const { source, model, hint } = session(12, 6);
    await source.advance(2_000);
    source.partition(['n1', 'n2']);
    await source.idle();
    expect(model.network!.partitions.length).toBeGreaterThan(0);
    await source.advance(30_000);
    const matrix = model.matrix({ columnsMax: 10, rowsMax: 10 });
    const n1Row = matrix.rows.find((r) => r.observer === 'n1')!;
    // n1 holds the far side failed or suspect, while the majority holds n1 so.
    expect(n1Row.cells[matrix.members.indexOf('n5')], hint).not.toBe('alive');
    expect(model.member('n1')!.state, hint).not.toBe('alive');
    source.heal();
    await source.idle();
    expect(model.network!.partitions).toEqual([]);
    await source.advance(60_000);
    expect(model.members().every((r) => r.state === 'alive'), hint).toBe(true);
    expect(model.matrix({ columnsMax: 10, rowsMax: 10 }).disagreeingMembers, hint).toBe(0);
  });

  it('pauses, steps, changes speed, and adds loss', async () => {
    const { source, model, sim } = session(13, 3);
    expect(source.togglePause()).toBe('simulation paused');
    expect(model.status.paused).toBe(true);
    await source.step();
    expect(sim.nowMs).toBe(250);
    expect(source.faster()).toBe('speed ×10');
    for (let i = 0; i < 10; i++) source.faster();
    expect(source.speed).toBe(Infinity);
    expect(model.status.speed).toBe('max');
    for (let i = 0; i < 10; i++) source.slower();
    expect(source.speed).toBe(speeds[0]);
    source.addLoss();
    source.addLoss();
    await source.idle();
    expect(sim.network.defaults.loss).toBe(0.1);
    expect(model.network!.loss).toBe(0.1);
    source.pauseMember(['n2']);
    await source.idle();
    expect(sim.isPaused('n2')).toBe(true);
    expect(model.member('n2')!.condition).toBe('paused');
    expect(source.actions.map((a) => a.kind)).toEqual(['loss', 'loss', 'pause']);
  });

  it('runs on real timers at the chosen speed and queues actions taken during a slice', async () => {
    const { source, sim } = session(14, 3);
    const s = new SimSource({ sim, model: new ClusterModel(), speed: Infinity, tickMs: 5, fastBudgetMs: 10 });
    s.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    s.stop();
    await s.idle();
    expect(sim.nowMs).toBeGreaterThan(1_000);
    expect(Number.isInteger(sim.nowMs)).toBe(true);
    source.stop();
  });

  it('stops for good when stopped in the middle of a slice (q while the run goes at full speed)', async () => {
    // A stop that landed while a slice was still running let the slice re-arm the timer:
    // the run went on and kept the process alive after the dashboard had quit.
    const { source, sim } = session(15, 3);
    const s = new SimSource({ sim, model: new ClusterModel(), speed: Infinity, tickMs: 1, fastBudgetMs: 40 });
    for (let attempt = 0; attempt < 5; attempt++) {
      s.start();
      await new Promise((resolve) => setTimeout(resolve, 20));
      s.stop();
      await s.idle();
      const stoppedAt = sim.nowMs;
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(sim.nowMs, `attempt ${attempt}`).toBe(stoppedAt);
    }
    source.stop();
  });

  it('reads the reported values of a scenario\'s apps into the model', async () => {
    const file = await readScenarioFile('tests/fixtures/apps/kv-partition.yaml');
    const { built, run } = buildDashboardScenario(file);
    const model = new ClusterModel();
    const source = new SimSource({ sim: built.sim, run, model });
    await source.advance(5_000);
    expect(model.member('n3')!.apps!.counter).toEqual({ ticks: 4 });
    expect(Number(model.member('n3')!.apps!.kv!.keys)).toBeGreaterThan(0);
    expect(model.member('client')!.apps).toEqual({ counter: { ticks: 4 } });
    source.crash(['n3']);
    await source.advance(2_000);
    // Down, it keeps the values it reported last.
    expect(model.member('n3')!.condition).toBe('down');
    expect(model.member('n3')!.apps!.counter).toEqual({ ticks: 5 });
  });

  it('saves a session that the scenario runner replays to the same trace', async () => {
    const { source, sim, hint } = session(15, 5);
    await source.advance(2_000);
    source.crash(['n4']);
    await source.advance(7_500);
    source.partition(['n1', 'n2']);
    await source.advance(4_321);
    source.pauseMember(['n5']);
    source.addLoss();
    await source.advance(6_000);
    source.heal();
    source.restart(['n4']);
    await source.advance(10_000);
    const yaml = source.scenarioYaml();
    const written = parse(yaml) as { faults: Record<string, unknown>[]; duration: string; seed: number };
    expect(written.seed).toBe(15);
    // Saved before the built-in scenario's end, the session keeps its duration.
    expect(written.duration).toBe(formatDuration(3_600_000));
    expect(written.faults[0]).toEqual({ at: '2000.25ms', crash: 'n4' });
    expect(written.faults[1]).toEqual({ at: '9500.25ms', partition: [['n1', 'n2'], ['n3', 'n4', 'n5']] });
    expect(written.faults.map((f) => Object.keys(f)[1])).toEqual(['crash', 'partition', 'pause', 'loss', 'heal', 'restart']);
    const replay = startScenarioRun(parseScenario(yaml, 'session.yaml'));
    await replay.advance(sim.nowMs);
    expect(replay.built.sim.trace.hash, hint).toBe(sim.trace.hash);
  });

  it('checks the expectations as the run goes, stops at the scenario\'s end with the runner\'s verdict, and runs on only when continued', async () => {
    const { source, model, sim, statuses } = scenarioSession(localCrash);
    expect(model.status).toMatchObject({ endMs: 18_000, phase: 'before-end' });
    await source.advance(2_000);
    expect(statuses(), localCrashHint).toEqual(['pending', 'pending', 'pending']);
    // n3 crashed at 3 s; by 9 s every live member has declared it failed, well within 10 s.
    await source.advance(7_000);
    expect(statuses(), localCrashHint).toEqual(['passed', 'pending', 'pending']);
    expect(model.expectations!.results[1]!.detail).toBe('so far: no running member was declared failed');
    await source.advance(60_000);
    expect(sim.nowMs).toBe(18_000);
    expect(source.phase).toBe('ended');
    expect(model.status.phase).toBe('ended');
    expect(model.expectations).toMatchObject({ final: true, checkedAtMs: 18_000 });
    const report = await runScenario(parseScenario(localCrash));
    expect(model.expectations!.results.map((r) => [r.name, r.status === 'passed', r.detail]), localCrashHint)
      .toEqual(report.expectations.map((r) => [r.name, r.ok, r.detail]));
    expect(model.status.message).toBe('scenario ended: PASS, 3/3 expectations passed · n continues past the end');
    expect(model.events({ kind: 'info' }).map((e) => e.text)).toContain('scenario ended at 18.0 s: PASS, 3/3 expectations passed');
    // Ended, nothing runs on: not the timers at full speed, not a key, not a fault.
    for (let i = 0; i < speeds.length; i++) source.faster();
    source.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sim.nowMs).toBe(18_000);
    expect(source.togglePause()).toBe('the scenario ended at 18.0 s: n continues past the end');
    source.crash(['n1']);
    await source.idle();
    expect(model.status.message).toBe('the scenario ended at 18.0 s: n continues past the end');
    expect(source.actions).toEqual([]);
    expect(source.continuePastEnd()).toBe('continuing past the scenario\'s end (its verdict stays as at 18.0 s)');
    await until(() => sim.nowMs > 20_000);
    source.stop();
    await source.idle();
    expect(model.status.phase).toBe('past-end');
    expect(model.expectations).toMatchObject({ final: true, checkedAtMs: 18_000 });
  });

  it('fails an expectation as soon as its window closes, before the end', async () => {
    const text = localCrash.replace('within: 10s', 'within: 100ms');
    const { source, model, statuses } = scenarioSession(text);
    await source.advance(2_000);
    expect(statuses()).toEqual(['pending', 'pending', 'pending']);
    expect(model.expectations!.results[0]!.detail).toBe('so far: n3 never crashed in this run');
    await source.advance(2_000);
    expect(statuses(), localCrashHint).toEqual(['failed', 'pending', 'pending']);
    expect(model.expectations!.final).toBe(false);
    expect(model.expectations!.results[0]!.detail).toMatch(/^crash at 3000 ms; 4\/4 did not see it failed in time/);
  });

  it('applies keyboard faults as the runner does, so a crash by key is no false failure, and saves a session whose replay checks the expectations', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shoal-tui-'));
    const savePath = relative(process.cwd(), join(dir, 'session.yaml'));
    try {
      const { source, model, sim, statuses } = scenarioSession(localCrash, { savePath });
      await source.advance(5_000);
      source.crash(['n2']);
      await source.advance(20_000);
      expect(source.phase).toBe('ended');
      // n2 crashed by key: the others declaring it failed is detection, not a false failure.
      expect(statuses(), localCrashHint).toEqual(['passed', 'passed', 'passed']);
      expect(source.save()).toBe(`saved 1 actions to ${join(dir, 'session.yaml')}`);
      expect(model.status.message).toBe(`saved 1 actions to ${join(dir, 'session.yaml')}`);
      const saved = readFileSync(join(dir, 'session.yaml'), 'utf8');
      const written = parse(saved) as { duration: string; expect: unknown[]; faults: unknown[] };
      expect(written.duration).toBe('18s');
      expect(written.expect).toEqual((parse(localCrash) as { expect: unknown[] }).expect);
      expect(written.faults).toEqual([{ at: '3s', crash: 'n3' }, { at: '5000.25ms', crash: 'n2' }]);
      const replay = await runScenario(parseScenario(saved));
      expect(replay.traceHash, localCrashHint).toBe(sim.trace.hash);
      expect(replay.expectations.map((r) => r.ok)).toEqual([true, true, true]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without a scenario run, offers no faults, no end and no expectations', async () => {
    const { sim } = session(16, 3);
    const model = new ClusterModel();
    const source = new SimSource({ sim, model });
    expect(source.capabilities.has('crash')).toBe(false);
    expect(source.crash(['n1'])).toBe('crash: unavailable (a bare simulation has no scenario runner to apply faults)');
    await source.advance(2_000);
    expect(sim.nowMs).toBe(2_000);
    expect(model.status.endMs).toBeUndefined();
    expect(model.expectations).toBeUndefined();
    source.stop();
  });

  it('says in one line that a scenario file is missing', async () => {
    const error = await readScenarioFile('no/such/scenario.yaml').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScenarioError);
    expect((error as Error).message).toBe('cannot read no/such/scenario.yaml: no such file');
  });
});
