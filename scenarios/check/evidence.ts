import type { Operation } from './history.ts';
import { casKind, nullValue, readKind, selectOps, writeKind, type SearchOps } from './models.ts';
import { search, type Budget } from './search.ts';

/**
 * Evidence for a violation: a small set of operations that cannot be ordered. Starting from
 * the operations around the first one the search could not linearize, operations are
 * removed, in halving chunks then one by one, while what is left still cannot be ordered,
 * within what is left of the check's budget. A removal must not leave a read (or a cas)
 * without the write of the value it saw when the history has one: otherwise the smallest
 * set would often be a lone read of a value "nobody wrote", which explains nothing.
 */

export interface EvidenceOperation {
  readonly process: number | string;
  readonly f: Operation['f'];
  readonly key?: string;
  readonly value: unknown;
  readonly invokeTime: number;
  readonly completeTime: number | null;
  readonly type: 'ok' | 'info';
}

export interface Evidence {
  readonly key?: string;
  readonly operations: EvidenceOperation[];
  readonly message: string;
  /**
   * True when no one operation can be removed with the rest still impossible to order (and
   * every value read still written within it); false when the budget ran out first.
   */
  readonly minimal: boolean;
}

/** Windows tried first, growing by this factor from the smallest: a violation is usually local. */
const windowOperationsMin = 8;
const windowGrowth = 4;
/** An evidence that could not be reduced shows at most this many operations, the nearest to the failed one. */
export const evidenceOperationsMax = 64;

class BudgetSpent extends Error {}

/** Positions of operations in the part being reduced. */
type Subset = readonly number[];

export function findEvidence(ops: SearchOps, blocked: number, budget: Budget, key: string | undefined): Evidence {
  const producers = producersOf(ops);
  const reduction = { witness: beforeCompletionOf(ops, blocked), failed: blocked };
  const holds = (candidate: Subset): boolean => {
    if (!explained(ops, candidate, producers)) return false;
    const outcome = search(selectOps(ops, candidate), budget);
    if (outcome.kind === 'exhausted') throw new BudgetSpent();
    if (outcome.kind === 'linearizable') return false;
    reduction.witness = candidate;
    reduction.failed = candidate[outcome.blocked]!;
    return true;
  };
  let minimal = false;
  try {
    if (!smallestWindow(reduction.witness, (window) => holds(withProducers(ops, window, producers)))) reduction.witness = allOf(ops);
    removeChunks(reduction.witness, holds);
    minimal = true;
  } catch (error) {
    if (!(error instanceof BudgetSpent)) throw error;
  }
  const shown = minimal ? reduction.witness : reduction.witness.slice(-evidenceOperationsMax);
  return {
    ...(key === undefined ? {} : { key }),
    operations: shown.map((i) => evidenceOperation(ops.sources[i]!)),
    message: explain(ops, reduction.failed, shown, producers, minimal),
    minimal,
  };
}

const allOf = (ops: SearchOps): Subset => Array.from({ length: ops.count }, (_, i) => i);

/** The operations invoked before `blocked` completed: the search never got past that completion. */
function beforeCompletionOf(ops: SearchOps, blocked: number): Subset {
  const time = ops.completeTime[blocked]!;
  const index = ops.completeIndex[blocked]!;
  return allOf(ops).filter((i) => ops.invokeTime[i]! < time || (ops.invokeTime[i] === time && ops.invokeIndex[i]! < index));
}

/**
 * `subset` and, for each value one of its operations saw that the history wrote, an operation
 * that wrote it (the latest invoked before the one that saw it), transitively: a window of a
 * long history starts with reads of values written before it.
 */
function withProducers(ops: SearchOps, subset: Subset, producers: ReadonlyMap<number, readonly number[]>): Subset {
  const members = new Set(subset);
  const pending = [...subset];
  while (pending.length > 0) {
    const i = pending.pop()!;
    if (ops.kind[i] === writeKind) continue;
    const candidates = producers.get(ops.a[i]!);
    if (candidates === undefined || candidates.some((p) => members.has(p))) continue;
    const producer = candidates.filter((p) => ops.invokeTime[p]! <= ops.completeTime[i]!).at(-1) ?? candidates[0]!;
    members.add(producer);
    pending.push(producer);
  }
  return [...members].sort((x, y) => x - y);
}

/** Whether a suffix (growing geometrically) still cannot be ordered; `holds` keeps the first that cannot. */
function smallestWindow(subset: Subset, holds: (c: Subset) => boolean): boolean {
  for (let size = windowOperationsMin; ; size *= windowGrowth) {
    if (holds(subset.slice(-size))) return true;
    if (size >= subset.length) return false;
  }
}

/** Removes chunks of halving sizes, then single operations until none can go; `holds` keeps each success. */
function removeChunks(subset: Subset, holds: (c: Subset) => boolean): void {
  let current = subset;
  for (let size = Math.max(1, current.length >> 1); ; size = Math.max(1, size >> 1)) {
    let removed = false;
    for (let start = 0; start < current.length;) {
      const trial = [...current.slice(0, start), ...current.slice(start + size)];
      if (trial.length > 0 && holds(trial)) {
        current = trial;
        removed = true;
      } else {
        start += size;
      }
    }
    if (size === 1 && !removed) return;
  }
}

