import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/index.ts';
import {
  Awareness, Suspicion, expectedConfirmations, failedProbeAwarenessDelta, pushPullIntervalMs, resolveSwimConfig,
  retransmitLimit, scaleByAwareness, suspicionTimeoutBoundsMs, suspicionTimeoutMs, swimPresets,
} from '../../core/swim/index.ts';

describe('suspicion timeout (memberlist / Lifeguard)', () => {
  it.each([
    // mult, maxMult, n, interval → min, max
    [4, 6, 1, 1000, 4000, 24_000],
    [4, 6, 10, 1000, 4000, 24_000],
    [4, 6, 100, 1000, 8000, 48_000],
    [4, 6, 1000, 1000, 12_000, 72_000],
    [6, 6, 100, 5000, 60_000, 360_000],
  ])('mult %d maxMult %d n %d interval %d → min %d max %d', (mult, maxMult, n, interval, min, max) => {
    const b = suspicionTimeoutBoundsMs(mult, maxMult, n, interval);
    expect(b.minMs).toBeCloseTo(min, 6);
    expect(b.maxMs).toBeCloseTo(max, 6);
  });

  it.each([
    // c, k, min, max → timeout: max − ln(c+1)/ln(k+1) × (max − min)
    [0, 2, 8000, 48_000, 48_000],
    [1, 2, 8000, 48_000, 22_762],
    [2, 2, 8000, 48_000, 8000],
    [5, 2, 8000, 48_000, 8000],
    [0, 0, 8000, 48_000, 8000],
    [1, 3, 8000, 48_000, 28_000],
  ])('c %d k %d min %d max %d → %d', (c, k, min, max, expected) => {
    expect(suspicionTimeoutMs(c, k, min, max)).toBe(expected);
  });

  it('expects k = mult − 2 confirmations, 0 in tiny clusters', () => {
    expect(expectedConfirmations(4, 100)).toBe(2);
    expect(expectedConfirmations(4, 3)).toBe(0);
    expect(expectedConfirmations(4, 4)).toBe(2);
  });

  it('Suspicion shrinks its deadline with independent confirmations only', () => {
    const s = new Suspicion(3, 'a', 1000, 2, 8000, 48_000);
    expect(s.deadlineMs).toBe(49_000);
    expect(s.confirm('a')).toBe(false);
    expect(s.confirm('b')).toBe(true);
    expect(s.confirm('b')).toBe(false);
    expect(s.deadlineMs).toBe(1000 + 22_762);
    expect(s.confirm('c')).toBe(true);
    expect(s.deadlineMs).toBe(9000);
    expect(s.confirm('d')).toBe(false);
  });
});

describe('retransmit limit', () => {
  it.each([
    [4, 1, 4], [4, 9, 4], [4, 10, 8], [4, 99, 8], [4, 100, 12], [4, 1000, 16], [4, 10_000, 20], [2, 50, 4],
  ])('mult %d n %d → %d', (mult, n, expected) => expect(retransmitLimit(mult, n)).toBe(expected));
});

describe('awareness', () => {
  it.each([[1000, 0, 1000], [1000, 1, 2000], [1000, 7, 8000]])('interval %d score %d → %d', (i, s, e) => {
    expect(scaleByAwareness(i, s)).toBe(e);
  });

  it.each([[3, 0, 3], [3, 3, 0], [3, 1, 2], [0, 0, 1]])('expected %d nacks, got %d → +%d', (e, r, d) => {
    expect(failedProbeAwarenessDelta(e, r)).toBe(d);
  });

  it('stays in [0, max) and is inert when disabled', () => {
    const a = new Awareness(8, true);
    expect(a.apply(-1)).toBe(0);
    expect(a.apply(20)).toBe(7);
    expect(a.scale(1000)).toBe(8000);
    const off = new Awareness(8, false);
    expect(off.apply(5)).toBe(0);
    expect(off.scale(1000)).toBe(1000);
  });
});

describe('push-pull interval scaling', () => {
  it.each([[1, 30_000], [32, 30_000], [33, 60_000], [64, 60_000], [65, 90_000], [1000, 180_000], [10_000, 300_000]])(
    'n %d → %d', (n, expected) => expect(pushPullIntervalMs(30_000, n)).toBe(expected));
});

describe('configuration', () => {
  it('LAN, WAN and local presets carry memberlist’s defaults', () => {
    expect(swimPresets.lan).toMatchObject({ probeIntervalMs: 1000, probeTimeoutMs: 500, indirectChecks: 3, suspicionMult: 4, retransmitMult: 4, gossipIntervalMs: 200, gossipNodes: 3, pushPullIntervalMs: 30_000 });
    expect(swimPresets.wan).toMatchObject({ probeIntervalMs: 5000, probeTimeoutMs: 3000, suspicionMult: 6, gossipIntervalMs: 500, gossipNodes: 4 });
    expect(swimPresets.local).toMatchObject({ probeTimeoutMs: 200, indirectChecks: 1, suspicionMult: 3, retransmitMult: 2, gossipIntervalMs: 100 });
    expect(resolveSwimConfig({ preset: 'wan', gossipNodes: 5 }).gossipNodes).toBe(5);
  });

  it.each([
    [{ probeIntervalMs: 0 }, 'probeIntervalMs'],
    [{ probeTimeoutMs: 2000 }, 'probeTimeoutMs'],
    [{ indirectChecks: 1.5 }, 'indirectChecks'],
    [{ packetBytesMax: 100 }, 'packetBytesMax'],
    [{ partitionFraction: 2 }, 'partitionFraction'],
    [{ awarenessEnabled: 'yes' as unknown as boolean }, 'awarenessEnabled'],
    [{ preset: 'moon' as 'lan' }, 'preset'],
  ])('refuses %j naming the field', (input, field) => {
    try {
      resolveSwimConfig(input);
      expect.unreachable('accepted an invalid configuration');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).field).toBe(field);
    }
  });
});
