import { describe, expect, it } from 'vitest';
import { DecodeError, type Env } from '../../core/index.ts';
import {
  IncarnationRangeError, MessageType, PacketBuilder, Swim, WireState, decodePacket, decodeState, encodeMessage, encodeState, encodeStateFrame,
  incarnationMax, swimPresets, type StateEntry, type StateSeal, type SwimConfigInput,
} from '../../core/swim/index.ts';
import { Simulation } from '../../sim/index.ts';
import { swimHost } from '../../sim/hosts/swim.ts';
import { stateOf, withSeed, world, type World } from './helpers.ts';

/**
 * Issue 11: one message must not be able to exclude a member for good, and an
 * authenticated peer must not be able to flood the member table. An `evil` host in the
 * same simulation speaks the wire format directly.
 */
const file = 'tests/swim/membership-safety.test.ts';
const poison = Number.MAX_SAFE_INTEGER; // 2^53 − 1: its refutation (2^53) was undecodable everywhere

/** Opens a push-pull exchange from `from` to `to` and writes one state frame. */
function pushState(sim: Simulation, from: string, to: string, members: StateEntry[], seal?: StateSeal): void {
  const stream = sim.app<Env>(from)!.transport.streams.connect(sim.address(to)).openStream();
  stream.write(encodeStateFrame({ join: false, members }, 4 * 1024 * 1024, seal));
  stream.end();
}

function evilWorld(seed: number, size: number, config: SwimConfigInput = { preset: 'local' }): World {
  const w = world(seed, size, config);
  w.sim.host('evil', (ctx) => ctx);
  return w;
}

describe('incarnations are bounded', () => {
  it('decoding refuses an incarnation no refutation could exceed, in gossip and in push-pull state', () => {
    const scratch = new Uint8Array(1_400);
    for (const incarnation of [incarnationMax, poison]) {
      const packet = new PacketBuilder(1_400).reset();
      packet.add({ type: MessageType.Suspect, name: 'n2', incarnation, from: 'evil' });
      expect(() => decodePacket(packet.view())).toThrow(IncarnationRangeError);
      const state = encodeState({ join: false, members: [{ name: 'n2', address: 'n2:7946', incarnation, state: WireState.Suspect, tags: {} }] }, 1 << 20);
      expect(() => decodeState(state.subarray(4))).toThrow(DecodeError);
    }
    // The largest value that can still be refuted decodes.
    const ok = encodeMessage({ type: MessageType.Alive, name: 'n2', address: 'n2:7946', incarnation: incarnationMax - 1, tags: {} }, scratch);
    expect(decodePacket(Uint8Array.of(1, ...ok))[0]).toMatchObject({ incarnation: incarnationMax - 1 });
  });

  it('the poison push-pull (suspect n2 at 2^53−1) is refused by every member; n2 stays alive everywhere', () => {
    const w = evilWorld(11, 5);
    withSeed(w, file, () => {
      w.sim.runUntil(5_000);
      for (const target of ['n0', 'n1', 'n3', 'n4']) {
        pushState(w.sim, 'evil', target, [{ name: 'n2', address: w.sim.address('n2'), incarnation: poison, state: WireState.Suspect, tags: {} }]);
      }
      w.sim.runUntil(40_000);
      for (const o of ['n0', 'n1', 'n3', 'n4']) {
        expect(stateOf(w, o, 'n2'), `${o} sees n2`).toBe('alive');
        expect(w.node(o).member('n2')!.incarnation).toBeLessThan(incarnationMax);
      }
      const rejected = ['n0', 'n1', 'n3', 'n4'].reduce((sum, o) => sum + w.node(o).stats.incarnationsRejected, 0);
      expect(rejected).toBe(4);
      expect(w.node('n2').stats.refutations).toBe(0);
    });
  });

  it('the poison as a gossip datagram (dead n2 at 2^53−1) is refused and counted; n2 stays alive', () => {
    const w = evilWorld(12, 5);
    withSeed(w, file, () => {
      w.sim.runUntil(5_000);
      const packet = new PacketBuilder(1_400).reset();
      packet.add({ type: MessageType.Dead, name: 'n2', incarnation: poison, from: 'n0' });
      for (const target of ['n0', 'n1', 'n3', 'n4']) w.sim.app<Env>('evil')!.transport.datagrams.send(w.sim.address(target), packet.view().slice());
      w.sim.runUntil(40_000);
      for (const o of ['n0', 'n1', 'n3', 'n4']) expect(stateOf(w, o, 'n2'), `${o} sees n2`).toBe('alive');
      expect(['n0', 'n1', 'n3', 'n4'].map((o) => w.node(o).stats.incarnationsRejected)).toEqual([1, 1, 1, 1]);
    });
  });

  it('control: the largest refutable accusation is refuted, and n2 comes back alive with incarnationMax', () => {
    const w = evilWorld(13, 5);
    withSeed(w, file, () => {
      w.sim.runUntil(5_000);
      pushState(w.sim, 'evil', 'n0', [{ name: 'n2', address: w.sim.address('n2'), incarnation: incarnationMax - 1, state: WireState.Suspect, tags: {} }]);
      w.sim.runUntil(40_000);
      expect(w.node('n2').stats.refutations).toBeGreaterThan(0);
      expect(w.node('n2').incarnation).toBe(incarnationMax);
      // An incarnation of exactly incarnationMax is refused on decode: the refutation
      // itself does not travel, so the others keep n2 at incarnationMax − 1 as suspect →
      // dead. This is the boundary the bound trades for never being unrefutable.
      expect(w.node('n0').stats.incarnationsRejected + w.node('n1').stats.incarnationsRejected).toBeGreaterThan(0);
    });
  });
});

