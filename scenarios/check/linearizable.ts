import { InvalidArgumentError } from '../../core/index.ts';
import { findEvidence, type Evidence } from './evidence.ts';
import { pairOperations, type HistoryOp } from './history.ts';
import { modelNames, partition, toSearchOps, ValueInterner, type ModelName, type SearchOps } from './models.ts';
import { search, type Budget } from './search.ts';

export type Verdict = 'linearizable' | 'not-linearizable' | 'unknown';

export interface CheckOptions {
  /** The sequential specification: `register`, `cas-register`, or `kv` (a cas-register per key). */
  readonly model: ModelName;
  /**
   * Steps the search may take over all keys (a step visits one invoke or completion),
   * minimising the evidence included. Past it the verdict is `unknown`, never a guess.
   * @default 5_000_000 (a few seconds of search; a well-behaved history of n operations takes a few n)
   */
  readonly stepsMax?: number;
  /**
   * Wall time the search may take, in milliseconds. Past it the verdict is `unknown`.
   * @default 10_000
   */
  readonly timeMsMax?: number;
  /** The clock the time budget is read from, in milliseconds. @default performance.now */
  readonly now?: () => number;
}

/** The default budget: enough for histories of hundreds of thousands of operations at modest concurrency. */
export const checkDefaults = { stepsMax: 5_000_000, timeMsMax: 10_000 } as const;

export interface KeyVerdict {
  readonly verdict: Verdict;
  readonly operations: number;
}

export interface LinearizabilityResult {
  readonly verdict: Verdict;
  readonly model: ModelName;
  /** Operations checked: invokes paired with an `ok` or `info` (or left pending); failed ones are dropped. */
  readonly operations: number;
  readonly explored: { readonly steps: number; readonly timeMs: number };
  /** For `unknown`: the limit the search reached. */
  readonly stoppedBy?: 'stepsMax' | 'timeMsMax';
  /** Per key, for model `kv`. */
  readonly keys?: Record<string, KeyVerdict>;
  /** For `not-linearizable`: operations that cannot be ordered, and why. */
  readonly evidence?: Evidence;
}

/**
 * Whether some order of the history's operations respects real time (an operation that
 * completed before another was invoked comes first) and the model's sequential semantics.
 * Operations with an unknown outcome (`info`, or an invoke left pending) may take effect at
 * any time after their invoke, or never. Throws a HistoryError for a malformed history.
 */
export function checkLinearizable(history: readonly HistoryOp[], options: CheckOptions): LinearizabilityResult {
  const budget = budgetOf(options);
  const start = budget.now();
  const operations = pairOperations(history);
  const interner = new ValueInterner();
  const keys: Record<string, KeyVerdict> = {};
  let violation: { ops: SearchOps; blocked: number; key: string | undefined } | undefined;
  let stoppedBy: 'stepsMax' | 'timeMsMax' | undefined;
  for (const [key, part] of partition(operations, options.model)) {
    const ops = toSearchOps(part, interner);
    const outcome = stoppedBy === undefined ? search(ops, budget) : undefined;
    if (outcome?.kind === 'exhausted') stoppedBy = outcome.limit;
    if (outcome?.kind === 'violation') violation ??= { ops, blocked: outcome.blocked, key };
    const verdict = outcome === undefined || outcome.kind === 'exhausted' ? 'unknown' : outcome.kind === 'violation' ? 'not-linearizable' : 'linearizable';
    if (key !== undefined) keys[key] = { verdict, operations: part.length };
  }
  const evidence = violation === undefined ? undefined : findEvidence(violation.ops, violation.blocked, budget, violation.key);
  const verdict: Verdict = violation !== undefined ? 'not-linearizable' : stoppedBy !== undefined ? 'unknown' : 'linearizable';
  return {
    verdict, model: options.model, operations: operations.length,
    explored: { steps: budget.steps, timeMs: Math.round((budget.now() - start) * 10) / 10 },
    ...(verdict === 'unknown' ? { stoppedBy } : {}),
    ...(options.model === 'kv' ? { keys } : {}),
    ...(evidence === undefined ? {} : { evidence }),
  };
}

function budgetOf(options: CheckOptions): Budget {
  if (!modelNames.includes(options.model)) throw new InvalidArgumentError(`unknown model ${JSON.stringify(options.model)}; known: ${modelNames.join(', ')}`);
  const stepsMax = options.stepsMax ?? checkDefaults.stepsMax;
  const timeMsMax = options.timeMsMax ?? checkDefaults.timeMsMax;
  if (!(stepsMax >= 1)) throw new InvalidArgumentError(`stepsMax must be at least 1, got ${stepsMax}`);
  if (!(timeMsMax >= 0)) throw new InvalidArgumentError(`timeMsMax must be a number of milliseconds, got ${timeMsMax}`);
  const now = options.now ?? (() => performance.now());
  return { steps: 0, stepsMax, deadlineMs: now() + timeMsMax, now };
}
