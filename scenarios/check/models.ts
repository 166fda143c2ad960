import { historyErrorAt, type Operation } from './history.ts';

/**
 * The sequential specifications a history is checked against. Every model is, per
 * partition, a register over interned values: `register` (read, write) and `cas-register`
 * (read, write, cas) are one register whatever the keys say; `kv` is one cas-register per
 * key, checked independently (linearizability is compositional, Herlihy & Wing; the
 * P-compositionality of Horn & Kroening). Every register starts at null.
 */
export type ModelName = 'register' | 'kv' | 'cas-register';
export const modelNames: readonly ModelName[] = ['register', 'kv', 'cas-register'];

/** Operation kinds of the search; numbers so that a step is a switch on small integers. */
export const readKind = 0;
export const writeKind = 1;
export const casKind = 2;

/** The initial value of every register, null, interned first. */
export const nullValue = 0;

/**
 * One part's operations as the search sees them, a column per field (millions of small
 * objects would cost the garbage collector more than the search): values interned to
 * integers; for `info` the completion is at infinity.
 */
export interface SearchOps {
  readonly count: number;
  readonly kind: Uint8Array;
  /** A read's value, a write's value, a cas's expected value. */
  readonly a: Int32Array;
  /** A cas's new value; unused otherwise. */
  readonly b: Int32Array;
  /** 1 for `info`: the outcome is unknown, the effect may land at any time after the invoke. */
  readonly unknown: Uint8Array;
  readonly invokeTime: Float64Array;
  readonly invokeIndex: Float64Array;
  readonly completeTime: Float64Array;
  readonly completeIndex: Float64Array;
  readonly sources: readonly Operation[];
}

/** The register's state after `op` from `state`, or -1 when `op` cannot happen in `state`. */
export function step(state: number, kind: number, a: number, b: number): number {
  if (kind === writeKind) return a;
  if (kind === readKind) return state === a ? state : -1;
  return state === a ? b : -1;
}

/** Interns values by their canonical JSON (object keys sorted), so that equal values are equal integers. */
export class ValueInterner {
  private readonly ids = new Map<string, number>([['null', nullValue]]);
  /** Finite numbers, the common case, skip the JSON (no other value's JSON is a bare number). */
  private readonly numberIds = new Map<number, number>();
  private count = 1;

  id(value: unknown): number {
    if (typeof value === 'number' && Number.isFinite(value)) {
      let id = this.numberIds.get(value);
      if (id === undefined) this.numberIds.set(value, (id = this.count++));
      return id;
    }
    return this.fresh(canonicalJson(value));
  }

  /** How many values were interned; ids are below it. */
  get size(): number {
    return this.count;
  }

  private fresh(text: string): number {
    let id = this.ids.get(text);
    if (id === undefined) this.ids.set(text, (id = this.count++));
    return id;
  }
}

function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * The operations of each independent part of the history: one part for `register` and
 * `cas-register`, one per key for `kv` (in the order keys first appear). Throws a
 * HistoryError for an operation the model does not have or a `kv` operation without a key.
 */
export function partition(operations: readonly Operation[], model: ModelName): Map<string | undefined, Operation[]> {
  const parts = new Map<string | undefined, Operation[]>();
  for (const op of operations) {
    if (op.f === 'cas' && model === 'register') throw historyErrorAt(op.invoke, op.invokeIndex, 'model register has no cas; check this history with model cas-register or kv');
    if (model === 'kv' && op.key === undefined) throw historyErrorAt(op.invoke, op.invokeIndex, `model kv needs a "key" on every operation; this ${op.f} has none`);
    const key = model === 'kv' ? op.key : undefined;
    let part = parts.get(key);
    if (part === undefined) parts.set(key, (part = []));
    part.push(op);
  }
  return parts;
}

/**
 * The search's view of one part. Operations with an unknown outcome that cannot matter are
 * left out: a read (it may not have happened, so it constrains nothing), and a write or cas
 * whose value no completed read or cas saw (in any order where it took effect, the next
 * operation overwrites its value unseen, so the same order without it is as good).
 */
export function toSearchOps(operations: readonly Operation[], interner: ValueInterner): SearchOps {
  const n = operations.length;
  const a = new Int32Array(n);
  const b = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const op = operations[i]!;
    if (op.f === 'cas') [a[i], b[i]] = casValues(op, interner);
    else a[i] = interner.id(op.value);
  }
  /** Per interned value, 1 when a completed read or a cas saw (or needs) it. */
  const seen = new Uint8Array(interner.size);
  for (let i = 0; i < n; i++) if (operations[i]!.f === 'cas' || (operations[i]!.f === 'read' && operations[i]!.type === 'ok')) seen[a[i]!] = 1;
  const kept: number[] = [];
  for (let i = 0; i < n; i++) {
    const op = operations[i]!;
    if (op.type === 'ok' || (op.f === 'write' && seen[a[i]!] === 1) || (op.f === 'cas' && seen[b[i]!] === 1)) kept.push(i);
  }
  const out = columns(kept.length);
  for (let j = 0; j < kept.length; j++) {
    const i = kept[j]!;
    const op = operations[i]!;
    const unknown = op.type === 'info';
    out.kind[j] = op.f === 'read' ? readKind : op.f === 'write' ? writeKind : casKind;
    out.a[j] = a[i]!;
    out.b[j] = b[i]!;
    out.unknown[j] = unknown ? 1 : 0;
    out.invokeTime[j] = op.invokeTime;
    out.invokeIndex[j] = op.invokeIndex;
    out.completeTime[j] = unknown ? Infinity : op.completeTime!;
    out.completeIndex[j] = unknown ? Infinity : op.completeIndex!;
  }
  return { ...out, count: kept.length, sources: kept.map((i) => operations[i]!) };
}

/** The operations at `indices` (positions in `ops`), in that order. */
export function selectOps(ops: SearchOps, indices: readonly number[]): SearchOps {
  const out = columns(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i]!;
    for (const field of columnNames) out[field][i] = ops[field][from]!;
  }
  return { ...out, count: indices.length, sources: indices.map((i) => ops.sources[i]!) };
}

const columnNames = ['kind', 'a', 'b', 'unknown', 'invokeTime', 'invokeIndex', 'completeTime', 'completeIndex'] as const;
type Columns = Omit<SearchOps, 'count' | 'sources'>;

function columns(count: number): Columns {
  return {
    kind: new Uint8Array(count), a: new Int32Array(count), b: new Int32Array(count), unknown: new Uint8Array(count),
    invokeTime: new Float64Array(count), invokeIndex: new Float64Array(count), completeTime: new Float64Array(count), completeIndex: new Float64Array(count),
  };
}

function casValues(op: Operation, interner: ValueInterner): [number, number] {
  const [expected, next] = op.value as [unknown, unknown];
  return [interner.id(expected), interner.id(next)];
}
