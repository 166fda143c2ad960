import { describe, expect, it } from 'vitest';
import { ConfigError, InvalidArgumentError } from '../../core/index.ts';
import {
  type Candidate, createStrategy, peakEwmaCost, STRATEGY_NAMES, UNMEASURED_COST_PENALTY, WeightedStrategy,
} from '../../core/balance/index.ts';
import { SeededRandom } from '../../sim/index.ts';

const context = (seed = 'strategies', key: string | undefined = 'k') => ({ random: new SeededRandom(seed), nowMs: 0, key });
const pool = (n: number, extra: (i: number) => Partial<Candidate> = () => ({})): Candidate[] =>
  Array.from({ length: n }, (_, i) => ({ id: `w${i}`, inFlight: 0, ...extra(i) }));

describe('every strategy', () => {
  for (const name of STRATEGY_NAMES) {
    it(`${name}: nothing from an empty pool, the only one from a pool of one, always a member`, () => {
      const strategy = createStrategy(name);
      const ctx = context();
      expect(strategy.name).toBe(name);
      expect(strategy.select([], ctx)).toBeUndefined();
      const one = pool(1);
      expect(strategy.select(one, ctx)).toBe(one[0]);
      const many = pool(7, (i) => ({ inFlight: i % 3, latencyEwmaMs: 5 + i, capacity: 1 + i, lastReleasedAtMs: i * 10 }));
      const before = JSON.stringify(many);
      for (let i = 0; i < 200; i++) {
        ctx.key = `key-${i}`;
        expect(many).toContain(strategy.select(many, ctx));
      }
      expect(JSON.stringify(many)).toBe(before);
    });
  }

  it('an unknown name is a ConfigError', () => {
    expect(() => createStrategy('fastest' as never)).toThrow(ConfigError);
  });
});

describe('round robin', () => {
  it('cycles in list order and survives the pool shrinking', () => {
    const strategy = createStrategy('round-robin');
    const candidates = pool(3);
    const picks = Array.from({ length: 6 }, () => strategy.select(candidates, context())!.id);
    expect(picks).toEqual(['w0', 'w1', 'w2', 'w0', 'w1', 'w2']);
    strategy.select(candidates, context());
    expect(strategy.select(candidates.slice(0, 1), context())!.id).toBe('w0');
  });
});

describe('least connections', () => {
  it('always picks the minimum, and spreads ties randomly', () => {
    const strategy = createStrategy('least-connections');
    const ctx = context();
    expect(strategy.select(pool(5, (i) => ({ inFlight: [3, 1, 4, 0, 2][i]! })), ctx)!.id).toBe('w3');
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) seen.add(strategy.select(pool(4), ctx)!.id);
    expect(seen.size).toBe(4);
  });
});

describe('power of two choices', () => {
  it('between two candidates always takes the less loaded one', () => {
    const strategy = createStrategy('power-of-two');
    const ctx = context();
    const two = pool(2, (i) => ({ inFlight: i === 0 ? 9 : 1 }));
    for (let i = 0; i < 50; i++) expect(strategy.select(two, ctx)!.id).toBe('w1');
  });

  it('never picks the single most loaded of many', () => {
    const strategy = createStrategy('power-of-two');
    const ctx = context();
    const many = pool(10, (i) => ({ inFlight: i }));
    for (let i = 0; i < 500; i++) expect(strategy.select(many, ctx)!.id).not.toBe('w9');
  });
});

describe('peak EWMA', () => {
  it('cost is latency times the queue the call would join', () => {
    expect(peakEwmaCost({ id: 'a', inFlight: 2, latencyEwmaMs: 10 })).toBe(30);
    expect(peakEwmaCost({ id: 'a', inFlight: 0 })).toBe(0);
    expect(peakEwmaCost({ id: 'a', inFlight: 1 })).toBe(UNMEASURED_COST_PENALTY + 1);
  });

  it('prefers a fast worker over a slow one, and probes an unmeasured idle one', () => {
    const strategy = createStrategy('peak-ewma');
    const ctx = context();
    const two = [{ id: 'slow', inFlight: 0, latencyEwmaMs: 50 }, { id: 'fast', inFlight: 1, latencyEwmaMs: 10 }];
    for (let i = 0; i < 20; i++) expect(strategy.select(two, ctx)!.id).toBe('fast');
    const fresh = [{ id: 'known', inFlight: 0, latencyEwmaMs: 10 }, { id: 'new', inFlight: 0 }];
    expect(strategy.select(fresh, ctx)!.id).toBe('new');
    const probing = [{ id: 'known', inFlight: 3, latencyEwmaMs: 10 }, { id: 'new', inFlight: 1 }];
    expect(strategy.select(probing, ctx)!.id).toBe('known');
  });
});

