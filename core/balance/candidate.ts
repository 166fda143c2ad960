import type { Random } from '../random.ts';

/**
 * One worker as a strategy sees it: an id plus the load figures the worker registry keeps
 * for it. Strategies only read these fields; the registry owns and updates them, so the
 * same candidate objects can be handed to `select` call after call without copying.
 */
export interface Candidate {
  /** Stable identity (the member's name); rendezvous hashing and weighted state key on it. */
  readonly id: string;
  /** Calls sent to this worker and not yet finished. */
  readonly inFlight: number;
  /** Peak-EWMA latency in milliseconds; undefined until the first call finished. */
  readonly latencyEwmaMs?: number | undefined;
  /** Relative capacity from the worker's `capacity` tag; missing means 1. */
  readonly capacity?: number | undefined;
  /** Clock time at which the worker last finished a call; undefined if it never did. */
  readonly lastReleasedAtMs?: number | undefined;
}

/** What a strategy may use besides the candidates. */
export interface SelectContext {
  /** The only source of randomness a strategy may draw from. */
  readonly random: Random;
  /** Affinity key (a session, a shard, a user): required by `rendezvous`, ignored by the others. */
  readonly key?: string;
  /** Current clock time; strategies are pure functions of their inputs, time included. */
  readonly nowMs: number;
}

/**
 * A load-balancing strategy. `select` returns one of `candidates`, or undefined when the
 * list is empty (the caller turns that into its own typed error). It never mutates the
 * candidates and, where it can, allocates nothing: it runs once per call. It is generic so
 * the registry gets its own worker objects back without a cast.
 */
export interface Strategy {
  readonly name: StrategyName;
  select<C extends Candidate>(candidates: readonly C[], context: SelectContext): C | undefined;
}

/** Every strategy `createStrategy` knows, in the order the docs present them. */
export const STRATEGY_NAMES = [
  'round-robin',
  'random',
  'least-connections',
  'power-of-two',
  'peak-ewma',
  'weighted',
  'rendezvous',
  'lifo',
] as const;

export type StrategyName = (typeof STRATEGY_NAMES)[number];
