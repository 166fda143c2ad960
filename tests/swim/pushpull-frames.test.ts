import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Env } from '../../core/index.ts';
import { FrameReader, PushPull, WireState, decodeState, encodeStateFrame, type PushPullHost, type StateEntry, type StateMessage } from '../../core/swim/index.ts';
import { Simulation } from '../../sim/index.ts';
import { StateExchange } from '../../core/swim/exchange.ts';
import { withSeed, world, type World } from './helpers.ts';

/**
 * A member keeps its state frame and patches it with what changed in its table
 * (`KeptStateFrame`; `tests/swim/stateframe.test.ts` checks the patching itself against
 * `encodeState`): a periodic push-pull between settled members re-encodes nothing. These
 * pin, in a running cluster, that the frame it sends is always the one its state would
 * encode to now.
 */
const file = 'tests/swim/pushpull-frames.test.ts';

/** Opens a push-pull from host `from` to member `to` with `members` as its state; the returned function gives the state `to` answered, once it has. */
function exchange(w: World, from: string, to: string, members: StateEntry[] = []): () => StateMessage | undefined {
  const stream = w.sim.app<Env>(from)!.transport.streams.connect(w.sim.address(to)).openStream();
  const frames = new FrameReader(1 << 22);
  let reply: StateMessage | undefined;
  stream.onData = (data) => {
    const body = frames.push(data);
    if (body !== undefined) reply = decodeState(body);
  };
  stream.write(encodeStateFrame({ join: false, members }, 1 << 20, undefined));
  stream.end();
  return () => reply;
}

/** n0's answer to an exchange the raw host `peer` opens now. */
function askN0(w: World, waitMs = 200): StateMessage {
  const reply = exchange(w, 'peer', 'n0');
  w.sim.runUntil(w.sim.nowMs + waitMs);
  const state = reply();
  expect(state, 'n0 answered the exchange').toBeDefined();
  return state!;
}

