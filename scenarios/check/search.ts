import { InfoSets } from './info-sets.ts';
import { Memo } from './memo.ts';
import { nullValue, readKind, step, type SearchOps } from './models.ts';

/**
 * Wing & Gong's search for a linearization with Lowe's just-in-time linearization, as
 * Porcupine does it. Invokes and completions are laid out in time order in a doubly linked
 * list. Walking it from the front, the search linearizes the first invoked operation that
 * the register allows (lifting both its entries out of the list, and starting again from the
 * front), and backtracks when it reaches a completion: an operation that completed must have
 * been linearized already. A configuration (state, linearized set) seen before is not
 * explored again (memo.ts). A read that fits the state is never postponed (see backtrack),
 * which keeps a violation from costing every order of every concurrent read. An operation
 * with an unknown outcome never completes: once every completed operation is linearized,
 * the history is linearizable whatever became of the unknown ones.
 */

/** Shared by the searches of one check: steps and wall time are bounded across all of them. */
export interface Budget {
  /** Steps taken so far; each visit of a list entry is a step. */
  steps: number;
  readonly stepsMax: number;
  readonly deadlineMs: number;
  readonly now: () => number;
}

export type SearchOutcome =
  | { readonly kind: 'linearizable' }
  /** `blocked`: the operation (index into the ops) whose completion no explored order got past. */
  | { readonly kind: 'violation'; readonly blocked: number }
  | { readonly kind: 'exhausted'; readonly limit: 'stepsMax' | 'timeMsMax' };

/** Memo entries to size for, per operation: a well-behaved history records about two (measured by the check bench). */
const memoEntriesPerOperation = 2.5;

/** Steps between two readings of the clock: reading it costs more than a step. */
const clockCheckSteps = 1024;

export function search(ops: SearchOps, budget: Budget): SearchOutcome {
  return new Search(ops).run(budget);
}

class Search {
  private readonly n: number;
  private readonly head: number;
  private readonly tail: number;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  /** Per list position: the operation, and whether it is the completion. */
  private readonly entryOp: Int32Array;
  private readonly isCompletion: Uint8Array;
  private readonly callAt: Int32Array;
  private readonly completionAt: Int32Array;
  /** Completion ranks: the order of completions in time; unknown outcomes rank last. */
  private readonly rankOf: Int32Array;
  private readonly opByRank: Int32Array;
  /** Operations with a known outcome, which rank first. */
  private readonly completed: number;
  private readonly kinds: Uint8Array;
  private readonly a: Int32Array;
  private readonly b: Int32Array;
  private readonly unknown: Uint8Array;
  private readonly memo: Memo;
  private readonly infoSets: InfoSets;

  /** The first completion rank not yet linearized, and the linearized ranks beyond it (sorted). */
  private frontier = 0;
  /** The linearized operations with an unknown outcome, which never complete. */
  private infoSet = InfoSets.empty;
  private ahead: Int32Array;
  private aheadCount = 0;
  private scratch: Int32Array;

  /** The register's state, and per linearized operation (a stack) what to restore when it is undone. */
  private state = nullValue;
  private depth = 0;
  private readonly opStack: Int32Array;
  private readonly stateStack: Int32Array;
  private readonly frontierStack: Int32Array;
  private readonly infoStack: Int32Array;

  constructor(ops: SearchOps) {
    const n = (this.n = ops.count);
    this.head = 2 * n;
    this.tail = 2 * n + 1;
    this.next = new Int32Array(2 * n + 2);
    this.prev = new Int32Array(2 * n + 2);
    this.entryOp = new Int32Array(2 * n);
    this.isCompletion = new Uint8Array(2 * n);
    this.callAt = new Int32Array(n);
    this.completionAt = new Int32Array(n);
    this.rankOf = new Int32Array(n);
    this.opByRank = new Int32Array(n);
    this.kinds = ops.kind;
    this.a = ops.a;
    this.b = ops.b;
    this.unknown = ops.unknown;
    this.infoSets = new InfoSets(n);
    this.memo = new Memo(memoEntriesPerOperation * n);
    this.ahead = new Int32Array(n + 1);
    this.scratch = new Int32Array(n + 1);
    this.opStack = new Int32Array(n);
    this.stateStack = new Int32Array(n);
    this.frontierStack = new Int32Array(n);
    this.infoStack = new Int32Array(n);
    let completed = 0;
    for (let i = 0; i < n; i++) completed += 1 - ops.unknown[i]!;
    this.completed = completed;
    this.layOut(ops);
  }

