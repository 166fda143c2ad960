import { randomInt } from '../random.ts';
import type { Candidate, SelectContext, Strategy } from './candidate.ts';

/**
 * Bound on the per-worker state kept by the weighted strategy, as a multiple of the
 * current pool size: entries of departed workers are dropped in one sweep when the table
 * grows past it, so churn cannot grow memory without bound.
 */
export const WEIGHTED_STATE_SLACK_FACTOR = 2;

/** A worker's weight: its `capacity`, 1 when missing, 0 (drained) when not a positive finite number. */
export function weightOf(candidate: Candidate): number {
  const capacity = candidate.capacity;
  if (capacity === undefined) return 1;
  return Number.isFinite(capacity) && capacity > 0 ? capacity : 0;
}

/**
 * Weighted by capacity, with nginx's smooth weighted round robin: every call adds each
 * worker's weight to its running score, picks the highest score and subtracts the total
 * weight from the winner. Over any window of `sum(weights)` calls each worker gets exactly
 * its share, interleaved (weights 5,1,1 give a a b a c a a, not a a a a a b c), which a
 * weighted random draw only achieves on average. A capacity of 0 drains a worker; if every
 * worker is drained the choice falls back to uniform, because excluding workers is the
 * filter's job, not the strategy's.
 */
export class WeightedStrategy implements Strategy {
  readonly name = 'weighted' as const;
  private readonly scores = new Map<string, number>();

  select<C extends Candidate>(candidates: readonly C[], context: SelectContext): C | undefined {
    const n = candidates.length;
    if (n === 0) return undefined;
    if (this.scores.size > WEIGHTED_STATE_SLACK_FACTOR * n) this.scores.clear();
    let total = 0;
    let best: C | undefined;
    let bestScore = -Infinity;
    for (let i = 0; i < n; i++) {
      const candidate = candidates[i]!;
      const weight = weightOf(candidate);
      if (weight === 0) continue;
      const score = (this.scores.get(candidate.id) ?? 0) + weight;
      this.scores.set(candidate.id, score);
      total += weight;
      if (score > bestScore) {
        bestScore = score;
        best = candidate;
      }
    }
    if (best === undefined) return candidates[randomInt(context.random, n)];
    this.scores.set(best.id, bestScore - total);
    return best;
  }
}