describe('weighted (smooth weighted round robin)', () => {
  it('interleaves weights 5,1,1 as nginx does', () => {
    const strategy = new WeightedStrategy();
    const candidates = [{ id: 'a', inFlight: 0, capacity: 5 }, { id: 'b', inFlight: 0, capacity: 1 }, { id: 'c', inFlight: 0, capacity: 1 }];
    const picks = Array.from({ length: 7 }, () => strategy.select(candidates, context())!.id).join('');
    expect(picks).toBe('aabacaa');
  });

  it('never picks a drained worker, and falls back to uniform when all are drained', () => {
    const strategy = createStrategy('weighted');
    const ctx = context();
    const candidates = pool(3, (i) => ({ capacity: i === 1 ? 0 : 2 }));
    for (let i = 0; i < 30; i++) expect(strategy.select(candidates, ctx)!.id).not.toBe('w1');
    const drained = pool(3, () => ({ capacity: 0 }));
    const seen = new Set(Array.from({ length: 60 }, () => strategy.select(drained, ctx)!.id));
    expect(seen.size).toBe(3);
  });

  it('keeps each worker\'s running score when the pool is reordered or grows', () => {
    const strategy = new WeightedStrategy();
    const a = { id: 'a', inFlight: 0, capacity: 5 };
    const b = { id: 'b', inFlight: 0, capacity: 1 };
    const c = { id: 'c', inFlight: 0, capacity: 1 };
    const picks: string[] = [];
    for (let i = 0; i < 70; i++) picks.push(strategy.select(i % 2 === 0 ? [a, b, c] : [c, a, b], context())!.id);
    expect(picks.filter((id) => id === 'a')).toHaveLength(50);
    expect(picks.filter((id) => id === 'b')).toHaveLength(10);
    const d = { id: 'd', inFlight: 0, capacity: 3 };
    const grown: string[] = [];
    for (let i = 0; i < 100; i++) grown.push(strategy.select([a, b, c, d], context())!.id);
    expect(grown.filter((id) => id === 'd')).toHaveLength(30);
  });
});

describe('lifo', () => {
  it('prefers the most recently released idle worker, never a busier one', () => {
    const strategy = createStrategy('lifo');
    const ctx = context();
    const candidates = [
      { id: 'old', inFlight: 0, lastReleasedAtMs: 10 },
      { id: 'warm', inFlight: 0, lastReleasedAtMs: 90 },
      { id: 'busy', inFlight: 1, lastReleasedAtMs: 99 },
      { id: 'cold', inFlight: 0 },
    ];
    for (let i = 0; i < 20; i++) expect(strategy.select(candidates, ctx)!.id).toBe('warm');
  });
});

describe('rendezvous', () => {
  it('needs a key', () => {
    expect(() => createStrategy('rendezvous').select(pool(3), { random: new SeededRandom('r'), nowMs: 0 })).toThrow(InvalidArgumentError);
  });

  it('maps a key to the same worker whatever the list order', () => {
    const strategy = createStrategy('rendezvous');
    const candidates = pool(20);
    const reversed = [...candidates].reverse();
    for (let i = 0; i < 200; i++) {
      const ctx = context('r', `user-${i}`);
      expect(strategy.select(reversed, ctx)).toBe(strategy.select(candidates, ctx));
    }
  });

  const KEYS = 20_000;
  const assign = (candidates: Candidate[]) => {
    const strategy = createStrategy('rendezvous');
    return Array.from({ length: KEYS }, (_, i) => strategy.select(candidates, context('r', `key-${i}`))!.id);
  };

  it('a joining worker takes about 1/n of the keys, all from the others, and nothing else moves', () => {
    const before = assign(pool(10));
    const after = assign(pool(11));
    let moved = 0;
    for (let i = 0; i < KEYS; i++) {
      if (before[i] === after[i]) continue;
      moved++;
      expect(after[i]).toBe('w10');
    }
    expect(moved / KEYS).toBeGreaterThan(1 / 11 - 0.01);
    expect(moved / KEYS).toBeLessThan(1 / 11 + 0.01);
  });

  it('a leaving worker gives up only its own keys, spread over the rest', () => {
    const before = assign(pool(10));
    const after = assign(pool(10).filter((c) => c.id !== 'w3'));
    const receivers = new Map<string, number>();
    for (let i = 0; i < KEYS; i++) {
      if (before[i] !== 'w3') expect(after[i]).toBe(before[i]);
      else receivers.set(after[i]!, (receivers.get(after[i]!) ?? 0) + 1);
    }
    const moved = [...receivers.values()].reduce((a, b) => a + b, 0);
    expect(moved / KEYS).toBeGreaterThan(0.09);
    expect(moved / KEYS).toBeLessThan(0.11);
    expect(receivers.size).toBe(9);
    for (const count of receivers.values()) expect(count).toBeGreaterThan(moved / 9 / 2);
  });
});
