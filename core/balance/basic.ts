import { randomInt } from '../random.ts';
import type { Candidate, SelectContext, Strategy } from './candidate.ts';

/**
 * Round robin: each call takes the next candidate in list order. The cursor is a plain
 * counter taken modulo the current list length, so workers joining or leaving only shift
 * the rotation, never stall it. Blind to load: use it when workers are alike and calls cost
 * about the same.
 */
export class RoundRobinStrategy implements Strategy {
  readonly name = 'round-robin' as const;
  private cursor = 0;

  select<C extends Candidate>(candidates: readonly C[]): C | undefined {
    const n = candidates.length;
    if (n === 0) return undefined;
    // Keep the counter small so it never loses integer precision on long runs.
    this.cursor = this.cursor >= n ? 0 : this.cursor;
    const chosen = candidates[this.cursor]!;
    this.cursor++;
    return chosen;
  }
}

/** Uniform random choice: stateless, so many independent clients spread without coordination. */
export class RandomStrategy implements Strategy {
  readonly name = 'random' as const;

  select<C extends Candidate>(candidates: readonly C[], context: SelectContext): C | undefined {
    if (candidates.length === 0) return undefined;
    return candidates[randomInt(context.random, candidates.length)];
  }
}
