import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LimitExceededError, TimerTable, type DatagramService } from '../../core/index.ts';
import { defaultInterner } from '../../core/intern.ts';
import { MessageType, Reader, Writer, decodePacket, encodeMessage, noTags, readTags, writeTags } from '../../core/swim/codec.ts';
import { resolveSwimConfig } from '../../core/swim/config.ts';
import { Dissemination } from '../../core/swim/dissemination.ts';
import { Member, emptyStats, memberVersion, memberVersionsMax } from '../../core/swim/member.ts';
import { MemberTable } from '../../core/swim/table.ts';
import type { SwimTimer } from '../../core/swim/timers.ts';
import { buildSwimCluster } from '../../sim/hosts/swim.ts';
import { Simulation } from '../../sim/index.ts';

/** A small cluster in which n1 carries `tags`; what every node lists as n1's tag keys. */
function run(tags: Record<string, string>): { hash: string; keys: string[] } {
  const sim = new Simulation({ seed: 7, trace: { capacity: 0 } });
  const cluster = buildSwimCluster(sim, { size: 5, tags: (i) => (i === 1 ? tags : {}) });
  sim.runUntil(20_000);
  return { hash: sim.trace.hash, keys: cluster.names.map((n) => Object.keys(cluster.node(n)!.member('n1')!.tags).join(',')) };
}

function decoded(tags: Record<string, string>): Record<string, string> {
  const w = new Writer(new Uint8Array(256));
  writeTags(w, tags);
  return readTags(new Reader(w.buffer, 0, w.offset)) as Record<string, string>;
}

describe('MemberVersion: what every node holds the same, held once', () => {
  it('is shared by every member built from the same values, and not across any difference', () => {
    const a = new Member('v1', 'v1:1', 3, { role: 'w' });
    const b = new Member('v1', 'v1:1', 3, { role: 'w' });
    expect(b.version).toBe(a.version);
    expect(new Member('v1', 'v1:2', 3, { role: 'w' }).version).not.toBe(a.version);
    expect(new Member('v1', 'v1:1', 4, { role: 'w' }).version).not.toBe(a.version);
    expect(new Member('v1', 'v1:1', 3, { role: 'x' }).version).not.toBe(a.version);
    // Each member keeps its own view: moving one moves no other.
    b.setIncarnation(9);
    expect([a.incarnation, b.incarnation]).toEqual([3, 9]);
    b.seen('v1:7', 10, { role: 'y' });
    expect([a.address, a.tags, b.address, b.tags]).toEqual(['v1:1', { role: 'w' }, 'v1:7', { role: 'y' }]);
  });

  it('shares only tags no reader could tell apart: key order and prototype count', () => {
    const plain = memberVersion('v2', 'v2:1', 0, { role: 'w', zone: 'a' });
    expect(Object.keys(memberVersion('v2', 'v2:1', 0, { zone: 'a', role: 'w' }).tags)).toEqual(['zone', 'role']);
    const fromWire = memberVersion('v2', 'v2:1', 0, decoded({ role: 'w', zone: 'a' }));
    expect(Object.getPrototypeOf(fromWire.tags)).toBe(null);
    expect(Object.getPrototypeOf(memberVersion('v2', 'v2:1', 0, { role: 'w', zone: 'a' }).tags)).toBe(Object.prototype);
    expect(Object.isFrozen(plain.tags)).toBe(true);
  });

  it('a simulation does not depend on one that ran before it in the same process', () => {
    const alone = run({ role: 'w', zone: 'a' });
    // The same values in another order, as another test might use: every node lists them in that order.
    expect(run({ zone: 'a', role: 'w' }).keys).toEqual(Array(5).fill('zone,role'));
    const after = run({ role: 'w', zone: 'a' });
    expect(after.keys).toEqual(Array(5).fill('role,zone'));
    expect(after).toEqual(alone);
  });

  it('keeps its encoded push-pull entries per state, and versions handed out stay whole when the registry starts again', () => {
    const v = memberVersion('v3', 'v3:1', 1, {});
    const alive = Uint8Array.of(1, 2, 3);
    expect(v.wire(0)).toBeUndefined();
    expect(v.keepWire(0, alive)).toBe(alive);
    expect(v.wire(0)).toBe(alive);
    expect(v.wire(1)).toBeUndefined();
    const m = new Member('v3', 'v3:1', 1, {});
    for (let i = 0; i <= memberVersionsMax; i++) memberVersion(`filler-${i}`, 'x:1', 0, {});
    expect([m.name, m.address, m.incarnation, m.version.wire(0)]).toEqual(['v3', 'v3:1', 1, alive]);
    expect(memberVersion('v3', 'v3:1', 1, {})).not.toBe(v); // forgotten, made again
  });
});

