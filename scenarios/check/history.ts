import { ShoalError } from '../../core/index.ts';

/**
 * Operation histories in the shape Jepsen and Knossos use: one event per line of a `.jsonl`
 * file, an `invoke` when a process starts an operation and an `ok`, `fail` or `info` when it
 * learns the outcome. `info` means the outcome is unknown (a timeout, a crash): the operation
 * may have taken effect at any time after its invoke. `fail` means it did not happen.
 */
export type EventType = 'invoke' | 'ok' | 'fail' | 'info';
export type OperationName = 'read' | 'write' | 'cas';

export interface HistoryOp {
  readonly process: number | string;
  readonly type: EventType;
  readonly f: OperationName;
  /** The key for model `kv`; ignored by `register` and `cas-register`. */
  readonly key?: string;
  /** A read's invoke carries null and its `ok` what it read; a write the value written; a cas `[expected, new]`. */
  readonly value?: unknown;
  readonly time: number;
  readonly method?: string;
  readonly status?: string;
  readonly index?: number;
}

/** An invoke paired with its completion. Failed operations are dropped: they did not happen. */
export interface Operation {
  /** Position among the paired operations, in the order of their invokes. */
  readonly id: number;
  readonly process: number | string;
  readonly f: OperationName;
  readonly key: string | undefined;
  /** What a read returned (null when unknown), what a write wrote, a cas's `[expected, new]`. */
  readonly value: unknown;
  /** `info`: the outcome is unknown, the operation may take effect at any time after its invoke. */
  readonly type: 'ok' | 'info';
  readonly invokeTime: number;
  /** When the process learnt the outcome (`ok`) or gave up (`info`); null when it never did. */
  readonly completeTime: number | null;
  /** Positions of the two events in the history: they order events with the same time. */
  readonly invokeIndex: number;
  readonly completeIndex: number | null;
  /** The invoke event, for error messages that name its line. */
  readonly invoke: HistoryOp;
}

/** A history that is not well formed; `line` is the file line (or event number) at fault. */
export class HistoryError extends ShoalError {
  override readonly code = 'HISTORY_INVALID';
  constructor(readonly reason: string, readonly file?: string, readonly line?: number) {
    super(`${location(file, line)}${reason}`);
  }
}

function location(file: string | undefined, line: number | undefined): string {
  if (line === undefined) return file === undefined ? '' : `${file}: `;
  return file === undefined ? `event ${line}: ` : `${file}:${line}: `;
}

/** Where each parsed event came from, so that errors found later still name file and line. */
const origins = new WeakMap<HistoryOp, { file: string | undefined; line: number }>();

/** A HistoryError about `event`, naming its file and line when it was parsed, else its position. */
export function historyErrorAt(event: HistoryOp, index: number, reason: string): HistoryError {
  const origin = origins.get(event);
  return origin === undefined ? new HistoryError(reason, undefined, index + 1) : new HistoryError(reason, origin.file, origin.line);
}

const eventTypes: readonly EventType[] = ['invoke', 'ok', 'fail', 'info'];
const operationNames: readonly OperationName[] = ['read', 'write', 'cas'];

/** Parses a `.jsonl` history and checks that it is well formed; blank lines are skipped. */
export function parseHistory(text: string, file?: string): HistoryOp[] {
  const history: HistoryOp[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line.length === 0) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      throw new HistoryError(`not JSON: ${(error as Error).message}`, file, i + 1);
    }
    const problem = eventProblem(parsed);
    if (problem !== undefined) throw new HistoryError(problem, file, i + 1);
    const event = parsed as HistoryOp;
    origins.set(event, { file, line: i + 1 });
    history.push(event);
  }
  pairOperations(history);
  return history;
}

/** Why `value` is not a history event, or undefined when it is one. */
export function eventProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `expected an object, got ${JSON.stringify(value)}`;
  const e = value as Record<string, unknown>;
  if (!('process' in e)) return 'missing field "process"';
  if (!(typeof e.process === 'string' || (typeof e.process === 'number' && Number.isFinite(e.process)))) return `"process" must be a number or a string, got ${JSON.stringify(e.process)}`;
  if (!eventTypes.includes(e.type as EventType)) return `"type" must be one of ${eventTypes.join(', ')}; got ${JSON.stringify(e.type)}`;
  if (!operationNames.includes(e.f as OperationName)) return `"f" must be one of ${operationNames.join(', ')}; got ${JSON.stringify(e.f)}`;
  if (typeof e.time !== 'number' || !Number.isFinite(e.time)) return `"time" must be a number, got ${JSON.stringify(e.time)}`;
  if (e.key !== undefined && typeof e.key !== 'string') return `"key" must be a string, got ${JSON.stringify(e.key)}`;
  for (const field of ['method', 'status'] as const) {
    if (e[field] !== undefined && typeof e[field] !== 'string') return `"${field}" must be a string, got ${JSON.stringify(e[field])}`;
  }
  if (e.index !== undefined && typeof e.index !== 'number') return `"index" must be a number, got ${JSON.stringify(e.index)}`;
  return valueProblem(e);
}

