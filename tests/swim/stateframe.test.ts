import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LimitExceededError } from '../../core/errors.ts';
import type { Random } from '../../core/random.ts';
import { noTags, stateMembersMax, type Tags } from '../../core/swim/codec.ts';
import { Member, type MemberState } from '../../core/swim/member.ts';
import { WireState, encodeState, encodeStateEntry, stateEntryBytesMax } from '../../core/swim/state.ts';
import { KeptStateFrame, stateFrameKeptBytesMax } from '../../core/swim/stateframe.ts';
import { MemberTable, addedKeptMax, changedKeptMax } from '../../core/swim/table.ts';

/**
 * A kept state frame patched with the table's changes is, after every change, the frame
 * `encodeState` makes of the table's members in table order (what `localState` sends):
 * random runs of every change the table has (adds, removals, state changes, new versions,
 * the local member's own new version), few or more than the table notes between two
 * frames, under a generous and a tight size limit.
 */

const wireStates: Record<MemberState, number> = { alive: WireState.Alive, suspect: WireState.Suspect, dead: WireState.Dead, left: WireState.Left };
const scratch = new Uint8Array(stateEntryBytesMax);
const entryWire = (m: Member): Uint8Array =>
  encodeStateEntry({ name: m.name, address: m.address, incarnation: m.incarnation, state: wireStates[m.state] as 0, tags: m.tags }, scratch).slice();

/** What `encodeState` makes of the table now, or undefined when it refuses (above `bytesMax`). */
function expected(table: MemberTable, join: boolean, bytesMax: number): Uint8Array | undefined {
  try {
    return encodeState({ join, members: { wires: [...table.values()].map(entryWire) } }, bytesMax);
  } catch (error) {
    if (error instanceof LimitExceededError) return undefined;
    throw error;
  }
}

const half: Random = { next: () => 0.5, fork() { return this; } };

type Op =
  | { kind: 'add'; id: number; incarnation: number; tagged: boolean }
  | { kind: 'remove'; pick: number }
  | { kind: 'state'; pick: number; state: MemberState }
  | { kind: 'seen'; pick: number; bump: number; moved: boolean; tagged: boolean }
  | { kind: 'incarnation'; pick: number; bump: number }
  | { kind: 'self'; tagged: boolean }
  | { kind: 'frame'; join: boolean }
  /** An exchange while the application had push-pull state of its own: the frame is let go. */
  | { kind: 'drop' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('add' as const), id: fc.integer({ min: 0, max: 60 }), incarnation: fc.integer({ min: 0, max: 200 }), tagged: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('state' as const), pick: fc.nat(), state: fc.constantFrom<MemberState>('alive', 'suspect', 'dead', 'left') }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('seen' as const), pick: fc.nat(), bump: fc.integer({ min: 0, max: 300 }), moved: fc.boolean(), tagged: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('incarnation' as const), pick: fc.nat(), bump: fc.integer({ min: 0, max: 300 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('self' as const), tagged: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('frame' as const), join: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const) }) },
);

const tags = (tagged: boolean, salt: number): Tags => (tagged ? { role: `r${salt % 7}`, zone: 'z'.repeat(salt % 5) } : noTags);

/** Runs `ops` on a fresh table, comparing the kept frame with `encodeState` at every frame op and at the end. */
function check(ops: readonly Op[], bytesMax: number): void {
  const self = new Member('self', 'self:1', 0, noTags);
  const table = new MemberTable(self, half, 0);
  const kept = new KeptStateFrame(table, self, entryWire);
  const others = (): Member[] => [...table.values()].filter((m) => m !== self);
  const pick = (n: number): Member | undefined => {
    const all = others();
    return all.length === 0 ? undefined : all[n % all.length];
  };
  const compare = (join: boolean) => {
    const frame = kept.frame(join, bytesMax);
    const want = expected(table, join, bytesMax);
    // Undefined exactly when encodeState refuses (above the limit): the caller's own encoding then fails the same way.
    if (frame === undefined) expect(want).toBeUndefined();
    else {
      expect(want).toBeDefined();
      expect(Buffer.from(frame).equals(Buffer.from(want!))).toBe(true);
    }
  };
  let now = 0;
  for (const o of ops) {
    now += 10;
    switch (o.kind) {
      case 'add':
        if (table.get(`m${o.id}`) === undefined) table.add(new Member(`m${o.id}`, `10.0.0.${o.id}:7946`, o.incarnation, tags(o.tagged, o.id)), now);
        break;
      case 'remove': {
        const m = pick(o.pick);
        if (m !== undefined) table.remove(m);
        break;
      }
      case 'state': {
        const m = pick(o.pick);
        if (m !== undefined) table.setState(m, o.state, now);
        break;
      }
      case 'seen': {
        const m = pick(o.pick);
        if (m !== undefined) table.seen(m, o.moved ? `10.1.0.${o.pick % 250}:7946` : m.address, m.incarnation + o.bump, o.tagged ? tags(true, o.bump) : m.tags);
        break;
      }
      case 'incarnation': {
        const m = pick(o.pick);
        if (m !== undefined) table.setIncarnation(m, m.incarnation + o.bump);
        break;
      }
      case 'self':
        self.seen(self.address, self.incarnation + 1, tags(o.tagged, self.incarnation));
        break;
      case 'frame':
        compare(o.join);
        break;
      case 'drop':
        kept.drop();
        break;
    }
  }
  compare(false);
}

