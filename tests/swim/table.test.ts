import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { randomInt, type Random } from '../../core/random.ts';
import { noTags } from '../../core/swim/codec.ts';
import { Member, type MemberState } from '../../core/swim/member.ts';
import { nameId, nameIdIfAny, nameIdsEpoch, nameIdsMax, restartNameIds } from '../../core/swim/names.ts';
import { deadProbeTriesMax } from '../../core/swim/probe.ts';
import { MemberTable, indexSlack, indexSlackBase, randomMemberTriesMax } from '../../core/swim/table.ts';

const utf8 = new TextEncoder();
const names = Array.from({ length: 31 }, (_, id) => utf8.encode(`m${id}`));

/** Replays a fixed list of draws, so two tables (or a table and a model) see the same numbers. */
class Replay implements Random {
  private at = 0;
  constructor(private readonly draws: readonly number[]) {}
  next(): number {
    return this.draws[this.at++ % this.draws.length]!;
  }
  fork(): Random {
    return this;
  }
  get consumed(): number {
    return this.at;
  }
  /** Catches up with another replay of the same draws (after draws the model does not make itself). */
  skipTo(consumed: number): void {
    this.at = consumed;
  }
}

type Op =
  | { kind: 'add'; id: number }
  | { kind: 'state'; id: number; state: MemberState; atMs: number }
  | { kind: 'remove'; id: number }
  | { kind: 'deadProbe'; nowMs: number; withinMs: number }
  | { kind: 'probe'; times: number }
  | { kind: 'random'; exclude: number; liveOnly: boolean; nowMs: number; withinMs: number }
  | { kind: 'incarnation'; id: number; incarnation: number; seen: boolean }
  | { kind: 'restartIds'; first: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), id: fc.nat(30) }),
  fc.record({ kind: fc.constant('state' as const), id: fc.nat(30), state: fc.constantFrom<MemberState>('alive', 'suspect', 'dead', 'left'), atMs: fc.nat(1000) }),
  fc.record({ kind: fc.constant('remove' as const), id: fc.nat(30) }),
  fc.record({ kind: fc.constant('deadProbe' as const), nowMs: fc.nat(2000), withinMs: fc.nat(1500) }),
  fc.record({ kind: fc.constant('probe' as const), times: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('random' as const), exclude: fc.integer({ min: -1, max: 30 }), liveOnly: fc.boolean(), nowMs: fc.nat(2000), withinMs: fc.nat(1500) }),
  fc.record({ kind: fc.constant('incarnation' as const), id: fc.nat(30), incarnation: fc.oneof(fc.nat(6), fc.constant(0xffff_ffff)), seen: fc.boolean() }),
  fc.record({ kind: fc.constant('restartIds' as const), first: fc.nat(40) }),
);

