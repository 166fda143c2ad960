import { describe, expect, it } from 'vitest';
import type { Env } from '../../core/index.ts';
import { WireState, encodeStateFrame, type StateEntry } from '../../core/swim/index.ts';
import type { Simulation } from '../../sim/index.ts';
import { withSeed, world, type World } from './helpers.ts';

/**
 * A peer's verdict of suspect or dead in a push-pull is a suspicion in the peer's name
 * (the member at the address it came from). The name is looked up only when a verdict
 * acts on a member (the lookup scans the table): these pin whose name it is, both when
 * the message's verdict acts on the table as it was and when an earlier entry of the same
 * message made it act.
 */
const file = 'tests/swim/pushpull-verdicts.test.ts';

/** Opens a push-pull exchange from `from` to `to` and writes one state frame. */
function pushState(sim: Simulation, from: string, to: string, members: StateEntry[]): void {
  const stream = sim.app<Env>(from)!.transport.streams.connect(sim.address(to)).openStream();
  stream.write(encodeStateFrame({ join: false, members }, 1 << 20, undefined));
  stream.end();
}

/** A 4-member cluster and a host `peer` that speaks the wire format itself, made known to n0 as a member at its own address. */
function withPeer(seed: number): World {
  const w = world(seed, 4, { preset: 'local' });
  w.sim.host('peer', (ctx) => ctx);
  w.sim.runUntil(5_000);
  pushState(w.sim, 'peer', 'n0', [{ name: 'peer', address: w.sim.address('peer'), incarnation: 0, state: WireState.Alive, tags: {} }]);
  w.sim.runUntil(5_050);
  expect(w.node('n0').member('peer')?.state).toBe('alive');
  return w;
}

/** The suspect events n0 emitted about `name` after `afterMs`. */
function suspicions(w: World, name: string, afterMs: number) {
  return w.events.filter((e) => e.host === 'n0' && e.type === 'suspect' && e.name === name && e.simMs > afterMs);
}

describe("a push-pull's verdicts are suspicions in the peer's name", () => {
  it('a verdict of suspect about a member held alive', () => {
    const w = withPeer(41);
    withSeed(w, file, () => {
      const incarnation = w.node('n0').member('n2')!.incarnation;
      const at = w.sim.nowMs;
      pushState(w.sim, 'peer', 'n0', [{ name: 'n2', address: w.sim.address('n2'), incarnation, state: WireState.Suspect, tags: {} }]);
      w.sim.runUntil(at + 50);
      expect(suspicions(w, 'n2', at).map((e) => e.from)).toEqual(['peer']);
    });
  });

  it('a verdict that acts only once an earlier entry of the same message revived its member', () => {
    const w = withPeer(42);
    withSeed(w, file, () => {
      w.sim.crash('n2');
      w.sim.runUntil(20_000);
      const n2 = w.node('n0').member('n2')!;
      expect(n2.state).toBe('dead');
      const at = w.sim.nowMs;
      const incarnation = n2.incarnation + 1;
      pushState(w.sim, 'peer', 'n0', [
        { name: 'n2', address: w.sim.address('n2'), incarnation, state: WireState.Alive, tags: {} },
        { name: 'n2', address: w.sim.address('n2'), incarnation, state: WireState.Suspect, tags: {} },
      ]);
      w.sim.runUntil(at + 50);
      expect(suspicions(w, 'n2', at).map((e) => e.from)).toEqual(['peer']);
    });
  });
});