  /** Orders the 2n events by time, then by position in the history, into the list. */
  private layOut(ops: SearchOps): void {
    const n = this.n;
    const { invokeTime, invokeIndex, completeTime, completeIndex } = ops;
    // Event 2i is operation i's invoke, 2i + 1 its completion; unknown outcomes complete at infinity, in invoke order.
    const time = (e: number) => (e & 1 ? completeTime[e >> 1]! : invokeTime[e >> 1]!);
    const index = (e: number) => (e & 1 ? (ops.unknown[e >> 1] ? Number.MAX_SAFE_INTEGER - n + (e >> 1) : completeIndex[e >> 1]!) : invokeIndex[e >> 1]!);
    const order = Array.from({ length: 2 * n }, (_, e) => e);
    order.sort((x, y) => time(x) - time(y) || index(x) - index(y));
    let rank = 0;
    let last = this.head;
    for (let at = 0; at < 2 * n; at++) {
      const event = order[at]!;
      const op = event >> 1;
      this.entryOp[at] = op;
      this.isCompletion[at] = event & 1;
      if (event & 1) {
        this.completionAt[op] = at;
        this.opByRank[rank] = op;
        this.rankOf[op] = rank++;
      } else {
        this.callAt[op] = at;
      }
      this.next[last] = at;
      this.prev[at] = last;
      last = at;
    }
    this.next[last] = this.tail;
    this.prev[this.tail] = last;
  }

  run(budget: Budget): SearchOutcome {
    let frontierBest = 0;
    let steps = budget.steps;
    let entry = this.next[this.head]!;
    if (this.completed === 0) return { kind: 'linearizable' };
    for (;;) {
      if (++steps > budget.stepsMax) return this.stop(budget, steps, 'stepsMax');
      if (steps % clockCheckSteps === 0 && budget.now() > budget.deadlineMs) return this.stop(budget, steps, 'timeMsMax');
      const op = this.entryOp[entry]!;
      if (this.isCompletion[entry] === 0) {
        const after = step(this.state, this.kinds[op]!, this.a[op]!, this.b[op]!);
        if (after >= 0 && this.push(op, after)) {
          if (this.frontier >= this.completed) return this.finish(budget, steps, { kind: 'linearizable' });
          if (this.frontier > frontierBest) frontierBest = this.frontier;
          entry = this.next[this.head]!;
          continue;
        }
        // A read that fits the state, explored from here before (and failed): this configuration fails too.
        if (after < 0 || this.kinds[op] !== readKind) {
          entry = this.next[entry]!;
          continue;
        }
      }
      entry = this.backtrack();
      if (entry < 0) return this.finish(budget, steps, { kind: 'violation', blocked: this.opByRank[frontierBest]! });
    }
  }

  /**
   * Undoes linearizations until one that had alternatives, and returns the entry to try
   * next; -1 when none is left. A read is linearized as soon as it fits the state and never
   * postponed: any order that places it later can place it there instead (it changes no
   * state, and every operation that must precede it is already linearized). So when a read
   * fails, so does the configuration it was linearized from: the undoing goes on.
   */
  private backtrack(): number {
    let undone: number;
    do {
      if (this.depth === 0) return -1;
      undone = this.opStack[--this.depth]!;
      this.state = this.stateStack[this.depth]!;
      this.undo(undone, this.frontierStack[this.depth]!, this.infoStack[this.depth]!);
    } while (this.kinds[undone] === readKind);
    return this.next[this.callAt[undone]!]!;
  }

