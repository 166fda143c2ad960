import { afterEach, describe, expect, it } from 'vitest';
import { defineApp, defineService, unary, type AppNode } from '../../core/public.ts';
import {
  AppCheckError, checkApp, faultSchedule, faultStateAt, fc, replayVariable, type FaultSchedule,
} from '../../sim/testing.ts';

const file = 'tests/package/testing.test.ts';
const nodes = ['n1', 'n2', 'n3', 'n4'];
const chaosMs = 6_000;
const durationMs = 20_000;

const Ping = defineService('ping.v1', { ping: unary<{ from: string }, { name: string }>() });

/**
 * A small app: serves `ping`, and every 500 ms pings each member it believes alive,
 * reporting how many members it sees and when each peer last answered.
 */
const pinger = defineApp({
  name: 'pinger',
  services: [Ping],
  start(node: AppNode) {
    node.server.register(Ping, { ping: async () => ({ name: node.name }) });
    const round = () => {
      node.report('members', node.membership.liveMembers);
      for (const peer of node.membership.members()) {
        if (peer.name === node.name || peer.state !== 'alive') continue;
        node.client.service(Ping, peer.address).ping({ from: node.name }, { timeoutMs: 400 })
          .then(({ name }) => node.report(`answered:${name}`, node.clock.now()), () => undefined);
      }
      node.clock.setTimer(500, round);
    };
    round();
  },
});

describe('shoal/testing: fault schedules', () => {
  it('generates windows within the chaos phase, over the given nodes, sparing keepUp', () => {
    const arbitrary = faultSchedule({ nodes, durationMs: chaosMs, keepUp: ['n1'], windowsMax: 6 });
    fc.assert(fc.property(arbitrary, (schedule) => {
      expect(schedule.length).toBeLessThanOrEqual(6);
      for (const w of schedule) {
        expect(w.fromMs).toBeGreaterThanOrEqual(0);
        expect(w.toMs).toBeLessThanOrEqual(chaosMs);
        expect(w.toMs - w.fromMs).toBeGreaterThanOrEqual(100);
        if (w.kind === 'crash') expect(['n2', 'n3', 'n4']).toContain(w.node);
        if (w.kind === 'partition') {
          expect(w.groups.every((g) => g.length > 0)).toBe(true);
          expect([...w.groups.flat()].sort()).toEqual(nodes);
        }
        if (w.kind === 'loss') expect(w.loss).toBeGreaterThan(0);
        if (w.kind === 'loss') expect(w.loss).toBeLessThanOrEqual(0.3);
      }
      expect(schedule.map((w) => w.fromMs)).toEqual([...schedule.map((w) => w.fromMs)].sort((a, b) => a - b));
    }), { numRuns: 300 });
  });

  it('holds a window over [from, to), and overlapping windows add up', () => {
    const schedule: FaultSchedule = [
      { kind: 'crash', node: 'n2', fromMs: 100, toMs: 300 },
      { kind: 'crash', node: 'n2', fromMs: 200, toMs: 400 },
      { kind: 'loss', loss: 0.1, fromMs: 0, toMs: 250 },
      { kind: 'loss', loss: 0.2, fromMs: 150, toMs: 200 },
      { kind: 'partition', groups: [['n1'], ['n2', 'n3']], fromMs: 50, toMs: 150 },
    ];
    const at = (t: number) => {
      const s = faultStateAt(schedule, t);
      return { down: [...s.down], partitions: s.partitions.length, loss: s.loss };
    };
    expect(at(0)).toEqual({ down: [], partitions: 0, loss: 0.1 });
    expect(at(50)).toEqual({ down: [], partitions: 1, loss: 0.1 });
    expect(at(150)).toEqual({ down: ['n2'], partitions: 0, loss: 0.2 });
    expect(at(300)).toEqual({ down: ['n2'], partitions: 0, loss: undefined });
    expect(at(400)).toEqual({ down: [], partitions: 0, loss: undefined });
  });
});

