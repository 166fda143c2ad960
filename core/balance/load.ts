import { randomInt } from '../random.ts';
import type { Candidate, SelectContext, Strategy } from './candidate.ts';

/**
 * Strategies that look at each worker's load. Ties are broken by starting the scan at a
 * random offset (one draw per call, no allocation): without it every client would pile
 * onto the first idle worker in list order.
 */

/**
 * The best candidate under `isBetter(candidate, best)`, scanning every candidate once
 * from a random offset so that ties go to a random one among the equals.
 */
function bestOf<C extends Candidate>(
  candidates: readonly C[],
  context: SelectContext,
  isBetter: (candidate: Candidate, best: Candidate) => boolean,
): C | undefined {
  const n = candidates.length;
  if (n === 0) return undefined;
  const offset = randomInt(context.random, n);
  let best = candidates[offset]!;
  // Two plain loops (offset..n, then 0..offset) rather than one with a modulo per step.
  for (let i = offset + 1; i < n; i++) if (isBetter(candidates[i]!, best)) best = candidates[i]!;
  for (let i = 0; i < offset; i++) if (isBetter(candidates[i]!, best)) best = candidates[i]!;
  return best;
}

const fewerInFlight = (candidate: Candidate, best: Candidate): boolean => candidate.inFlight < best.inFlight;

/** Least connections: the candidate with the fewest calls in flight. O(n) per call. */
export class LeastConnectionsStrategy implements Strategy {
  readonly name = 'least-connections' as const;

  select<C extends Candidate>(candidates: readonly C[], context: SelectContext): C | undefined {
    return bestOf(candidates, context, fewerInFlight);
  }
}

/**
 * Draws two distinct candidates uniformly; `cost` decides between them (lower wins, the
 * first on a tie). O(1) per call whatever the pool size, and, as Mitzenmacher showed, the
 * maximum load drops exponentially compared with one random choice.
 */
function pickTwo<C extends Candidate>(
  candidates: readonly C[],
  context: SelectContext,
  cost: (candidate: Candidate) => number,
): C | undefined {
  const n = candidates.length;
  if (n <= 1) return candidates[0];
  const i = randomInt(context.random, n);
  let j = randomInt(context.random, n - 1);
  if (j >= i) j++;
  const a = candidates[i]!;
  const b = candidates[j]!;
  return cost(b) < cost(a) ? b : a;
}

const inFlightOf = (candidate: Candidate): number => candidate.inFlight;

/** Power of two choices on calls in flight. */
export class PowerOfTwoStrategy implements Strategy {
  readonly name = 'power-of-two' as const;

  select<C extends Candidate>(candidates: readonly C[], context: SelectContext): C | undefined {
    return pickTwo(candidates, context, inFlightOf);
  }
}

/**
 * Cost of a worker that has calls in flight but no latency sample yet. It must exceed any
 * measured cost, so an unmeasured worker gets one probing call at a time (Finagle's rule)
 * rather than the whole herd.
 */
export const UNMEASURED_COST_PENALTY = 1e12;

/**
 * Finagle's peak-EWMA load metric: expected latency times the queue the call would join.
 * A worker without a sample and without calls in flight costs 0, so new workers are tried.
 */
export function peakEwmaCost(candidate: Candidate): number {
  const latencyMs = candidate.latencyEwmaMs ?? 0;
  if (latencyMs <= 0) return candidate.inFlight === 0 ? 0 : UNMEASURED_COST_PENALTY + candidate.inFlight;
  return latencyMs * (candidate.inFlight + 1);
}

/**
 * Peak-EWMA latency, as Finagle and Linkerd do it: power of two choices on
 * `peakEwmaCost`. The peak EWMA (see `PeakEwma` in core/resilience) jumps up at once on a
 * slow call and decays slowly, so a worker that turns slow is avoided within one call.
 */
export class PeakEwmaStrategy implements Strategy {
  readonly name = 'peak-ewma' as const;

  select<C extends Candidate>(candidates: readonly C[], context: SelectContext): C | undefined {
    return pickTwo(candidates, context, peakEwmaCost);
  }
}

/**
 * LIFO: among the least loaded candidates, the one that finished a call most recently.
 * At low load this keeps sending work to the same warm worker (its caches, its JIT, its
 * connection) and lets the others idle; as load rises the in-flight rule spreads it.
 * Workers that never finished a call come last.
 */
export class LifoStrategy implements Strategy {
  readonly name = 'lifo' as const;

  select<C extends Candidate>(candidates: readonly C[], context: SelectContext): C | undefined {
    return bestOf(candidates, context, idlerOrWarmer);
  }
}

function idlerOrWarmer(candidate: Candidate, best: Candidate): boolean {
  if (candidate.inFlight !== best.inFlight) return candidate.inFlight < best.inFlight;
  return (candidate.lastReleasedAtMs ?? -Infinity) > (best.lastReleasedAtMs ?? -Infinity);
}