describe('a version\'s Alive, encoded once', () => {
  it('is the Alive the member was seen in, byte for byte, tags in their order', () => {
    const sent: Uint8Array[] = [];
    const datagrams = { maxDatagramBytes: 1400, send: (_to: string, bytes: Uint8Array) => void sent.push(bytes.slice()) } as unknown as DatagramService;
    const config = resolveSwimConfig({ preset: 'lan' });
    const table = new MemberTable(new Member('self', 'self:1', 0, noTags), { next: () => 0.5, fork() { return this; } }, 0);
    const timers = new TimerTable<SwimTimer>({ now: () => 0, setTimer: () => 0, cancelTimer: () => {} }, () => {});
    fc.assert(fc.property(
      fc.string({ minLength: 1, maxLength: 20 }), fc.string({ minLength: 1, maxLength: 30 }), fc.nat(1000),
      fc.array(fc.tuple(fc.string({ maxLength: 6 }), fc.string({ maxLength: 8 })), { maxLength: 4 }),
      (name, address, incarnation, pairs) => {
        const tags: Record<string, string> = {};
        for (const [k, v] of pairs) tags[k] = v;
        const alive = { type: MessageType.Alive, name, address, incarnation, tags } as const;
        const expected = encodeMessage(alive, new Uint8Array(1400));
        // Two nodes holding the member: the second takes the first's encoding.
        for (let node = 0; node < 2; node++) {
          const d = new Dissemination(datagrams, defaultInterner, config, emptyStats(), table, timers);
          d.queueAlive(new Member(name, address, incarnation, { ...tags }).version);
          sent.length = 0;
          d.sendWithGossip('peer:1', undefined);
          expect(sent).toHaveLength(1);
          // The packet: the version byte, then the one message as encodeMessage writes it.
          expect([...sent[0]!.subarray(1)]).toEqual([...expected]);
          expect(Object.keys((decodePacket(sent[0]!)[0] as { tags: object }).tags)).toEqual(Object.keys(tags));
        }
      },
    ), { numRuns: 200 });
  });

  it('is refused by a node whose packets it does not fit, as when that node encoded it itself', () => {
    const datagrams = (maxDatagramBytes: number) => ({ maxDatagramBytes, send: () => {} }) as unknown as DatagramService;
    const table = new MemberTable(new Member('self', 'self:1', 0, noTags), { next: () => 0.5, fork() { return this; } }, 0);
    const timers = new TimerTable<SwimTimer>({ now: () => 0, setTimer: () => 0, cancelTimer: () => {} }, () => {});
    const big = new Dissemination(datagrams(1400), defaultInterner, resolveSwimConfig({ preset: 'lan' }), emptyStats(), table, timers);
    const small = new Dissemination(datagrams(600), defaultInterner, resolveSwimConfig({ preset: 'lan' }), emptyStats(), table, timers);
    // About 800 bytes: name, address and tags near their limits.
    const tags = { a: 'x'.repeat(240), b: 'y'.repeat(240) };
    const name = 'w'.repeat(120);
    const version = new Member(name, `${'h'.repeat(200)}:1`, 1, tags).version;
    big.queueAlive(version);
    expect(version.alive!.length).toBeGreaterThan(600);
    expect(() => small.queueAlive(version)).toThrow(LimitExceededError);
    expect(() => small.queueAlive(new Member(`${name}2`, `${'h'.repeat(200)}:2`, 1, tags).version)).toThrow(LimitExceededError);
  });
});
