import fc from 'fast-check';
import type { HistoryOp } from '../../scenarios/check/index.ts';

/**
 * Histories linearizable by construction: processes run operations one at a time against a
 * sequential reference (one register per key); each operation's effect is applied
 * atomically at a point inside its interval, so the effect order is a linearization. Times
 * are integers: invokes and completions even, effect points odd, so an effect is strictly
 * inside its operation. An `info` operation's effect may land after its completion, or
 * never; a `crash` leaves the invoke pending for good and retires the process.
 */
export interface PlannedCall {
  readonly process: number;
  readonly f: 'read' | 'write' | 'cas';
  readonly key: number;
  readonly gap: number;
  readonly effectAfter: number;
  readonly completeAfter: number;
  readonly outcome: 'ok' | 'info' | 'crash';
  readonly applied: boolean;
  readonly casExpectsCurrent: boolean;
}

export interface Simulated {
  readonly history: HistoryOp[];
  /** Per completed read, its completion event's index in `history` and its operation's interval. */
  readonly reads: Array<{ readonly at: number; readonly key: string | undefined; readonly invoked: number; readonly completed: number }>;
  readonly writes: Array<{ readonly value: number; readonly key: string | undefined; readonly invoked: number; readonly completed: number }>;
}

export function plannedCalls(options: { cas: boolean; keys: number; lengthMin?: number; lengthMax?: number }): fc.Arbitrary<PlannedCall[]> {
  return fc.array(fc.record({
    process: fc.nat(4),
    f: options.cas ? fc.constantFrom('read' as const, 'write' as const, 'cas' as const) : fc.constantFrom('read' as const, 'write' as const),
    key: fc.nat(options.keys - 1),
    gap: fc.nat(3),
    effectAfter: fc.nat(4),
    completeAfter: fc.nat(4),
    outcome: fc.constantFrom('ok' as const, 'ok' as const, 'ok' as const, 'ok' as const, 'info' as const, 'crash' as const),
    applied: fc.boolean(),
    casExpectsCurrent: fc.boolean(),
  }), { minLength: options.lengthMin ?? 1, maxLength: options.lengthMax ?? 40 });
}

interface Timed {
  readonly call: PlannedCall;
  readonly process: string;
  readonly key: string | undefined;
  readonly invoked: number;
  readonly effect: number;
  readonly completed: number | undefined;
}

export function simulate(calls: readonly PlannedCall[], keyed: boolean): Simulated {
  const timed = schedule(calls, keyed);
  const states = new Map<string | undefined, number | null>();
  const events: Array<HistoryOp & { readonly rank: number }> = [];
  const writes: Simulated['writes'] = [];
  let written = 0;
  for (const t of [...timed].sort((x, y) => x.effect - y.effect)) {
    const state = states.get(t.key) ?? null;
    const happens = t.call.outcome === 'ok' || t.call.applied;
    const base = { process: t.process, f: t.call.f, ...(t.key === undefined ? {} : { key: t.key }) };
    let type: HistoryOp['type'] = t.call.outcome === 'ok' ? 'ok' : 'info';
    let value: unknown;
    if (t.call.f === 'read') {
      value = type === 'ok' ? state : null;
    } else if (t.call.f === 'write') {
      value = ++written;
      if (happens) states.set(t.key, written);
      if (type === 'ok') writes.push({ value: written, key: t.key, invoked: t.invoked, completed: t.completed! });
    } else {
      const expected = t.call.casExpectsCurrent ? state : written;
      value = [expected, ++written];
      if (expected === state && happens) states.set(t.key, written);
      else if (type === 'ok') type = 'fail';
    }
    events.push({ ...base, type: 'invoke', value: t.call.f === 'read' ? null : value, time: t.invoked, rank: 1 });
    if (t.completed !== undefined) events.push({ ...base, type, value, time: t.completed, rank: 0 });
  }
  // At equal times a completion comes first: the checker then orders those operations, the stricter reading.
  events.sort((x, y) => x.time - y.time || x.rank - y.rank);
  const history = events.map(({ rank: _rank, ...event }) => event);
  return { history, reads: completedReads(history), writes };
}

/** Each process's operations back to back; the effect is an odd time inside the interval (or after it, for info). */
function schedule(calls: readonly PlannedCall[], keyed: boolean): Timed[] {
  const free = new Map<number, number>();
  const generation = new Map<number, number>();
  const timed: Timed[] = [];
  for (const call of calls) {
    const invoked = (free.get(call.process) ?? 0) + 2 * call.gap;
    const effect = invoked + 1 + 2 * call.effectAfter;
    const completed = call.outcome === 'crash' ? undefined : call.outcome === 'info' ? invoked + 2 + 2 * call.completeAfter : effect + 1 + 2 * call.completeAfter;
    const process = `p${call.process}.${generation.get(call.process) ?? 0}`;
    timed.push({ call, process, key: keyed ? `k${call.key}` : undefined, invoked, effect, completed });
    if (call.outcome === 'crash') generation.set(call.process, (generation.get(call.process) ?? 0) + 1);
    free.set(call.process, completed ?? invoked);
  }
  return timed;
}

function completedReads(history: readonly HistoryOp[]): Simulated['reads'] {
  const invokedAt = new Map<number | string, number>();
  const reads: Simulated['reads'] = [];
  history.forEach((event, at) => {
    if (event.type === 'invoke') invokedAt.set(event.process, event.time);
    else if (event.type === 'ok' && event.f === 'read') reads.push({ at, key: event.key, invoked: invokedAt.get(event.process)!, completed: event.time });
  });
  return reads;
}