  /** Linearizes `op`, leading to `state`, unless that configuration was explored before. */
  private push(op: number, state: number): boolean {
    const frontierBefore = this.frontier;
    const infoBefore = this.infoSet;
    if (!this.tryLinearize(op, state)) return false;
    this.opStack[this.depth] = op;
    this.stateStack[this.depth] = this.state;
    this.infoStack[this.depth] = infoBefore;
    this.frontierStack[this.depth++] = frontierBefore;
    this.state = state;
    return true;
  }

  private finish(budget: Budget, steps: number, outcome: SearchOutcome): SearchOutcome {
    budget.steps = steps;
    return outcome;
  }

  private stop(budget: Budget, steps: number, limit: 'stepsMax' | 'timeMsMax'): SearchOutcome {
    budget.steps = Math.min(steps, budget.stepsMax);
    return { kind: 'exhausted', limit };
  }

  /**
   * Linearizes `op` (leading to `state`) unless that configuration was explored before:
   * records it in the memo, moves the frontier or the ranks ahead of it, lifts the entries.
   */
  private tryLinearize(op: number, state: number): boolean {
    if (this.unknown[op] === 1) {
      const infoSet = this.infoSets.add(this.infoSet, op);
      if (!this.memo.add(state, this.frontier, infoSet, this.ahead, this.aheadCount)) return false;
      this.infoSet = infoSet;
      this.lift(op);
      return true;
    }
    const rank = this.rankOf[op]!;
    const ahead = this.ahead;
    const next = this.scratch;
    let frontier = this.frontier;
    let count = 0;
    if (rank === frontier) {
      let i = 0;
      frontier++;
      while (i < this.aheadCount && ahead[i] === frontier) {
        frontier++;
        i++;
      }
      for (; i < this.aheadCount; i++) next[count++] = ahead[i]!;
    } else {
      let i = 0;
      while (i < this.aheadCount && ahead[i]! < rank) next[count++] = ahead[i++]!;
      next[count++] = rank;
      while (i < this.aheadCount) next[count++] = ahead[i++]!;
    }
    if (!this.memo.add(state, frontier, this.infoSet, next, count)) return false;
    this.frontier = frontier;
    this.scratch = ahead;
    this.ahead = next;
    this.aheadCount = count;
    this.lift(op);
    return true;
  }

  /** Undoes the linearization of `op`, which moved the frontier from `frontierBefore` or the set of unknown outcomes from `infoBefore`. */
  private undo(op: number, frontierBefore: number, infoBefore: number): void {
    if (this.unknown[op] === 1) {
      this.infoSet = infoBefore;
      this.unlift(op);
      return;
    }
    const rank = this.rankOf[op]!;
    const ahead = this.ahead;
    const next = this.scratch;
    let count = 0;
    if (rank === frontierBefore) {
      for (let r = frontierBefore + 1; r < this.frontier; r++) next[count++] = r;
      for (let i = 0; i < this.aheadCount; i++) next[count++] = ahead[i]!;
    } else {
      for (let i = 0; i < this.aheadCount; i++) if (ahead[i] !== rank) next[count++] = ahead[i]!;
    }
    this.frontier = frontierBefore;
    this.scratch = ahead;
    this.ahead = next;
    this.aheadCount = count;
    this.unlift(op);
  }

  private lift(op: number): void {
    this.unlink(this.callAt[op]!);
    this.unlink(this.completionAt[op]!);
  }

  private unlift(op: number): void {
    this.relink(this.completionAt[op]!);
    this.relink(this.callAt[op]!);
  }

  private unlink(at: number): void {
    this.next[this.prev[at]!] = this.next[at]!;
    this.prev[this.next[at]!] = this.prev[at]!;
  }

  private relink(at: number): void {
    this.next[this.prev[at]!] = at;
    this.prev[this.next[at]!] = at;
  }
}
