import { describe, expect, it } from 'vitest';
import { stateOf, withSeed, world } from './helpers.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import { Prober } from '../../core/swim/probe.ts';
import { Swim } from '../../core/swim/swim.ts';

const file = 'tests/swim/cluster.test.ts';

describe('SWIM in the simulator', () => {
  it('50 members join through one seed and converge', () => {
    const w = world(101, 50);
    withSeed(w, file, () => {
      w.sim.runUntil(15_000);
      for (const n of w.cluster.nodes()) {
        expect(n.liveMembers, `${n.name} sees ${n.liveMembers}`).toBe(50);
        expect(n.members().every((m) => m.state === 'alive')).toBe(true);
      }
      expect(w.events.filter((e) => e.type === 'failed' || e.type === 'suspect')).toEqual([]);
      // Phi becomes available once acks arrived.
      const n0 = w.node('n0');
      expect(n0.members().some((m) => m.name !== 'n0' && m.phi > 0)).toBe(true);
    });
  });

  it('a crashed member is declared failed by every live member', () => {
    const w = world(102, 20);
    withSeed(w, file, () => {
      w.sim.runUntil(10_000);
      w.sim.crash('n5');
      w.sim.runUntil(60_000);
      const live = w.cluster.names.filter((n) => n !== 'n5');
      for (const n of live) expect(stateOf(w, n, 'n5'), n).toBe('dead');
      const failedSeenBy = new Set(w.events.filter((e) => e.type === 'failed' && e.name === 'n5').map((e) => e.host));
      expect([...failedSeenBy].sort()).toEqual([...live].sort());
      // No one else was declared failed.
      expect(w.events.filter((e) => e.type === 'failed' && e.name !== 'n5')).toEqual([]);
    });
  });

  it('a member that was only slow or briefly cut off refutes and stays alive', () => {
    const w = world(103, 20);
    withSeed(w, file, () => {
      w.sim.runUntil(10_000);
      w.sim.pauseFor('n3', 3_000);
      w.sim.at(20_000, () => w.sim.isolate('n4'));
      w.sim.at(23_000, () => w.sim.repair());
      w.sim.runUntil(60_000);
      expect(w.events.filter((e) => e.type === 'suspect' && (e.name === 'n3' || e.name === 'n4')).length).toBeGreaterThan(0);
      expect(w.events.filter((e) => e.type === 'failed')).toEqual([]);
      expect(w.node('n3').stats.refutations + w.node('n4').stats.refutations).toBeGreaterThan(0);
      for (const n of w.cluster.names) expect(w.node(n).liveMembers, n).toBe(20);
    });
  });

  it('a partition into two halves is detected on both sides and heals into one view', () => {
    const w = world(104, 20);
    const a = w.cluster.names.slice(0, 10);
    const b = w.cluster.names.slice(10);
    withSeed(w, file, () => {
      w.sim.runUntil(10_000);
      w.sim.partition(a, b);
      w.sim.runUntil(45_000);
      for (const x of a) expect(w.node(x).liveMembers, x).toBe(10);
      for (const y of b) expect(w.node(y).liveMembers, y).toBe(10);
      const detectedBy = new Set(w.events.filter((e) => e.type === 'partition-detected').map((e) => e.host));
      expect(a.some((x) => detectedBy.has(x))).toBe(true);
      expect(b.some((y) => detectedBy.has(y))).toBe(true);
      w.sim.repair();
      w.sim.runUntil(120_000);
      for (const n of w.cluster.names) expect(w.node(n).liveMembers, n).toBe(20);
      expect(w.events.some((e) => e.type === 'partition-healed')).toBe(true);
    });
  });

  it('a restarted member rejoins with a higher incarnation', () => {
    const w = world(105, 10);
    withSeed(w, file, () => {
      w.sim.runUntil(5_000);
      w.sim.crash('n2');
      w.sim.runUntil(40_000);
      const before = w.node('n0').member('n2')!;
      expect(before.state).toBe('dead');
      w.sim.restart('n2');
      w.sim.runUntil(70_000);
      for (const n of w.cluster.names) {
        const seen = w.node(n).member('n2')!;
        expect(seen.state, n).toBe('alive');
        expect(seen.incarnation, n).toBeGreaterThan(before.incarnation);
        expect(w.node(n).liveMembers, n).toBe(10);
      }
    });
  });

  it('a graceful leave is reported as left, never as a failure', () => {
    const w = world(106, 10);
    withSeed(w, file, () => {
      w.sim.runUntil(10_000);
      w.node('n3').leave();
      w.sim.runUntil(12_000);
      w.sim.crash('n3');
      w.sim.runUntil(50_000);
      for (const n of w.cluster.names) if (n !== 'n3') expect(stateOf(w, n, 'n3'), n).toBe('left');
      expect(w.events.filter((e) => e.type === 'failed' || e.type === 'suspect')).toEqual([]);
      expect(w.events.filter((e) => e.type === 'left' && e.name === 'n3').length).toBe(9);
    });
  });

  it('tags are gossiped and updates raise the incarnation', () => {
    const w = world(107, 10);
    withSeed(w, file, () => {
      w.sim.runUntil(5_000);
      const before = w.node('n4').incarnation;
      w.node('n4').setTags({ role: 'worker', zone: 'b' });
      w.sim.runUntil(10_000);
      expect(w.node('n4').incarnation).toBe(before + 1);
      for (const n of w.cluster.names) expect(w.node(n).member('n4')!.tags, n).toEqual({ role: 'worker', zone: 'b' });
      expect(w.events.filter((e) => e.type === 'updated' && e.name === 'n4').length).toBe(9);
    });
  });

  it('tags too large to gossip are refused and the old tags kept; a caller\'s tags object is copied', () => {
    const w = world(109, 4);
    withSeed(w, file, () => {
      w.sim.runUntil(5_000);
      const n1 = w.node('n1');
      const tags: Record<string, string> = { role: 'db' };
      n1.setTags(tags);
      tags.role = 'changed behind its back';
      const incarnation = n1.incarnation;
      expect(() => n1.setTags({ big: 'x'.repeat(600) })).toThrow(InvalidArgumentError);
      expect(n1.incarnation).toBe(incarnation);
      expect(n1.member('n1')!.tags).toEqual({ role: 'db' });
      w.sim.runUntil(10_000);
      for (const n of w.cluster.names) expect(w.node(n).member('n1')!.tags, n).toEqual({ role: 'db' });
    });
  });

  it('dead members are reaped after deadReapMs', () => {
    const w = world(108, 8, { deadReapMs: 20_000 });
    withSeed(w, file, () => {
      w.sim.runUntil(5_000);
      w.sim.crash('n6');
      w.sim.runUntil(30_000);
      expect(stateOf(w, 'n0', 'n6')).toBe('dead');
      w.sim.runUntil(70_000);
      for (const n of w.cluster.names) if (n !== 'n6') expect(w.node(n).member('n6'), n).toBeUndefined();
    });
  });

  it('spends no wake-up on an acked probe\'s timeout, and dead-probes only while a member is dead, at probe periods', () => {
    const w = world(107, 10, { deadReapMs: 20_000 });
    const expired = new Map<string, number>();
    const proto = Swim.prototype as unknown as { onTimer(key: string, now: number): void };
    const onTimer = proto.onTimer;
    proto.onTimer = function (key: string, now: number): void {
      expired.set(key, (expired.get(key) ?? 0) + 1);
      onTimer.call(this, key, now);
    };
    const deadProbes: number[] = [];
    const deadProbe = Prober.prototype.deadProbe;
    Prober.prototype.deadProbe = function (nowMs: number): void {
      deadProbes.push(w.sim.nowMs);
      deadProbe.call(this, nowMs);
    };
    try {
      withSeed(w, file, () => {
        w.sim.runUntil(20_000);
        // Lossless and fast: every probe is acked within its timeout, and no member is dead.
        expect(expired.get('probe')).toBeGreaterThan(100);
        expect(expired.get('probeTimeout') ?? 0).toBe(0);
        expect(deadProbes).toEqual([]);
        w.sim.crash('n3');
        w.sim.runUntil(32_000);
        const live = w.cluster.names.filter((n) => n !== 'n3');
        for (const n of live) expect(stateOf(w, n, 'n3'), n).toBe('dead');
        expect(expired.get('probeTimeout')).toBeGreaterThan(0);
        const before = deadProbes.length;
        w.sim.runUntil(42_000);
        // Every 2 s (the default interval) at each of the 9, give or take a period at the ends.
        expect(deadProbes.length - before).toBeGreaterThanOrEqual(live.length * 4);
        expect(deadProbes.length - before).toBeLessThanOrEqual(live.length * 6);
        // Reaped (20 s after it was declared dead): nothing left to probe.
        w.sim.runUntil(60_000);
        for (const n of live) expect(w.node(n).member('n3'), n).toBeUndefined();
        const after = deadProbes.length;
        w.sim.runUntil(80_000);
        expect(deadProbes.length).toBe(after);
      });
    } finally {
      proto.onTimer = onTimer;
      Prober.prototype.deadProbe = deadProbe;
    }
  });

  it('the same seed gives the same trace', () => {
    const run = () => {
      const w = world(109, 12, undefined, { trace: { capacity: 0 } });
      w.sim.runUntil(5_000);
      w.sim.crash('n1');
      w.sim.runUntil(30_000);
      return w.sim.trace.hash;
    };
    expect(run()).toBe(run());
  });
});
