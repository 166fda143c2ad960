import { describe, expect, it } from 'vitest';
import { LimitExceededError } from '../../core/index.ts';
import { appBroadcastBytesMax, decodeState, encodeState, type Swim } from '../../core/swim/index.ts';
import { withSeed, world } from './helpers.ts';

/** Application gossip (memberlist's delegates): broadcasts on SWIM's packets and state in push-pull. */
const file = 'tests/swim/app-gossip.test.ts';
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('app gossip', () => {
  /** Over `seeds`, how many (member, broadcast) pairs the broadcasts of n3 and n5 reached once, missed, or reached twice. */
  const deliveries = (seeds: readonly number[], loss: number) => {
    const tally = { pairs: 0, missed: 0, duplicated: 0 };
    for (const seed of seeds) {
      const w = world(seed, 12, { preset: 'local' }, { network: { loss } });
      const got = new Map<string, string[]>();
      withSeed(w, file, () => {
        w.sim.runUntil(5_000);
        for (const node of w.cluster.nodes()) {
          got.set(node.name, []);
          node.setDelegate({ onBroadcast: (payload, origin) => got.get(node.name)!.push(`${origin}:${text(payload)}`) });
        }
        w.node('n3').broadcast(new TextEncoder().encode('hello'));
        w.node('n5').broadcast(new TextEncoder().encode('world'));
        w.sim.runUntil(10_000);
      });
      for (const [name, seen] of got) {
        for (const expected of ['n3:hello', 'n5:world'].filter((s) => !s.startsWith(`${name}:`))) {
          const times = seen.filter((s) => s === expected).length;
          tally.pairs++;
          if (times === 0) tally.missed++;
          if (times > 1) tally.duplicated++;
        }
      }
    }
    return tally;
  };

  it('under 10 % loss a broadcast is never delivered twice and reaches ≥ 95 % of the members (best effort: 20 seeds)', () => {
    const seeds = Array.from({ length: 20 }, (_, i) => 41 + i);
    const tally = deliveries(seeds, 0.1);
    expect(tally.duplicated).toBe(0);
    expect(tally.missed, `missed ${tally.missed} of ${tally.pairs}`).toBeLessThanOrEqual(0.05 * tally.pairs);
  });

  it('app state travels in push-pull both ways (version 2 frames), and frames without it stay version 1', () => {
    const w = world(42, 3, { preset: 'local', pushPullIntervalMs: 1_000 });
    const merged = new Map<string, Set<string>>();
    withSeed(w, file, () => {
      w.sim.runUntil(3_000);
      for (const node of w.cluster.nodes()) {
        merged.set(node.name, new Set());
        node.setDelegate({
          localState: () => new TextEncoder().encode(`state-of-${node.name}`),
          mergeRemoteState: (state) => merged.get(node.name)!.add(text(state)),
        });
      }
      w.sim.runUntil(15_000);
      for (const [name, states] of merged) {
        expect([...states].filter((s) => s !== `state-of-${name}`).length, name).toBeGreaterThanOrEqual(1);
      }
    });
    const plain = encodeState({ join: false, members: [] }, 1_000);
    expect(plain[4]).toBe(1);
    const withApp = encodeState({ join: true, members: [], appState: Uint8Array.of(1, 2, 3) }, 1_000);
    expect(withApp[4]).toBe(2);
    expect(decodeState(withApp.subarray(4))).toEqual({ join: true, members: [], appState: Uint8Array.of(1, 2, 3) });
  });

  it('a delegate that throws is counted and the member carries on', () => {
    const w = world(43, 4, { preset: 'local' });
    withSeed(w, file, () => {
      w.sim.runUntil(3_000);
      const victim: Swim = w.node('n1');
      victim.setDelegate({ onBroadcast: () => { throw new Error('app bug'); } });
      w.node('n2').broadcast(Uint8Array.of(7));
      w.sim.runUntil(8_000);
      expect(victim.stats.appDelegateErrors).toBe(1);
      expect(victim.liveMembers).toBe(4);
      expect(w.node('n0').member('n1')?.state).toBe('alive');
    });
  });

  it('refuses a broadcast larger than appBroadcastBytesMax', () => {
    const w = world(44, 2, { preset: 'local' });
    w.sim.runUntil(1_000);
    expect(() => w.node('n0').broadcast(new Uint8Array(appBroadcastBytesMax + 1))).toThrow(LimitExceededError);
  });
});
