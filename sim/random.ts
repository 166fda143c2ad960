import seedrandom from 'seedrandom';
import type { Random } from '../core/index.ts';

/**
 * A seeded generator (Alea, from seedrandom). A fork's stream depends only on the root
 * seed and the chain of labels, never on how many numbers were drawn before it, so adding
 * a host or a draw in one place does not shift every other stream.
 */
export class SeededRandom implements Random {
  private readonly prng: () => number;

  constructor(readonly seed: string) {
    this.prng = seedrandom.alea(seed);
  }

  next(): number {
    return this.prng();
  }

  fork(label: string): SeededRandom {
    return new SeededRandom(`${this.seed}/${label}`);
  }
}