describe('MemberTable', () => {
  it('randomRecentlyDead, randomLive, randomReachable and the probe order pick what reading every drawn record would pick (no dead-probe draw while none is dead); times, state codes, counts and addresses follow every change', () => {
    fc.assert(fc.property(
      fc.array(op, { maxLength: 200, size: 'max' }),
      fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 64 }),
      (ops, draws) => {
        const random = new Replay(draws);
        const modelRandom = new Replay(draws);
        const table = new MemberTable(new Member('self', 'self:1', 0, noTags), random, 0);
        const members = new Map<number, Member>();
        // The model of when each member last changed state (the time of its add, at first).
        const changedAt = new Map<Member, number>();
        let clock = 0;
        for (const o of ops) {
          clock++;
          if (o.kind === 'add') {
            if (members.has(o.id)) continue;
            const m = new Member(`m${o.id}`, `a${o.id}:1`, 0, noTags);
            members.set(o.id, m);
            table.add(m, clock);
            changedAt.set(m, clock);
            randomInt(modelRandom, 1); // add draws a position: keep the model's stream in step
          } else if (o.kind === 'state') {
            const m = members.get(o.id);
            if (m === undefined) continue;
            if (m.state !== o.state) changedAt.set(m, o.atMs);
            table.setState(m, o.state, o.atMs);
          } else if (o.kind === 'remove') {
            const m = members.get(o.id);
            if (m === undefined) continue;
            members.delete(o.id);
            table.remove(m);
            // A removed record keeps its last time (a reaper may still look at it).
            expect(table.changedAtMs(m)).toBe(changedAt.get(m));
          } else if (o.kind === 'incarnation') {
            const m = members.get(o.id);
            if (m === undefined) continue;
            if (o.seen) table.seen(m, m.address, o.incarnation, m.tags);
            else table.setIncarnation(m, o.incarnation);
          } else if (o.kind === 'restartIds') {
            // The process-wide name ids start again (as at nameIdsMax), and other nodes of the
            // process give the names new ids in another order: the old index would now lie.
            restartNameIds();
            nameId(`other${o.first}`);
            for (let id = 30; id >= 0; id--) nameId(`m${(id + o.first) % 31}`);
          } else if (o.kind === 'probe') {
            // Round-robin probing reshuffles the list at each wrap: times must follow their members.
            const targets = Array.from({ length: o.times }, () => table.nextProbeTarget());
            // Only live members held are probed; none while none is live.
            const anyLive = [...members.values()].some((m) => m.live);
            expect(targets.map((m) => m === undefined || (m.live && members.get(Number(m.name.slice(1))) === m))).toEqual(targets.map(() => true));
            if (!anyLive) expect(targets).toEqual(targets.map(() => undefined));
            modelRandom.skipTo(random.consumed);
          } else if (o.kind === 'random') {
            // The model of randomLive (liveOnly) and randomReachable: every drawn record read.
            const list = probeList(table);
            const exclude = o.liveOnly ? members.get(o.exclude) : undefined;
            let expected: Member | undefined;
            if (list.length > 0) {
              for (let i = 0; i < randomMemberTriesMax; i++) {
                const m = list[randomInt(modelRandom, list.length)]!;
                if (m === exclude) continue;
                if (m.live || (!o.liveOnly && m.state === 'dead' && o.nowMs - table.changedAtMs(m) < o.withinMs)) {
                  expected = m;
                  break;
                }
              }
            }
            const got = o.liveOnly ? table.randomLive(exclude) : table.randomReachable(o.nowMs, o.withinMs);
            expect(got).toBe(expected);
            expect(random.consumed).toBe(modelRandom.consumed);
          } else {
            // The model: the probe list is the table's own order, every drawn record read;
            // no draw at all while no member is dead.
            const list = probeList(table);
            let expected: Member | undefined;
            if (list.length > 0 && list.some((m) => m.state === 'dead')) {
              for (let i = 0; i < deadProbeTriesMax; i++) {
                const m = list[randomInt(modelRandom, list.length)]!;
                if (m.state === 'dead' && o.nowMs - table.changedAtMs(m) < o.withinMs) {
                  expected = m;
                  break;
                }
              }
            }
            expect(table.randomRecentlyDead(deadProbeTriesMax, o.nowMs, o.withinMs)).toBe(expected);
            expect(random.consumed).toBe(modelRandom.consumed);
          }
          // The count that lets draws skip reading records stays the number of dead members.
          expect((table as unknown as { dead: number }).dead).toBe([...members.values()].filter((m) => m.state === 'dead').length);
          expect(table.anySuspectOrDead).toBe([...members.values()].some((m) => m.state === 'dead' || m.state === 'suspect'));
          // Compared as whole lists, one assertion each (thousands of steps per run).
          const codes = (table as unknown as { codes: Uint8Array }).codes;
          const list = probeList(table);
          expect(list.map((_, i) => codes[i])).toEqual(list.map((m) => ['alive', 'suspect', 'dead', 'left'].indexOf(m.state)));
          const ids = [...members.keys()];
          expect(ids.map((id) => table.changedAtMs(members.get(id)!))).toEqual(ids.map((id) => changedAt.get(members.get(id)!)));
          expect(ids.map((id) => table.at(`a${id}:1`))).toEqual(ids.map((id) => members.get(id)));
          expect(ids.map((id) => table.unwellAt(`a${id}:1`))).toEqual(ids.map((id) => {
            const m = members.get(id)!;
            return m.state === 'dead' || m.state === 'suspect' ? m : undefined;
          }));
          expect(table.at('self:1')).toBeUndefined();
          // The known-Alive index answers what the records say, whatever the ids did; from
          // the bytes, the same for a member held below the top incarnation, and not known
          // otherwise (not held; or held at the top, where a full decode changes nothing).
          const answers: unknown[] = [];
          const expected: unknown[] = [];
          for (let id = 0; id <= 30; id++) {
            const m = members.get(id);
            const bytes = names[id]!;
            for (const incarnation of [0, 1, 3, 7, 0xffff_ffff]) {
              const known = m !== undefined && incarnation <= m.incarnation;
              answers.push(table.knownAliveUtf8(bytes, 0, bytes.length, incarnation), table.knownAlive(`m${id}`, incarnation));
              // A name the process never gave an id to is looked up by name.
              expected.push(m !== undefined && m.incarnation < 0xffff_ffff ? known : nameIdIfAny(`m${id}`) === undefined ? undefined : false, known);
            }
          }
          expect(answers).toEqual(expected);
          expect(table.knownAlive('self', 0)).toBe(false);
        }
      },
    ), { numRuns: 300 });
  });
});

