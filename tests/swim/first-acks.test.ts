import { describe, expect, it } from 'vitest';
import { PhiAccrualDetector } from '../../core/phi/index.ts';
import type { Random } from '../../core/random.ts';
import { noTags } from '../../core/swim/codec.ts';
import { resolveSwimConfig } from '../../core/swim/config.ts';
import { heartbeat, phiOf } from '../../core/swim/health.ts';
import { Member } from '../../core/swim/member.ts';
import { MemberTable } from '../../core/swim/table.ts';

/**
 * A member's first ack is kept by its table as two numbers (no object per member) until
 * the second makes its phi detector: phi is what a detector fed both acks says, and the
 * table's slots are reused, at most one per member held.
 */

const config = resolveSwimConfig({ preset: 'lan' });
const half: Random = { next: () => 0.5, fork() { return this; } };

function table(members: number): { table: MemberTable; members: Member[] } {
  const t = new MemberTable(new Member('self', 'self:1', 0, noTags), half, 0);
  const list = Array.from({ length: members }, (_, i) => new Member(`m${i}`, `10.0.0.${i}:7946`, 0, noTags));
  for (const m of list) t.add(m, 0);
  return { table: t, members: list };
}

/** What a detector fed these acks says at `atMs` (the first interval: one probe per member per period, as the table's live count gives). */
function reference(acks: number[], liveCount: number, atMs: number): number {
  const phi = new PhiAccrualDetector({ model: config.phiModel, windowSize: config.phiWindowSize, firstIntervalMs: config.probeIntervalMs * Math.max(1, liveCount - 1), minStdDevMs: config.probeIntervalMs });
  for (const a of acks) phi.heartbeat(a);
  return phi.phi(atMs);
}

describe('first acks', () => {
  it('give the phi of a detector fed the same acks, before and after the second', () => {
    const { table: t, members: [a, b] } = table(4);
    expect(phiOf(t, a!, 5_000, config)).toBe(0);
    heartbeat(t, a!, 1_234.5, config);
    expect(typeof a!.acks).toBe('number');
    for (const at of [2_000, 4_000.25, 9_000]) expect(phiOf(t, a!, at, config)).toBe(reference([1_234.5], 5, at));
    heartbeat(t, b!, 777, config);
    heartbeat(t, a!, 5_600, config);
    expect(a!.acks).toBeInstanceOf(PhiAccrualDetector);
    for (const at of [6_000, 9_000, 20_000]) expect(phiOf(t, a!, at, config)).toBe(reference([1_234.5, 5_600], 5, at));
    // b's first ack is untouched by a's slot being let go.
    expect(phiOf(t, b!, 3_000, config)).toBe(reference([777], 5, 3_000));
    expect(phiOf(t, a!, 3_000, config)).not.toBe(phiOf(t, b!, 3_000, config));
  });

  it('reuses the slots let go: by a detector, and by a member removed', () => {
    const { table: t, members } = table(50);
    const slotsUsed = () => (t as unknown as { firstAckSlots: number }).firstAckSlots;
    // Members acked in waves, each getting its detector before the next wave: one wave's slots serve them all.
    for (let wave = 0; wave < 5; wave++) {
      for (let i = 0; i < 10; i++) heartbeat(t, members[wave * 10 + i]!, wave * 100 + i, config);
      for (let i = 0; i < 10; i++) heartbeat(t, members[wave * 10 + i]!, wave * 100 + i + 50, config);
    }
    expect(slotsUsed()).toBe(10);
    for (const m of members) expect(m.acks).toBeInstanceOf(PhiAccrualDetector);

    const { table: u, members: others } = table(20);
    const used = () => (u as unknown as { firstAckSlots: number }).firstAckSlots;
    for (const m of others.slice(0, 10)) heartbeat(u, m, 10, config);
    for (const m of others.slice(0, 10)) u.remove(m);
    for (const m of others.slice(0, 10)) expect(m.acks).toBeUndefined();
    for (const m of others.slice(10)) heartbeat(u, m, 20, config);
    expect(used()).toBe(10);
    for (const m of others.slice(10)) expect(phiOf(u, m, 900, config)).toBe(reference([20], 11, 900));
  });

  it('keeps nothing for a member no longer held', () => {
    const { table: t, members: [a] } = table(3);
    t.remove(a!);
    heartbeat(t, a!, 100, config);
    expect(a!.acks).toBeUndefined();
    expect((t as unknown as { firstAckSlots: number }).firstAckSlots).toBe(0);
  });
});