function valueProblem(e: Record<string, unknown>): string | undefined {
  if (e.type === 'invoke' && (e.f === 'write' || e.f === 'cas') && !('value' in e)) return `missing field "value": a ${e.f} invoke carries ${e.f === 'cas' ? '[expected, new]' : 'the value written'}`;
  if (e.type === 'ok' && e.f === 'read' && !('value' in e)) return 'missing field "value": a read\'s ok carries the value read';
  if (e.type === 'invoke' && e.f === 'cas' && !(Array.isArray(e.value) && e.value.length === 2)) return `a cas carries [expected, new], got ${JSON.stringify(e.value)}`;
  return undefined;
}

/**
 * Checks every event and pairs each invoke with the next completion of the same process. An invoke still pending
 * at the end of the history counts as `info`: the process may have crashed after sending it.
 * Throws a HistoryError for a completion with no pending invoke, a second invoke while one
 * is pending, a completion of another operation than the one pending, or one before its invoke.
 */
export function pairOperations(history: readonly HistoryOp[]): Operation[] {
  const pending = new Map<number | string, number>();
  /** Per invoke, the position of its completion; -1 while there is none. */
  const completions = new Int32Array(history.length).fill(-1);
  for (let i = 0; i < history.length; i++) {
    const event = history[i]!;
    const problem = eventProblem(event);
    if (problem !== undefined) throw historyErrorAt(event, i, problem);
    const open = pending.get(event.process);
    if (event.type === 'invoke') {
      if (open !== undefined) throw historyErrorAt(event, i, `invoke by process ${JSON.stringify(event.process)} while its ${history[open]!.f} invoked ${where(history, open)} is still pending`);
      pending.set(event.process, i);
      continue;
    }
    if (open === undefined) throw historyErrorAt(event, i, `${event.type} for process ${JSON.stringify(event.process)}, which has no pending invoke`);
    checkCompletion(history, open, i);
    pending.delete(event.process);
    completions[open] = i;
  }
  const operations: Operation[] = [];
  for (let i = 0; i < history.length; i++) {
    const invoke = history[i]!;
    if (invoke.type !== 'invoke') continue;
    const done = completions[i]!;
    const complete = done < 0 ? undefined : history[done]!;
    if (complete?.type === 'fail') continue;
    operations.push(operation(operations.length, invoke, i, complete, done));
  }
  return operations;
}

function checkCompletion(history: readonly HistoryOp[], open: number, i: number): void {
  const invoke = history[open]!;
  const event = history[i]!;
  if (event.f !== invoke.f || event.key !== invoke.key) {
    throw historyErrorAt(event, i, `${event.type} of ${describeCall(event)} for process ${JSON.stringify(event.process)}, but its pending invoke ${where(history, open)} is ${describeCall(invoke)}`);
  }
  if (event.time < invoke.time) throw historyErrorAt(event, i, `completes at time ${event.time}, before its invoke at time ${invoke.time} ${where(history, open)}`);
}

function operation(id: number, invoke: HistoryOp, invokeIndex: number, complete: HistoryOp | undefined, completeIndex: number): Operation {
  const known = complete?.type === 'ok';
  const value = invoke.f === 'read' ? (known ? complete!.value ?? null : null) : invoke.value ?? null;
  return {
    id, process: invoke.process, f: invoke.f, key: invoke.key, value, type: known ? 'ok' : 'info',
    invokeTime: invoke.time, completeTime: complete === undefined ? null : complete.time,
    invokeIndex, completeIndex: complete === undefined ? null : completeIndex, invoke,
  };
}

function describeCall(event: HistoryOp): string {
  return event.key === undefined ? `a ${event.f}` : `a ${event.f} of key ${JSON.stringify(event.key)}`;
}

function where(history: readonly HistoryOp[], index: number): string {
  const origin = origins.get(history[index]!);
  return origin === undefined ? `(event ${index + 1})` : `(line ${origin.line})`;
}