describe('shoal/testing: checkApp', () => {
  afterEach(() => {
    delete process.env[replayVariable];
  });

  it('after any of 100 generated fault schedules, every member sees the others and RPC reaches each of them again', async () => {
    let runs = 0;
    await fc.assert(fc.asyncProperty(faultSchedule({ nodes, durationMs: chaosMs }), fc.nat({ max: 1_000_000 }), async (schedule, seed) => {
      runs++;
      await checkApp({
        app: pinger, nodes, schedule, seed, durationMs, command: `npx vitest run ${file}`,
        property: (run) => {
          for (const n of run.nodes) {
            const values = run.reported(n);
            expect(values.get('members'), n).toBe(nodes.length);
            for (const peer of nodes.filter((p) => p !== n)) expect(values.get(`answered:${peer}`), `${n} → ${peer}`).toBeGreaterThan(durationMs - 2_000);
          }
        },
      });
    }), { numRuns: 100 });
    expect(runs).toBe(100);
  });

  it('control: checked right at the end of the chaos phase, the same property fails for some schedule', async () => {
    const details = await fc.check(fc.asyncProperty(faultSchedule({ nodes, durationMs: chaosMs, kinds: ['crash'] }), fc.nat(), async (schedule, seed) => {
      await checkApp({
        app: pinger, nodes, schedule, seed, durationMs: chaosMs,
        property: (run) => run.nodes.every((n) => run.reported(n).get('members') === nodes.length),
      });
    }), { numRuns: 100, endOnFailure: true });
    expect(details.failed).toBe(true);
    expect(String(details.errorInstance)).toMatch(/AppCheckError: checkApp pinger: property returned false at 6000 ms/);
  });

  it('runs the same seed and schedule to the same trace', async () => {
    const schedule: FaultSchedule = [{ kind: 'partition', groups: [['n1', 'n2'], ['n3', 'n4']], fromMs: 1_000, toMs: 4_000 }];
    const hash = async (seed: number) => (await checkApp({ app: pinger, nodes, schedule, seed, durationMs: 8_000, property: () => true })).sim.trace.hash;
    const first = await hash(5);
    expect(await hash(5)).toBe(first);
    expect(await hash(6)).not.toBe(first);
  });

  it('a failing property names the seed, the faults and a command that replays exactly that run', async () => {
    const schedule: FaultSchedule = [{ kind: 'crash', node: 'n3', fromMs: 1_000, toMs: 9_000 }];
    // Wrong on purpose: a crashed member is missing from the others' views for a while.
    const neverFewer = (run: { reports: readonly { key: string; value: unknown }[] }) =>
      run.reports.filter((r) => r.key === 'members').every((r) => r.value === nodes.length || r.value === 1);
    const options = { app: pinger, nodes, durationMs: 12_000, command: `npx vitest run ${file}`, property: neverFewer };
    const error = await checkApp({ ...options, schedule, seed: 42 }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(AppCheckError);
    const message = (error as AppCheckError).message;
    expect(message).toContain('checkApp pinger: property returned false at 12000 ms');
    expect(message).toContain('seed 42, faults: crash n3 1000..9000ms');
    const line = message.split('\n').find((l) => l.includes('reproduce: '))!;
    const replay = /^ {2}reproduce: SHOAL_CHECK='(.+)' npx vitest run tests\/package\/testing\.test\.ts$/.exec(line);
    expect(replay, line).not.toBeNull();

    // The printed line replays the run: with SHOAL_CHECK set, a check given another seed and no faults fails the same way.
    process.env[replayVariable] = replay![1]!;
    const replayed = await checkApp({ ...options, schedule: [], seed: 1 }).then(() => undefined, (e: unknown) => e);
    expect((replayed as Error).message).toBe(message);
    delete process.env[replayVariable];
    await expect(checkApp({ ...options, schedule: [], seed: 1 })).resolves.toBeDefined();
  });

  it('a run that throws is reported with its seed too, and bad input is refused before running', async () => {
    const crashing = defineApp({ name: 'crashing', services: [], start: (node) => node.clock.setTimer(1_000, () => { throw new Error('boom'); }) });
    await expect(checkApp({ app: crashing, nodes: 2, schedule: [], seed: 9, durationMs: 2_000, property: () => true }))
      .rejects.toThrow(/checkApp crashing: the run threw: .*boom[\s\S]*seed 9, faults: none/);
    await expect(checkApp({ app: pinger, nodes: 2, schedule: [{ kind: 'crash', node: 'n9', fromMs: 0, toMs: 10 }], seed: 1, durationMs: 100, property: () => true }))
      .rejects.toThrow(/node "n9", which is not one of n1, n2/);
  });
});
