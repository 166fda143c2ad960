import { describe, expect, it } from 'vitest';
import type { Env } from '../../core/index.ts';
import { MessageType, PacketBuilder } from '../../core/swim/index.ts';
import { stateOf, withSeed, world, type World } from './helpers.ts';

/**
 * Issue 16: a member forgotten by the reap is remembered (a tombstone, with its
 * incarnation) for one more reap period, so an Alive older than the verdict cannot bring
 * it back, while a restart (which learns its verdict and refutes) still can.
 */
const file = 'tests/swim/tombstones.test.ts';
/** Local preset: dead members are reaped 30 s after they were declared. */
const config = { preset: 'local' } as const;

/** n2 crashed at 5 s; by 60 s every member declared it dead and reaped it. */
function reapedWorld(seed: number): { w: World; incarnation: number } {
  const w = world(seed, 5, config);
  w.sim.host('evil', (ctx) => ctx);
  w.sim.runUntil(5_000);
  const incarnation = w.node('n0').member('n2')!.incarnation;
  w.sim.crash('n2');
  w.sim.runUntil(60_000);
  return { w, incarnation };
}

function sendAlive(w: World, to: string, incarnation: number): void {
  const packet = new PacketBuilder(1_400).reset();
  packet.add({ type: MessageType.Alive, name: 'n2', address: w.sim.address('n2'), incarnation, tags: {} });
  w.sim.app<Env>('evil')!.transport.datagrams.send(w.sim.address(to), packet.view().slice());
}

/** How often `observer` announced n2 as joined after `fromMs`. */
function joinedAfter(w: World, observer: string, fromMs: number): number {
  return w.events.filter((e) => e.host === observer && e.type === 'joined' && e.name === 'n2' && e.simMs > fromMs).length;
}

describe('tombstones', () => {
  it('a stale Alive of a reaped member is refused: it does not come back', () => {
    const { w, incarnation } = reapedWorld(61);
    withSeed(w, file, () => {
      expect(w.node('n0').member('n2'), 'reaped').toBeUndefined();
      sendAlive(w, 'n0', incarnation);
      w.sim.runUntil(62_000);
      expect(w.node('n0').member('n2')).toBeUndefined();
      expect(w.node('n0').stats.staleAlivesRefused).toBe(1);
      expect(joinedAfter(w, 'n0', 60_000)).toBe(0);
    });
  });

  it('control: an Alive with a higher incarnation brings it back (the same message one incarnation later)', () => {
    const { w, incarnation } = reapedWorld(61);
    withSeed(w, file, () => {
      sendAlive(w, 'n0', incarnation + 1);
      w.sim.runUntil(62_000);
      expect(joinedAfter(w, 'n0', 60_000), 'n0 saw n2 join again').toBe(1);
      expect(w.node('n0').stats.staleAlivesRefused).toBe(0);
    });
  });

  it('a member restarted after the reap (incarnation 0) is told its verdict, refutes, and rejoins everywhere', () => {
    const { w } = reapedWorld(62);
    withSeed(w, file, () => {
      w.sim.restart('n2');
      w.sim.runUntil(66_000);
      for (const o of ['n0', 'n1', 'n3', 'n4']) expect(stateOf(w, o, 'n2'), `${o} sees n2`).toBe('alive');
      expect(w.node('n2').incarnation).toBeGreaterThan(0);
    });
  });

  it('the tombstone lasts one reap period: after it, even the stale Alive is a new member again', () => {
    const { w, incarnation } = reapedWorld(61);
    withSeed(w, file, () => {
      w.sim.runUntil(100_000);
      sendAlive(w, 'n0', incarnation);
      w.sim.runUntil(101_000);
      expect(joinedAfter(w, 'n0', 100_000)).toBe(1);
    });
  });
});