/** The value operation `i` may write, or undefined for a read. */
function produced(ops: SearchOps, i: number): number | undefined {
  return ops.kind[i] === writeKind ? ops.a[i]! : ops.kind[i] === casKind ? ops.b[i]! : undefined;
}

/** Values some operation of `subset` may have written: a write's value, a cas's new value. */
function producedValues(ops: SearchOps, subset: Subset): Set<number> {
  const values = new Set<number>();
  for (const i of subset) {
    const value = produced(ops, i);
    if (value !== undefined) values.add(value);
  }
  return values;
}

/** Per value, the operations that may have written it, in invoke order. */
function producersOf(ops: SearchOps): Map<number, number[]> {
  const producers = new Map<number, number[]>();
  for (let i = 0; i < ops.count; i++) {
    const value = produced(ops, i);
    if (value === undefined) continue;
    const list = producers.get(value);
    if (list === undefined) producers.set(value, [i]);
    else list.push(i);
  }
  return producers;
}

/**
 * Whether every value a read or cas saw (or, for a cas with an unknown outcome, needs to take
 * effect), when the history wrote it, is written within `subset`.
 */
function explained(ops: SearchOps, subset: Subset, producers: ReadonlyMap<number, readonly number[]>): boolean {
  const written = producedValues(ops, subset);
  for (const i of subset) {
    const seen = ops.a[i]!;
    if (ops.kind[i] === writeKind || seen === nullValue) continue;
    if (producers.has(seen) && !written.has(seen)) return false;
  }
  return true;
}

function evidenceOperation(op: Operation): EvidenceOperation {
  return {
    process: op.process, f: op.f, ...(op.key === undefined ? {} : { key: op.key }), value: op.value,
    invokeTime: op.invokeTime, completeTime: op.completeTime, type: op.type,
  };
}

function explain(ops: SearchOps, failed: number, witness: Subset, producers: ReadonlyMap<number, readonly number[]>, minimal: boolean): string {
  const source = ops.sources[failed]!;
  const subject = describeOperation(source);
  const seen = ops.kind[failed] === readKind ? source.value : (source.value as unknown[])[0];
  if (ops.kind[failed] !== writeKind && ops.a[failed] !== nullValue && !producers.has(ops.a[failed]!)) {
    return `${subject} cannot be linearized: it saw ${JSON.stringify(seen)}, a value no operation wrote`;
  }
  const overwrite = minimal ? overwrittenBefore(ops, failed, witness) : undefined;
  if (overwrite !== undefined) {
    return `${subject} cannot be linearized: it saw ${JSON.stringify(seen)}, written by ${describeOperation(ops.sources[overwrite.writer]!)}, but ${describeOperation(ops.sources[overwrite.by]!)} overwrote it before the ${source.f} began`;
  }
  const scope = minimal ? `these ${witness.length} operations` : `the operations up to it (the budget ran out before the evidence could be reduced; the ${witness.length} nearest are shown)`;
  return `${subject} cannot be linearized: no order of ${scope} respects real time (an operation that completed before another was invoked comes first) and gives every operation the result it returned`;
}

/**
 * A stale read (or cas): within `witness`, the value `failed` saw was written only by
 * operations that completed before another write began, which completed before `failed` began.
 */
function overwrittenBefore(ops: SearchOps, failed: number, witness: Subset): { writer: number; by: number } | undefined {
  if (ops.kind[failed] === writeKind) return undefined;
  const value = ops.a[failed]!;
  const writers = witness.filter((i) => produced(ops, i) === value);
  if (writers.length === 0 || writers.some((w) => ops.unknown[w] === 1)) return undefined;
  const by = witness.find((i) => ops.unknown[i] === 0 && produced(ops, i) !== undefined && produced(ops, i) !== value &&
    ops.completeTime[i]! < ops.invokeTime[failed]! && writers.every((w) => ops.completeTime[w]! < ops.invokeTime[i]!));
  return by === undefined ? undefined : { writer: writers.at(-1)!, by };
}

/** `process 3's read → 1 [6, 7]`: who did what, and when (an unknown outcome may land any time after its invoke: `?`). */
export function describeOperation(op: Pick<Operation, 'process' | 'f' | 'value' | 'type' | 'invokeTime' | 'completeTime'>): string {
  return `process ${JSON.stringify(op.process)}'s ${operationText(op)} [${op.invokeTime}, ${op.type === 'info' ? '?' : op.completeTime}]`;
}

/** `read → 1`, `write 2`, `cas 1 → 2`; a read whose outcome is unknown is `read → ?`. */
export function operationText(op: Pick<Operation, 'f' | 'value' | 'type'>): string {
  if (op.f === 'read') return op.type === 'info' ? 'read → ?' : `read → ${JSON.stringify(op.value)}`;
  if (op.f === 'write') return `write ${JSON.stringify(op.value)}`;
  const [expected, next] = op.value as [unknown, unknown];
  return `cas ${JSON.stringify(expected)} → ${JSON.stringify(next)}`;
}
