import { closeSync, openSync, writeSync } from 'node:fs';
import type { WorkloadCall, WorkloadCallEnd, WorkloadListener } from '../sim/hosts/workload.ts';
import { AppModuleError } from './apps.ts';
import type { HistoryOp } from './check/index.ts';

/**
 * A run's operation history: the workload's calls of methods an app module maps to
 * operations (its `operation` export), in the shape Jepsen and Knossos use, one event per
 * line of a `.jsonl` file: an `invoke` when a client process makes a call, then an `ok`,
 * `fail` (it certainly did not take effect) or `info` (its outcome is unknown) when it ends
 * (sim/hosts/call-outcome.ts says which). `time` is the run's clock in ms. A call that
 * never ended stays an invoke without completion, which a checker reads as `info`.
 */

/** Events a history records at most; a run past it keeps the first ones, counts the rest, and no checker gives a verdict on it. */
export const HISTORY_OPERATIONS_MAX = 1_000_000;

export type OperationName = 'read' | 'write' | 'cas';

/** One call as an operation: what an app module's `operation` export returns. */
export interface Operation {
  readonly f: OperationName;
  readonly key?: string;
  readonly value: unknown;
}

/**
 * An app module's `operation` export: the operation a call performs, or undefined when
 * its method is not one (nothing is recorded). Called at the invoke (no `response`: the
 * value is null for a read, the value written, or `[expected, new]` for a cas) and at the
 * `ok` (with the response: the value read, or as at the invoke).
 */
export type OperationOf = (call: { method: string; request: unknown; response?: unknown }) => Operation | undefined;

/** The module mapping one method's calls to operations. */
export interface OperationMapping {
  readonly operationOf: OperationOf;
  /** The module, as errors name it. */
  readonly module: string;
}

export interface HistoryCounts {
  invoke: number;
  ok: number;
  fail: number;
  info: number;
}

/** A run's history, as reports and checkers read it. */
export interface RunHistory {
  readonly events: readonly HistoryOp[];
  readonly counts: HistoryCounts;
  /** Calls not recorded because the history was full: a history with any is truncated. */
  readonly dropped: number;
}

const operationNames: ReadonlySet<string> = new Set(['read', 'write', 'cas']);

interface Open {
  readonly mapping: OperationMapping;
  readonly invoke: HistoryOp;
}

/** Records a workload's calls as they start and end (it is the workload's listener). */
export class HistoryRecorder implements WorkloadListener {
  private readonly eventList: HistoryOp[] = [];
  private readonly open = new Map<WorkloadCall, Open>();
  private readonly countsValue: HistoryCounts = { invoke: 0, ok: 0, fail: 0, info: 0 };
  private droppedValue = 0;
  /** The first operation mapping that threw or answered nonsense: the run is bad input. */
  private errorValue: AppModuleError | undefined;

  /**
   * @param now the run's clock (ms)
   * @param mappingOf the module mapping a method's calls, if any does
   */
  constructor(
    private readonly now: () => number,
    private readonly mappingOf: (method: string) => OperationMapping | undefined,
    private readonly capacity = HISTORY_OPERATIONS_MAX,
  ) {}

  get history(): RunHistory {
    return { events: this.eventList, counts: this.countsValue, dropped: this.droppedValue };
  }

  /** A mapping that failed, which makes the run bad input; undefined when none did. */
  get error(): AppModuleError | undefined {
    return this.errorValue;
  }

  invoked(call: WorkloadCall): void {
    const mapping = this.mappingOf(call.method);
    if (mapping === undefined || this.errorValue !== undefined) return;
    const operation = this.map(mapping, { method: call.method, request: call.request }, 'invoke');
    if (operation === undefined) return;
    // Room is kept for the completion of every recorded invoke.
    if (this.eventList.length + this.open.size >= this.capacity) {
      this.droppedValue++;
      return;
    }
    const invoke = this.push({ process: call.process, type: 'invoke', f: operation.f, ...keyOf(operation), value: operation.value ?? null, time: this.now(), method: call.method });
    this.open.set(call, { mapping, invoke });
  }

  ended(call: WorkloadCall, end: WorkloadCallEnd): void {
    const open = this.open.get(call);
    if (open === undefined) return;
    this.open.delete(call);
    const { invoke, mapping } = open;
    const completion = (type: HistoryOp['type'], value: unknown, status: string): HistoryOp => ({
      process: invoke.process, type, f: invoke.f, ...(invoke.key === undefined ? {} : { key: invoke.key }), value, time: this.now(), method: invoke.method!, status,
    });
    if (end.type !== 'ok') {
      this.push(completion(end.type, invoke.value, end.status));
      return;
    }
    const operation = this.map(mapping, { method: call.method, request: call.request, response: end.response }, 'ok');
    // A mapping that failed here leaves the outcome unknown rather than the history malformed.
    this.push(operation === undefined ? completion('info', invoke.value, 'OK') : completion('ok', operation.value ?? null, 'OK'));
  }

  private push(event: HistoryOp): HistoryOp {
    const indexed = { ...event, index: this.eventList.length };
    this.eventList.push(indexed);
    this.countsValue[event.type]++;
    return indexed;
  }

  /** The call's operation; undefined when it is none or the mapping failed (kept in `error`). */
  private map(mapping: OperationMapping, call: Parameters<OperationOf>[0], at: 'invoke' | 'ok'): Operation | undefined {
    let operation: Operation | undefined;
    try {
      operation = mapping.operationOf(call);
    } catch (error) {
      this.fail(mapping, `operation(${call.method} at its ${at}) threw: ${(error as Error)?.message ?? String(error)}`, error);
      return undefined;
    }
    if (operation === undefined && at === 'invoke') return undefined;
    const problem = operationProblem(operation);
    if (problem === undefined) return operation;
    this.fail(mapping, `operation(${call.method} at its ${at}) ${problem}`);
    return undefined;
  }

  private fail(mapping: OperationMapping, reason: string, cause?: unknown): void {
    this.errorValue ??= new AppModuleError(mapping.module, reason, { cause });
  }
}

function keyOf(operation: Operation): { key?: string } {
  return operation.key === undefined ? {} : { key: operation.key };
}

/** What is wrong with an `operation` export's answer, or undefined when it is an operation. */
export function operationProblem(operation: unknown): string | undefined {
  if (typeof operation !== 'object' || operation === null) return `must return { f, key?, value } (or undefined at the invoke for a method that is not an operation), returned ${JSON.stringify(operation) ?? 'undefined'}`;
  const { f, key, value } = operation as Partial<Operation>;
  if (typeof f !== 'string' || !operationNames.has(f)) return `returned f ${JSON.stringify(f)}: f is read, write or cas`;
  if (key !== undefined && typeof key !== 'string') return `returned key ${JSON.stringify(key)}: a key is a string`;
  if (f === 'cas' && !(Array.isArray(value) && value.length === 2)) return `returned a cas with value ${JSON.stringify(value)}: a cas carries [expected, new]`;
  return undefined;
}

/** Events written per write call. */
const linesPerWrite = 10_000;

/** Writes a history as `.jsonl`: one event per line. */
export function writeHistoryFile(path: string, events: readonly HistoryOp[]): void {
  const fd = openSync(path, 'w');
  try {
    for (let i = 0; i < events.length; i += linesPerWrite) {
      writeSync(fd, events.slice(i, i + linesPerWrite).map((e) => `${JSON.stringify(e)}\n`).join(''));
    }
  } finally {
    closeSync(fd);
  }
}