/** The table's probe list, in order (private: read for the model only). */
function probeList(table: MemberTable): Member[] {
  return (table as unknown as { probeList: Member[] }).probeList;
}

describe('MemberTable with more members than there are name ids', () => {
  it('answers from its records when its index cannot be built (membersMax above nameIdsMax)', () => {
    restartNameIds();
    const table = new MemberTable(new Member('self', 'self:1', 0, noTags), new Replay([0.5]), 0);
    const count = nameIdsMax + 10;
    for (let i = 0; i < count; i++) table.add(new Member(`big${i}`, `big${i}:1`, 2, noTags), 0);
    // The ids started again while the table was filled: the next question rebuilds the index,
    // which cannot hold every name; it must end, and answer as the records do.
    restartNameIds();
    expect(table.knownAlive('big0', 2)).toBe(true);
    // It gave up on the index once, for this epoch, rather than rebuilding it at every question.
    expect((table as unknown as { indexEpoch: number }).indexEpoch).toBe(nameIdsEpoch());
    for (const i of [0, 1, 77_777, count - 1]) {
      expect(table.knownAlive(`big${i}`, 2)).toBe(true);
      expect(table.knownAlive(`big${i}`, 3)).toBe(false);
    }
    expect(table.knownAlive('absent', 0)).toBe(false);
    const bytes = utf8.encode(`big${count - 1}`);
    expect(table.knownAliveUtf8(bytes, 0, bytes.length, 3) ?? table.knownAlive(`big${count - 1}`, 3)).toBe(false);
  });
});

describe('the known-Alive index', () => {
  it('never answers for another name: bytes that decode to "x" are not the member "\\uFEFFx"', () => {
    const table = new MemberTable(new Member('self', 'self:1', 0, noTags), new Replay([0.5]), 0);
    table.add(new Member('\uFEFFx', 'bom:1', 5, noTags), 0);
    const bytes = utf8.encode('\uFEFFx');
    // The decoder reads these bytes as "x", a member this table does not hold.
    expect(table.knownAliveUtf8(bytes, 0, bytes.length, 3)).toBeUndefined();
    expect(table.knownAlive('x', 3)).toBe(false);
    expect(table.knownAlive('\uFEFFx', 3)).toBe(true);
  });

  it('stays the size of the table, not of every name the process has seen', () => {
    restartNameIds();
    for (let i = 0; i < 50_000; i++) nameId(`elsewhere${i}`);
    const table = new MemberTable(new Member('self', 'self:1', 0, noTags), new Replay([0.5]), 0);
    const late = new Member('named-late', 'late:1', 2, noTags);
    table.add(late, 0);
    expect((table as unknown as { incarnationPlus1: Uint32Array }).incarnationPlus1.length).toBeLessThanOrEqual(indexSlack * table.size + indexSlackBase);
    expect(table.knownAlive('named-late', 2)).toBe(true);
    expect(table.knownAlive('named-late', 3)).toBe(false);
    // Left out of the index, it is not taken for unknown by its bytes: they ask by name.
    const bytes = utf8.encode('named-late');
    expect(table.knownAliveUtf8(bytes, 0, bytes.length, 2)).toBeUndefined();
    // A name the index lacks is not called unknown either while any member is left out.
    nameId('other-late');
    const other = utf8.encode('other-late');
    expect(table.knownAliveUtf8(other, 0, other.length, 0)).toBeUndefined();
  });
});
