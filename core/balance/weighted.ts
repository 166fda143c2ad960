import { randomInt } from '../random.ts';
import type { Candidate, SelectContext, Strategy } from './candidate.ts';

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
 *
 * The running scores are kept in arrays aligned with the candidate list and checked by id
 * on every call; only when the pool changes (a join, a leave, a reorder) are they re-keyed
 * through a map, so the state is exactly one number per current worker.
 */
export class WeightedStrategy implements Strategy {
  readonly name = 'weighted' as const;
  private ids: string[] = [];
  private scores: number[] = [];

  select<C extends Candidate>(candidates: readonly C[], context: SelectContext): C | undefined {
    const n = candidates.length;
    if (n === 0) return undefined;
    this.align(candidates);
    let total = 0;
    let bestIndex = -1;
    let bestScore = -Infinity;
    for (let i = 0; i < n; i++) {
      const weight = weightOf(candidates[i]!);
      if (weight === 0) continue;
      const score = this.scores[i]! + weight;
      this.scores[i] = score;
      total += weight;
      if (score > bestScore) {
        bestScore = score;
        bestIndex = i;
      }
    }
    if (bestIndex < 0) return candidates[randomInt(context.random, n)];
    this.scores[bestIndex] = bestScore - total;
    return candidates[bestIndex];
  }

  private align(candidates: readonly Candidate[]): void {
    const n = candidates.length;
    let aligned = this.ids.length === n;
    for (let i = 0; aligned && i < n; i++) aligned = this.ids[i] === candidates[i]!.id;
    if (aligned) return;
    const previous = new Map(this.ids.map((id, i) => [id, this.scores[i]!]));
    this.ids = candidates.map((candidate) => candidate.id);
    this.scores = candidates.map((candidate) => previous.get(candidate.id) ?? 0);
  }
}
