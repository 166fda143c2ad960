import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../sim/index.ts';

describe('SeededRandom', () => {
  it("draws exactly seedrandom's Alea sequence, so runs recorded before it replay", () => {
    for (const seed of ['1', '7', '20261123', 'host/n1/1', '1/network', '', 'Ω≈ç√']) {
      const reference = seedrandom.alea(seed);
      const random = new SeededRandom(seed);
      const draws = Array.from({ length: 10_000 }, () => [random.next(), reference()]);
      expect(draws.filter(([ours, theirs]) => ours !== theirs), `seed "${seed}"`).toEqual([]);
    }
  });

  it('a fork depends on its label, not on the draws made before it', () => {
    const a = new SeededRandom('9');
    const b = new SeededRandom('9');
    for (let i = 0; i < 100; i++) a.next();
    expect(a.fork('x').next()).toBe(b.fork('x').next());
    expect(a.fork('x').next()).not.toBe(a.fork('y').next());
  });
});
