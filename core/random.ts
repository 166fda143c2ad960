import { InvalidArgumentError } from './errors.ts';

/**
 * Randomness as the protocols see it: seeded in the simulator (derived from the run's one
 * seed), crypto-seeded in real mode.
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An independent stream derived from this one and `label`; the same label gives the same stream. */
  fork(label: string): Random;
}

/** An integer in [0, maxExclusive). */
export function randomInt(random: Random, maxExclusive: number): number {
  if (!(maxExclusive >= 1)) throw new InvalidArgumentError(`randomInt bound must be ≥ 1, got ${maxExclusive}`);
  return Math.floor(random.next() * maxExclusive);
}

/** True with probability `p` (0 ≤ p ≤ 1). */
export function chance(random: Random, p: number): boolean {
  return p > 0 && random.next() < p;
}

/** A uniformly chosen element, or undefined for an empty list. */
export function pick<T>(random: Random, items: readonly T[]): T | undefined {
  if (items.length === 0) return undefined;
  return items[randomInt(random, items.length)];
}

/** Fisher–Yates shuffle in place; returns the same array. */
export function shuffle<T>(random: Random, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    const tmp = items[i]!;
    items[i] = items[j]!;
    items[j] = tmp;
  }
  return items;
}

/** An exponentially distributed sample with the given mean. */
export function exponential(random: Random, mean: number): number {
  return -mean * Math.log(1 - random.next());
}

/** A standard normal sample (Box–Muller; uses two draws). */
export function standardNormal(random: Random): number {
  const u = 1 - random.next();
  const v = random.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Full jitter: a uniform delay in [0, ceilingMs). */
export function jitter(random: Random, ceilingMs: number): number {
  return random.next() * ceilingMs;
}