describe('push-pull is authenticated when a seal is configured', () => {
  const key = 0x5a;
  /** A toy seal for the simulator: a keyed tag byte (the real one is the keyring's AES-GCM). */
  const seal = (k: number): StateSeal => ({
    overheadBytes: 1,
    seal: (body) => Uint8Array.of(k, ...body),
    open: (sealed) => (sealed[0] === k ? sealed.subarray(1) : undefined),
  });

  function sealedWorld(seed: number): { sim: Simulation; node: (name: string) => Swim } {
    const sim = new Simulation({ seed, trace: { capacity: 0 } });
    const seeds = [`n0:${sim.options.port}`];
    for (const name of ['n0', 'n1', 'n2']) {
      sim.host(name, (ctx) => {
        const swim = new Swim(ctx, { name, config: { preset: 'local' }, seeds, stateSeal: seal(key) });
        swim.start();
        return swim;
      });
    }
    sim.host('evil', (ctx) => ctx);
    return { sim, node: (name) => sim.app<Swim>(name)! };
  }

  it('members with the key join and merge through sealed exchanges', () => {
    const { sim, node } = sealedWorld(21);
    sim.runUntil(5_000);
    for (const n of ['n0', 'n1', 'n2']) expect(node(n).liveMembers).toBe(3);
    expect(node('n0').stats.pushPullRejected).toBe(0);
  });

  it('an exchange without the key changes nothing and is counted: a "left" verdict and a phantom are both refused', () => {
    const { sim, node } = sealedWorld(22);
    sim.runUntil(5_000);
    pushState(sim, 'evil', 'n0', [
      { name: 'n1', address: sim.address('n1'), incarnation: 50, state: WireState.Left, tags: {} },
      { name: 'ghost', address: 'ghost:7946', incarnation: 0, state: WireState.Alive, tags: { role: 'worker' } },
    ]);
    sim.runUntil(8_000);
    expect(node('n0').member('n1')?.state).toBe('alive');
    expect(node('n0').member('ghost')).toBeUndefined();
    expect(node('n0').stats.pushPullRejected).toBe(1);
    // Control: the same frame sealed with the key is accepted (the refusal above is the seal's doing).
    pushState(sim, 'evil', 'n0', [{ name: 'ghost', address: 'ghost:7946', incarnation: 0, state: WireState.Alive, tags: {} }], seal(key));
    sim.runUntil(8_500);
    expect(node('n0').member('ghost')).toBeDefined();
  });

  it('a push-pull to a member that answers without the key is refused by the initiator', () => {
    const sim = new Simulation({ seed: 23, trace: { capacity: 0 } });
    const seeds = [`n0:${sim.options.port}`];
    sim.host('n0', (ctx) => {
      const swim = new Swim(ctx, { name: 'n0', config: { preset: 'local' }, stateSeal: seal(1) });
      swim.start();
      return swim;
    });
    sim.host('wrong', (ctx) => {
      const swim = new Swim(ctx, { name: 'wrong', config: { preset: 'local' }, seeds, stateSeal: seal(2) });
      swim.start();
      return swim;
    });
    sim.runUntil(20_000);
    expect(sim.app<Swim>('n0')!.member('wrong')).toBeUndefined();
    expect(sim.app<Swim>('wrong')!.liveMembers).toBe(1);
    expect(sim.app<Swim>('n0')!.stats.pushPullRejected).toBeGreaterThan(0);
  });
});

