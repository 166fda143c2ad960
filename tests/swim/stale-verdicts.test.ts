import { describe, expect, it } from 'vitest';
import { stateOf, withSeed, world } from './helpers.ts';

/**
 * The mechanisms that answer stale verdicts and bring the two sides of a healed cut
 * together without waiting for push-pull. Push-pull is switched off (interval 0) where it
 * would otherwise be what heals, so each test exercises the mechanism it names.
 */
const file = 'tests/swim/stale-verdicts.test.ts';

function views(w: ReturnType<typeof world>): string[] {
  const wrong: string[] = [];
  for (const o of w.cluster.names) {
    for (const m of w.cluster.names) {
      const state = stateOf(w, o, m);
      if (o !== m && state !== 'alive') wrong.push(`${o} sees ${m} ${state}`);
    }
  }
  return wrong;
}

describe('stale verdicts', () => {
  it('the two sides of a healed partition, each holding the other dead, merge within a few dead-probe periods (push-pull off)', () => {
    for (const seed of [201, 202, 203]) {
      // Dead members are probed until reaped; a long reap time keeps every one of them.
      const w = world(seed, 8, { preset: 'local', pushPullIntervalMs: 0, deadReapMs: 120_000 });
      const a = w.cluster.names.slice(0, 4);
      const b = w.cluster.names.slice(4);
      withSeed(w, file, () => {
        w.sim.runUntil(5_000);
        expect(views(w)).toEqual([]);
        w.sim.partition(a, b);
        w.sim.runUntil(45_000);
        for (const x of a) for (const y of b) expect(stateOf(w, x, y), `${x} sees ${y}`).toBe('dead');
        w.sim.repair();
        w.sim.runUntil(45_000 + 4 * 2_000);
        expect(views(w)).toEqual([]);
      });
    }
  });

  it('without dead probes (and without push-pull) the same heal never merges: the test above is not vacuous', () => {
    const w = world(201, 8, { preset: 'local', pushPullIntervalMs: 0, deadProbeIntervalMs: 0, deadReapMs: 120_000 });
    const a = w.cluster.names.slice(0, 4);
    withSeed(w, file, () => {
      w.sim.runUntil(5_000);
      w.sim.partition(a, w.cluster.names.slice(4));
      w.sim.runUntil(45_000);
      w.sim.repair();
      w.sim.runUntil(53_000);
      expect(views(w).length).toBeGreaterThan(0);
    });
  });

  it('a member whose transmit path was cut refuted in vain; once it is back, everyone sees it alive without push-pull', () => {
    for (const seed of [211, 212, 213]) {
      const w = world(seed, 6, { preset: 'local', pushPullIntervalMs: 0 });
      const others = w.cluster.names.slice(1);
      withSeed(w, file, () => {
        w.sim.runUntil(5_000);
        w.sim.partitionOneway('n0', others);
        w.sim.runUntil(25_000);
        for (const o of others) expect(stateOf(w, o, 'n0'), o).toBe('dead');
        expect(w.node('n0').stats.refutations).toBeGreaterThan(0);
        w.sim.repair();
        w.sim.runUntil(25_000 + 12_000);
        expect(views(w)).toEqual([]);
      });
    }
  });

  it('members started together all know each other within a few probe periods (catch-up push-pull after join)', () => {
    for (const seed of [221, 222, 223, 224]) {
      const w = world(seed, 12, { preset: 'local', pushPullIntervalMs: 60_000 });
      withSeed(w, file, () => {
        w.sim.runUntil(5_000);
        for (const n of w.cluster.nodes()) expect(n.liveMembers, n.name).toBe(12);
      });
    }
  });
});
