import { describe, expect, it } from 'vitest';
import { STRATEGY_NAMES } from '../../core/balance/index.ts';
import { runWorkload, WORKERS } from './workload.ts';

// 1 000 requests over three workers whose service times are 10, 20 and 40 ms, at about
// 70 % of their joint capacity, so a blind 1/3 split overloads the slow worker.
const SEEDS = ['balance-workload', 'seed-2', 'seed-3'];
const hint = (seed: string, strategy: string) =>
  `seed ${seed}, strategy ${strategy}; reproduce: npx tsx tests/balance/workload.ts ${seed}`;

describe('strategy distribution over 1 000 requests', () => {
  for (const seed of SEEDS) {
    const results = new Map(STRATEGY_NAMES.map((name) => [name, runWorkload(name, { seed })]));
    const get = (name: (typeof STRATEGY_NAMES)[number]) => results.get(name)!;

    it(`every request goes to exactly one worker (seed ${seed})`, () => {
      for (const result of results.values()) {
        expect(result.counts.reduce((a, b) => a + b, 0), hint(seed, result.strategy)).toBe(1_000);
      }
    });

    it(`round robin splits exactly evenly (seed ${seed})`, () => {
      expect(get('round-robin').counts, hint(seed, 'round-robin')).toEqual([334, 333, 333]);
    });

    it(`random stays near an even split (seed ${seed})`, () => {
      for (const count of get('random').counts) expect(Math.abs(count - 333), hint(seed, 'random')).toBeLessThan(60);
    });

    it(`weighted gives exactly the 4:2:1 capacity shares (seed ${seed})`, () => {
      const [fast, medium, slow] = get('weighted').counts;
      expect(Math.abs(fast! - 4_000 / 7), hint(seed, 'weighted')).toBeLessThanOrEqual(1);
      expect(Math.abs(medium! - 2_000 / 7), hint(seed, 'weighted')).toBeLessThanOrEqual(1);
      expect(Math.abs(slow! - 1_000 / 7), hint(seed, 'weighted')).toBeLessThanOrEqual(1);
    });

    it(`load-aware strategies favour the fast worker and cut tail latency (seed ${seed})`, () => {
      const blindP99 = get('round-robin').latencyMsP99;
      for (const name of ['least-connections', 'power-of-two', 'peak-ewma', 'lifo'] as const) {
        const { counts, latencyMsP99 } = get(name);
        expect(counts[0]!, hint(seed, name)).toBeGreaterThan(counts[1]!);
        expect(counts[1]!, hint(seed, name)).toBeGreaterThan(counts[2]!);
        expect(latencyMsP99 * 5, hint(seed, name)).toBeLessThan(blindP99);
      }
    });

    it(`rendezvous keeps every key on one worker and spreads keys (seed ${seed})`, () => {
      const result = get('rendezvous');
      expect(result.keyToWorkers.size).toBe(100);
      for (const [key, workers] of result.keyToWorkers) expect(workers.size, `${key}: ${hint(seed, 'rendezvous')}`).toBe(1);
      for (const count of result.counts) expect(count, hint(seed, 'rendezvous')).toBeGreaterThan(150);
    });
  }

  it('lifo keeps a light load on the warm worker while least connections spreads it', () => {
    // At about 10 % utilisation most requests find every worker idle: LIFO sends them back to
    // the worker that just finished, least connections to a random idle one (1 in 3 repeats).
    const light = { seed: 'light', arrivalMsMean: 200 };
    const lifo = runWorkload('lifo', light);
    const least = runWorkload('least-connections', light);
    expect(lifo.sameAsPrevious, hint('light', 'lifo')).toBeGreaterThan(800);
    expect(least.sameAsPrevious, hint('light', 'least-connections')).toBeLessThan(450);
  });

  it('the workload really has three workers of different speeds', () => {
    expect(WORKERS.map((w) => w.serviceMsMean)).toEqual([10, 20, 40]);
  });
});
