import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/index.ts';
import { Simulation, latencySampler, SeededRandom } from '../../sim/index.ts';
import { recordingSim, seedHint } from './helpers.ts';

const file = 'tests/sim/network.test.ts';

describe('network model', () => {
  it('drops datagrams at the configured loss rate, within statistical bounds', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 1_000_000 }), (percent, seed) => {
      const loss = percent / 100;
      const { sim, received, send } = recordingSim({ seed, network: { loss } }, ['a', 'b']);
      const n = 2_000;
      for (let i = 0; i < n; i++) send('a', 'b');
      sim.runUntil(1_000);
      const lost = n - received.get('b')!.length;
      const sigma = Math.sqrt(n * loss * (1 - loss));
      // Five standard deviations: a false alarm about once in three million runs.
      expect(Math.abs(lost - n * loss), seedHint(seed, file)).toBeLessThanOrEqual(5 * sigma + 1);
    }), { numRuns: 25 });
  });

  it('partitions block exactly the directions they name', () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 5, maxLength: 5 }),
      fc.boolean(),
      fc.integer({ min: 1, max: 1_000_000 }),
      (groupOf, oneway, seed) => {
        const groups = [0, 1, 2].map((g) => names.filter((_, i) => groupOf[i] === g)).filter((g) => g.length > 0);
        fc.pre(groups.length >= 2);
        const { sim, received, send } = recordingSim({ seed }, names);
        if (oneway) sim.partitionOneway(groups[0]!, groups[1]!);
        else sim.partition(...groups);
        for (const from of names) for (const to of names) if (from !== to) send(from, to);
        sim.runUntil(1_000);
        const group = (n: string) => groups.findIndex((g) => g.includes(n));
        for (const to of names) {
          const got = new Set(received.get(to)!.map((r) => r.from));
          for (const from of names) {
            if (from === to) continue;
            const gf = group(from);
            const gt = group(to);
            const cut = oneway ? gf === 0 && gt === 1 : gf >= 0 && gt >= 0 && gf !== gt;
            expect(got.has(from), `${from}→${to} ${seedHint(seed, file)}`).toBe(!cut);
            expect(sim.linkState(from, to)).toBe(cut ? 'partitioned' : 'healthy');
          }
        }
      },
    ), { numRuns: 60 });
  });

  it('isolate cuts one host both ways, bridge keeps the bridge connected, repair heals all', () => {
    const { sim, received, send } = recordingSim({ seed: 3 }, ['a', 'b', 'c', 'm']);
    sim.isolate('c');
    sim.bridge(['a'], 'm', ['b']);
    for (const [from, to] of [['a', 'b'], ['b', 'a'], ['a', 'm'], ['m', 'b'], ['c', 'a'], ['a', 'c']] as const) send(from, to);
    sim.runFor(100);
    expect(received.get('b')!.map((r) => r.from)).toEqual(['m']);
    expect(received.get('m')!.map((r) => r.from)).toEqual(['a']);
    expect(received.get('a')).toEqual([]);
    expect(received.get('c')).toEqual([]);
    sim.repair();
    send('c', 'a');
    send('a', 'b');
    sim.runFor(100);
    expect(received.get('a')!.map((r) => r.from)).toEqual(['c']);
    expect(received.get('b')!.map((r) => r.from)).toEqual(['m', 'a']);
  });

  it('repairing one pair heals only that pair', () => {
    const { sim, received, send } = recordingSim({ seed: 4 }, ['a', 'b', 'c']);
    sim.partition(['a'], ['b', 'c']);
    sim.repair(['a'], ['b']);
    send('a', 'b');
    send('a', 'c');
    sim.runFor(100);
    expect(received.get('b')).toHaveLength(1);
    expect(received.get('c')).toHaveLength(0);
  });

  it('holds messages, shows them, and delivers them in send order on release', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 1_000_000 }), (count, seed) => {
      const { sim, received, send } = recordingSim({ seed, network: { latency: { kind: 'exponential', meanMs: 20 } } }, ['a', 'b']);
      sim.hold('a', 'b');
      for (let i = 0; i < count; i++) {
        send('a', 'b', new Uint8Array([i]));
        sim.runFor(1);
      }
      sim.runFor(1_000);
      expect(received.get('b')).toHaveLength(0);
      expect(sim.linkState('a', 'b')).toBe('held');
      expect(sim.held('a', 'b').map((m) => m.sentAtMs)).toEqual(Array.from({ length: count }, (_, i) => i));
      sim.release('a', 'b');
      sim.runFor(1_000);
      expect(received.get('b')!.map((r) => r.payload[0]), seedHint(seed, file)).toEqual(Array.from({ length: count }, (_, i) => i));
      expect(sim.held('a', 'b')).toEqual([]);
    }), { numRuns: 30 });
  });

  it('duplicates and reorders when told to', () => {
    const dup = recordingSim({ seed: 5, network: { duplicate: 1 } }, ['a', 'b']);
    for (let i = 0; i < 10; i++) dup.send('a', 'b');
    dup.sim.runFor(100);
    expect(dup.received.get('b')).toHaveLength(20);

    const reorder = recordingSim({ seed: 6, network: { latency: { kind: 'constant', ms: 5 }, reorder: 0.5, reorderDelay: { kind: 'uniform', minMs: 5, maxMs: 50 } } }, ['a', 'b']);
    for (let i = 0; i < 100; i++) {
      reorder.send('a', 'b', new Uint8Array([i]));
      reorder.sim.runFor(1);
    }
    reorder.sim.runFor(200);
    const order = reorder.received.get('b')!.map((r) => r.payload[0]!);
    expect(order).toHaveLength(100);
    expect(order).not.toEqual([...order].sort((x, y) => x - y));
  });

  it('per-link models override the default in one direction only', () => {
    const { sim, received, send } = recordingSim({ seed: 7, network: { latency: { kind: 'constant', ms: 1 } } }, ['a', 'b']);
    sim.setLink('a', 'b', { latency: { kind: 'constant', ms: 100 } });
    send('a', 'b');
    send('b', 'a');
    sim.runFor(500);
    expect(received.get('b')![0]!.at).toBe(100);
    expect(received.get('a')![0]!.at).toBe(1);
  });

  it('serialises a host\'s sends through its bandwidth', () => {
    const { sim, received, send } = recordingSim({ seed: 8, network: { latency: { kind: 'constant', ms: 0 } } }, ['a', 'b']);
    sim.bandwidth('a', 10_000);
    for (let i = 0; i < 10; i++) send('a', 'b', new Uint8Array(1_000));
    sim.runFor(5_000);
    expect(received.get('b')!.map((r) => Math.round(r.at))).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
  });

  it('samples every latency distribution within its bounds', () => {
    const random = new SeededRandom('latency');
    const specs = [
      { spec: { kind: 'constant', ms: 3 } as const, min: 3, max: 3, mean: 3 },
      { spec: { kind: 'uniform', minMs: 1, maxMs: 5 } as const, min: 1, max: 5, mean: 3 },
      { spec: { kind: 'normal', meanMs: 10, stdDevMs: 2 } as const, min: 0, max: 60_000, mean: 10 },
      { spec: { kind: 'exponential', meanMs: 4, minMs: 1 } as const, min: 1, max: 60_000, mean: 5 },
      { spec: { kind: 'pareto', scaleMs: 2, shape: 3 } as const, min: 2, max: 60_000, mean: 3 },
      { spec: { kind: 'lognormal', medianMs: 2, sigma: 0.5 } as const, min: 0, max: 60_000, mean: 2 * Math.exp(0.125) },
    ];
    for (const { spec, min, max, mean } of specs) {
      const sample = latencySampler(spec);
      let sum = 0;
      let lo = Infinity;
      let hi = -Infinity;
      const n = 20_000;
      for (let i = 0; i < n; i++) {
        const x = sample(random);
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
        sum += x;
      }
      expect(lo, spec.kind).toBeGreaterThanOrEqual(min);
      expect(hi, spec.kind).toBeLessThanOrEqual(max);
      expect(Math.abs(sum / n - mean) / mean, spec.kind).toBeLessThan(0.05);
    }
    expect(() => latencySampler({ kind: 'uniform', minMs: 5, maxMs: 1 })).toThrow(ConfigError);
    expect(() => latencySampler({ kind: 'exponential', meanMs: -1 })).toThrow(ConfigError);
    expect(() => latencySampler({ kind: 'weird' } as never)).toThrow(/unknown distribution/);
    expect(() => new Simulation({ seed: 1, network: { loss: 2 } })).toThrow(ConfigError);
  });
});