describe('phantom members are bounded', () => {
  const phantoms = (n: number, prefix = 'ghost'): StateEntry[] =>
    Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i}`, address: `10.9.${i >> 8}.${i & 255}:7946`, incarnation: 0, state: WireState.Alive, tags: { role: 'worker' } }));

  it('one push-pull adds at most pushPullNewMembersMax new members; the rest are counted', () => {
    const w = evilWorld(31, 4, { preset: 'local', pushPullNewMembersMax: 50 });
    withSeed(w, file, () => {
      w.sim.runUntil(5_000);
      pushState(w.sim, 'evil', 'n0', phantoms(2_000));
      w.sim.runUntil(5_500);
      const n0 = w.node('n0');
      expect(n0.members().filter((m) => m.name.startsWith('ghost'))).toHaveLength(50);
      expect(n0.stats.membersRefusedPerPushPull).toBe(1_950);
    });
  });

  it('new members per second are bounded across exchanges', () => {
    const w = evilWorld(32, 4, { preset: 'local', pushPullNewMembersMax: 1_000, newMembersPerSecondMax: 100 });
    withSeed(w, file, () => {
      w.sim.runUntil(5_000);
      for (let i = 0; i < 5; i++) pushState(w.sim, 'evil', 'n0', phantoms(500, `g${i}x`));
      w.sim.runUntil(5_500);
      const ghosts = w.node('n0').members().filter((m) => m.name.startsWith('g')).length;
      // A bucket of two seconds' worth, plus what refilled in the half second.
      expect(ghosts).toBeGreaterThanOrEqual(200);
      expect(ghosts).toBeLessThanOrEqual(260);
      expect(w.node('n0').stats.membersRefusedRate).toBe(2_500 - ghosts);
    });
  });

  it('the member table never exceeds membersMax', () => {
    const w = evilWorld(33, 4, { preset: 'local', membersMax: 64, pushPullNewMembersMax: 1_000, newMembersPerSecondMax: 10_000 });
    withSeed(w, file, () => {
      w.sim.runUntil(5_000);
      pushState(w.sim, 'evil', 'n0', phantoms(1_000));
      w.sim.runUntil(6_000);
      expect(w.node('n0').members()).toHaveLength(64);
      expect(w.node('n0').stats.membersRefusedTotal).toBe(1_000 - 60);
    });
  });

  it('a joining member learns a cluster larger than the per-exchange bound from its seed', () => {
    const sim = new Simulation({ seed: 34, trace: { capacity: 0 } });
    const config: SwimConfigInput = { preset: 'local', pushPullNewMembersMax: 8, newMembersPerSecondMax: 4 };
    for (let i = 0; i < 30; i++) sim.at(i * 1_500, () => sim.host(`n${i}`, swimHost({ config, seeds: [`n0:${sim.options.port}`] })));
    sim.runUntil(30 * 1_500 + 20_000);
    sim.host('late', swimHost({ config, seeds: [`n0:${sim.options.port}`] }));
    sim.runUntil(30 * 1_500 + 20_500);
    expect(sim.app<Swim>('late')!.members().length).toBeGreaterThanOrEqual(31);
  });

  it('the defaults admit a 1 000-member join wave', () => {
    expect(swimPresets.lan.membersMax).toBeGreaterThanOrEqual(10_000);
    expect(swimPresets.lan.newMembersPerSecondMax * 2).toBeGreaterThanOrEqual(1_000);
  });
});
