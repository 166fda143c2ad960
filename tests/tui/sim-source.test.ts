import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseScenario } from '../../scenarios/load.ts';
import { buildScenarioSim } from '../../scenarios/runner.ts';
import { ClusterModel, SimSource, buildDashboardScenario, defaultScenario, formatDuration, speeds } from '../../tui/index.ts';

function session(seed: number, nodes = 5) {
  const base = defaultScenario(nodes, seed);
  const { built } = buildDashboardScenario({ base });
  const model = new ClusterModel();
  const source = new SimSource({ sim: built.sim, model, nodes: built.nodes, scenario: base, stepMs: 250 });
  return { source, model, sim: built.sim, hint: `seed ${seed}: reproduce with \`npx vitest run tests/tui/sim-source.test.ts\` (SimSource over defaultScenario(${nodes}, ${seed}))` };
}

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
    expect(source.actions).toEqual([{ atMs: 3_000.25, crash: 'n3' }]);
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
    expect(source.actions.map((a) => Object.keys(a)[1])).toEqual(['loss', 'loss', 'pause']);
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
    expect(written.duration).toBe(formatDuration(sim.nowMs));
    expect(written.faults[0]).toEqual({ at: '2000.25ms', crash: 'n4' });
    expect(written.faults[1]).toEqual({ at: '9500.25ms', partition: [['n1', 'n2'], ['n3', 'n4', 'n5']] });
    expect(written.faults.map((f) => Object.keys(f)[1])).toEqual(['crash', 'partition', 'pause', 'loss', 'heal', 'restart']);
    const replay = buildScenarioSim(parseScenario(yaml, 'session.yaml'));
    await replay.sim.runUntilAsync(parseScenario(yaml).duration, { exclusive: true });
    expect(replay.sim.trace.hash, hint).toBe(sim.trace.hash);
  });
});