describe('KeptStateFrame', () => {
  it('is, after any changes, the frame encodeState makes of the table', () => {
    fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 400, size: 'max' }), (ops) => check(ops, 1 << 20)), { numRuns: 300 });
  });

  it('is the same under a size limit the table crosses both ways (nothing kept above it)', () => {
    // About 20 to 35 B an entry: a table of 15 to 25 members crosses 500 B.
    fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 400, size: 'max' }), (ops) => check(ops, 500)), { numRuns: 200 });
  });

  it('is made again after more changes than the table notes, and more additions', () => {
    const ops: Op[] = [];
    for (let i = 0; i < 40; i++) ops.push({ kind: 'add', id: i, incarnation: i, tagged: i % 2 === 0 });
    ops.push({ kind: 'frame', join: false });
    for (let i = 0; i < changedKeptMax + 5; i++) ops.push({ kind: 'state', pick: i * 7, state: i % 3 === 0 ? 'suspect' : 'alive' });
    ops.push({ kind: 'frame', join: true }, { kind: 'remove', pick: 3 }, { kind: 'frame', join: false });
    for (let i = 0; i < addedKeptMax + 5; i++) ops.push({ kind: 'add', id: 100 + i, incarnation: 1, tagged: false });
    ops.push({ kind: 'frame', join: false }, { kind: 'state', pick: 5, state: 'dead' }, { kind: 'frame', join: false });
    check(ops, 1 << 20);
  });

  it('is grown by appending members one at a time, with changes between', () => {
    const ops: Op[] = [{ kind: 'frame', join: false }];
    for (let i = 0; i < 300; i++) {
      ops.push({ kind: 'add', id: 100 + i, incarnation: i % 3, tagged: i % 5 === 0 }, { kind: 'frame', join: i % 2 === 0 });
      if (i % 7 === 0) ops.push({ kind: 'state', pick: i, state: 'suspect' });
      if (i % 31 === 0) ops.push({ kind: 'remove', pick: i * 3 });
      if (i % 41 === 0) ops.push({ kind: 'self', tagged: true });
    }
    check(ops, 1 << 20);
  });

  it('let go (the application has state of its own) keeps nothing, and the table notes nothing until the next frame', () => {
    const self = new Member('self', 'self:1', 0, noTags);
    const table = new MemberTable(self, half, 0);
    const kept = new KeptStateFrame(table, self, entryWire);
    table.add(new Member('a', '10.0.0.1:7946', 0, noTags), 0);
    expect(kept.frame(false, 1 << 20)).toBeDefined();
    kept.drop();
    table.add(new Member('b', '10.0.0.2:7946', 0, noTags), 0);
    expect(table.takeChanges()).toBeUndefined();
    expect(Buffer.from(kept.frame(true, 1 << 20)!).equals(Buffer.from(expected(table, true, 1 << 20)!))).toBe(true);
    expect(table.takeChanges()).toEqual({ added: [], changed: [] });
  });

  it('is refused above stateMembersMax entries, as encodeState refuses it', () => {
    const self = new Member('self', 'self:1', 0, noTags);
    const table = new MemberTable(self, half, 0);
    const kept = new KeptStateFrame(table, self, entryWire);
    for (let i = 0; i < stateMembersMax; i++) table.add(new Member(`m${i}`, `10.0.${i >> 8}.${i & 255}:7946`, 0, noTags), 0);
    expect(expected(table, false, 1 << 23)).toBeUndefined();
    expect(kept.frame(false, 1 << 23)).toBeUndefined();
  });

  it('is made whole and not kept above stateFrameKeptBytesMax', () => {
    const self = new Member('self', 'self:1', 0, noTags);
    const table = new MemberTable(self, half, 0);
    const kept = new KeptStateFrame(table, self, entryWire);
    const keeps = () => (kept as unknown as { buffer: Uint8Array | undefined }).buffer !== undefined;
    const same = (join: boolean) => Buffer.from(kept.frame(join, 1 << 22)!).equals(Buffer.from(expected(table, join, 1 << 22)!));
    for (let i = 0; expected(table, false, 1 << 22)!.length <= stateFrameKeptBytesMax; i++) {
      expect(same(i % 2 === 0)).toBe(true);
      expect(keeps()).toBe(true);
      for (let j = 0; j < 100; j++) table.add(new Member(`member-${i}-${j}`, `10.${i}.0.${j}:7946`, 0, noTags), 0);
    }
    expect(same(false)).toBe(true);
    expect(keeps()).toBe(false);
    // Nor does the table note its changes for a frame that is not kept (at 10 000 members, a list per member).
    table.add(new Member('one-more', '10.255.0.1:7946', 0, noTags), 0);
    expect(table.takeChanges()).toBeUndefined();
    expect(same(true)).toBe(true);
    expect(keeps()).toBe(false);
  });
});
