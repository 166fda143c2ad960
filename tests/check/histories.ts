import type { HistoryOp } from '../../scenarios/check/index.ts';

/** One operation as a test writes it: who, what, the value (read: what it returned), when. */
export interface Call {
  readonly process: number | string;
  readonly f: 'read' | 'write' | 'cas';
  readonly value: unknown;
  readonly invoked: number;
  /** Omitted for an operation left pending at the end of the history. */
  readonly completed?: number;
  /** @default 'ok' */
  readonly type?: 'ok' | 'fail' | 'info';
  readonly key?: string;
}

/** The events of `calls`, in time order (an invoke and a completion at the same time: the completion first). */
export function historyOf(...calls: readonly Call[]): HistoryOp[] {
  const events: Array<HistoryOp & { rank: number }> = [];
  for (const call of calls) {
    const base = { process: call.process, f: call.f, ...(call.key === undefined ? {} : { key: call.key }) };
    events.push({ ...base, type: 'invoke', value: call.f === 'read' ? null : call.value, time: call.invoked, rank: 1 });
    if (call.completed !== undefined) events.push({ ...base, type: call.type ?? 'ok', value: call.type === 'info' && call.f === 'read' ? null : call.value, time: call.completed, rank: 0 });
  }
  events.sort((x, y) => x.time - y.time || x.rank - y.rank);
  return events.map(({ rank: _rank, ...event }) => event);
}

export const toJsonLines = (history: readonly HistoryOp[]): string => history.map((e) => JSON.stringify(e)).join('\n') + '\n';

export const read = (process: number | string, value: unknown, invoked: number, completed?: number, extra: Partial<Call> = {}): Call => ({ process, f: 'read', value, invoked, completed, ...extra });
export const write = (process: number | string, value: unknown, invoked: number, completed?: number, extra: Partial<Call> = {}): Call => ({ process, f: 'write', value, invoked, completed, ...extra });
export const cas = (process: number | string, expected: unknown, next: unknown, invoked: number, completed?: number, extra: Partial<Call> = {}): Call => ({ process, f: 'cas', value: [expected, next], invoked, completed, ...extra });