const entry = (s: StateMessage, name: string) => s.members.find((m) => m.name === name);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the state frame a member sends again', () => {
  it('is the state as it is now after a member became suspect, dead, and was reaped, and after the member changed its own tags, without encoding the table again', () => {
    const w = world(51, 5, { preset: 'local', pushPullIntervalMs: 0, deadReapMs: 20_000 });
    w.sim.host('peer', (ctx) => ctx);
    withSeed(w, file, () => {
      w.sim.runUntil(10_000);
      const encoded = vi.spyOn(StateExchange.prototype, 'localState');
      const first = askN0(w);
      expect(askN0(w)).toEqual(first);
      expect(first.members.map((m) => m.name).sort()).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);

      w.sim.crash('n3');
      for (let i = 0; i < 60 && w.node('n0').member('n3')?.state !== 'suspect'; i++) w.sim.runUntil(w.sim.nowMs + 100);
      const afterSuspicion = askN0(w);
      expect(entry(afterSuspicion, 'n3')?.state).toBe(WireState.Suspect);
      for (let i = 0; i < 300 && w.node('n0').member('n3')?.state !== 'dead'; i++) w.sim.runUntil(w.sim.nowMs + 100);
      const afterCrash = askN0(w);
      expect(entry(afterCrash, 'n3')?.state).toBe(WireState.Dead);
      w.sim.runUntil(w.sim.nowMs + 21_000);
      expect(w.node('n0').member('n3')).toBeUndefined();
      const afterReap = askN0(w);
      expect(entry(afterReap, 'n3')).toBeUndefined();
      expect(afterReap.members.map((m) => m.name).sort()).toEqual(['n0', 'n1', 'n2', 'n4']);

      w.node('n0').setTags({ role: 'db' });
      const afterTags = askN0(w);
      expect(entry(afterTags, 'n0')).toMatchObject({ incarnation: entry(afterCrash, 'n0')!.incarnation + 1, tags: { role: 'db' } });
      expect(askN0(w)).toEqual(afterTags);
      // Every frame above was the kept one, patched: the table was never encoded whole.
      expect(encoded).not.toHaveBeenCalled();
    });
  });

  it('is encoded again when a member moved to another version in the same state: new tags', () => {
    // Push-pull on: a change gossiped a couple of times in a 4-member cluster can miss n0 (push-pull then carries it).
    const w = world(55, 4, { preset: 'local' });
    w.sim.host('peer', (ctx) => ctx);
    withSeed(w, file, () => {
      w.sim.runUntil(5_000);
      expect({ ...entry(askN0(w), 'n1')?.tags }).toEqual({});
      w.node('n1').setTags({ role: 'cache' });
      for (let i = 0; i < 400 && w.node('n0').member('n1')?.tags.role !== 'cache'; i++) w.sim.runUntil(w.sim.nowMs + 100);
      expect(w.node('n0').member('n1')?.state).toBe('alive');
      expect({ ...w.node('n0').member('n1')?.tags }).toEqual({ role: 'cache' });
      expect({ ...entry(askN0(w, 20), 'n1')?.tags }).toEqual({ role: 'cache' });
    });
  });

  it('is encoded again when a member moved to another version in the same state: an incarnation a verdict names', () => {
    // Slow gossip and no buddy notices: nothing tells n2 of the suspicion below (it would refute) before the test is done.
    const w = world(56, 4, { preset: 'local', pushPullIntervalMs: 0, gossipIntervalMs: 10_000, buddySystemEnabled: false });
    w.sim.host('peer', (ctx) => ctx);
    withSeed(w, file, () => {
      w.sim.runUntil(5_000);
      askN0(w);
      const k = w.node('n0').member('n2')!.incarnation + 5;
      const suspect = (incarnation: number) => exchange(w, 'peer', 'n0', [{ name: 'n2', address: w.sim.address('n2'), incarnation, state: WireState.Suspect, tags: {} }]);
      suspect(k);
      w.sim.runUntil(w.sim.nowMs + 20);
      expect(entry(askN0(w, 20), 'n2')).toMatchObject({ state: WireState.Suspect, incarnation: k });
      suspect(k + 1);
      w.sim.runUntil(w.sim.nowMs + 20);
      expect(w.node('n0').member('n2')).toMatchObject({ state: 'suspect', incarnation: k + 1 });
      expect(entry(askN0(w, 20), 'n2')).toMatchObject({ state: WireState.Suspect, incarnation: k + 1 });
    });
  });

  it('is encoded at every exchange when the application has push-pull state of its own', () => {
    const w = world(52, 3, { preset: 'local', pushPullIntervalMs: 0 });
    w.sim.host('peer', (ctx) => ctx);
    withSeed(w, file, () => {
      w.sim.runUntil(5_000);
      let asked = 0;
      w.node('n0').setDelegate({ localState: () => new Uint8Array([++asked]) });
      const encoded = vi.spyOn(StateExchange.prototype, 'localState');
      askN0(w);
      askN0(w);
      expect(encoded).toHaveBeenCalledTimes(2);
      expect(asked).toBe(2);
    });
  });

  it('is the frame the host keeps when it keeps one, else its state encoded', () => {
    // A push-pull endpoint whose host keeps a frame (`kept`) or not.
    const served = (kept: boolean) => {
      const sim = new Simulation({ seed: 54, trace: { capacity: 0 } });
      sim.host('peer', (ctx) => ctx);
      sim.host('b', (ctx) => ctx);
      const b = sim.app<Env>('b')!;
      let asked = 0;
      const members: StateEntry[] = Array.from({ length: 100 }, (_, i) => ({ name: `member-${i}`, address: `10.0.0.${i}:7946`, incarnation: 0, state: WireState.Alive, tags: {} }));
      const keptFrame = encodeStateFrame({ join: false, members: members.slice(0, 3) }, 1 << 20, undefined);
      const host: PushPullHost = {
        localState: (join) => { asked++; return { join, members }; },
        localStateFrame: () => (kept ? keptFrame : undefined),
        merge: () => undefined, completed: () => undefined, refusedByPeer: () => undefined, rejected: () => undefined,
      };
      const pushPull = new PushPull(b.transport.streams, host, 8, 1 << 22, 5_000);
      b.transport.streams.onConnection = (c) => pushPull.accept(c, sim.nowMs);
      const stream = sim.app<Env>('peer')!.transport.streams.connect(sim.address('b')).openStream();
      const frames = new FrameReader(1 << 22);
      let reply: StateMessage | undefined;
      stream.onData = (data) => {
        const body = frames.push(data);
        if (body !== undefined) reply = decodeState(body);
      };
      stream.write(encodeStateFrame({ join: false, members: [] }, 1 << 20, undefined));
      stream.end();
      sim.runUntil(sim.nowMs + 500);
      return { asked, names: reply?.members.map((m) => m.name) };
    };
    expect(served(true)).toEqual({ asked: 0, names: ['member-0', 'member-1', 'member-2'] });
    expect(served(false)).toMatchObject({ asked: 1, names: expect.arrayContaining(['member-99']) });
  });
});
