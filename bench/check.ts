import seedrandom from 'seedrandom';
import { checkLinearizable, parseHistory, type HistoryOp, type LinearizabilityResult } from '../scenarios/check/index.ts';

/**
 * The linearizability checker on generated kv histories that are linearizable by
 * construction: per key, `clientsPerKey` closed-loop clients (always one operation in
 * flight each) whose effects are applied atomically at a random point inside the operation's
 * interval; reads, writes of unique values, cas that succeed or fail, and a few operations
 * with an unknown outcome (`info`, applied or not). The history grows (doubling) until a
 * check takes longer than the limit or the cap is reached.
 */

export interface CheckBenchOptions {
  /** @default 1 (one partition: every operation in one search, the hard case) */
  readonly keys?: number;
  /** @default 5 */
  readonly clientsPerKey?: number;
  /** @default 10_000: the target size, measured first */
  readonly operationsMin?: number;
  /** @default 1_280_000: keeps memory (two event objects per operation) under a gigabyte */
  readonly operationsMax?: number;
  /** A size whose check takes longer than this ends the growth. @default 10_000 */
  readonly timeMsLimit?: number;
  /** Checks per size; the figure reported is the median. @default 3 */
  readonly runs?: number;
  /** @default 1 */
  readonly seed?: number;
  /** The size of the history in which a violation is planted. @default 100_000 */
  readonly violationOperations?: number;
}

export interface SizeFigures {
  readonly operations: number;
  readonly timeMs: number;
  readonly opsPerSec: number;
  readonly steps: number;
  readonly verdict: LinearizabilityResult['verdict'];
  readonly runs: number[];
}

export interface CheckBenchResult {
  readonly model: 'kv';
  readonly keys: number;
  readonly clientsPerKey: number;
  readonly timeMsLimit: number;
  readonly statistic: 'median';
  /** Operations per wall second checking the largest history decided within the limit. */
  readonly opsPerSec: number;
  /** The largest history decided within the limit: operations, and the concurrency per key. */
  readonly largest: SizeFigures & { readonly clientsPerKey: number; readonly keys: number };
  /** The target: 10 000 operations, 5 clients per key, decided in under 10 s. */
  readonly target: { readonly operations: number; readonly timeMs: number; readonly met: boolean };
  /** Baseline measured in the same run: parsing and pairing the target history's JSON lines, which every check does first. */
  readonly baseline: { readonly parseOpsPerSec: number };
  /** A violation to prove, not only a linearization to find: one read near the end of a history made stale, with the evidence reduced. */
  readonly violation: { readonly operations: number; readonly timeMs: number; readonly verdict: LinearizabilityResult['verdict']; readonly evidenceOperations: number };
  readonly sizes: SizeFigures[];
  /** Why the growth stopped: a check took longer than the limit, or the cap was reached. */
  readonly stoppedBy: 'timeMsLimit' | 'operationsMax';
}

export function runCheckBench(options: CheckBenchOptions = {}): CheckBenchResult {
  const keys = options.keys ?? 1;
  const clientsPerKey = options.clientsPerKey ?? 5;
  const operationsMin = options.operationsMin ?? 10_000;
  const operationsMax = options.operationsMax ?? 1_280_000;
  const timeMsLimit = options.timeMsLimit ?? 10_000;
  const runs = options.runs ?? 3;
  const seed = options.seed ?? 1;
  const sizes: SizeFigures[] = [];
  // One unmeasured check first, so that the first size is not measured while the code is still being compiled.
  measure(generateKvHistory({ operations: operationsMin, keys, clientsPerKey, seed: seed + 1 }), operationsMin, 1);
  let stoppedBy: CheckBenchResult['stoppedBy'] = 'operationsMax';
  for (let operations = operationsMin; operations <= operationsMax; operations *= 2) {
    const figures = measure(generateKvHistory({ operations, keys, clientsPerKey, seed }), operations, runs);
    sizes.push(figures);
    if (figures.timeMs > timeMsLimit || figures.verdict !== 'linearizable') {
      stoppedBy = 'timeMsLimit';
      break;
    }
  }
  const decided = sizes.filter((s) => s.timeMs <= timeMsLimit && s.verdict === 'linearizable');
  const largest = decided.at(-1) ?? sizes[0]!;
  return {
    model: 'kv', keys, clientsPerKey, timeMsLimit, statistic: 'median', opsPerSec: largest.opsPerSec,
    largest: { ...largest, clientsPerKey, keys },
    target: { operations: operationsMin, timeMs: sizes[0]!.timeMs, met: decided.length > 0 },
    baseline: { parseOpsPerSec: parseRate(generateKvHistory({ operations: operationsMin, keys, clientsPerKey, seed }), operationsMin, runs) },
    violation: measureViolation(generateKvHistory({ operations: options.violationOperations ?? 100_000, keys, clientsPerKey, seed }), runs),
    sizes, stoppedBy,
  };
}

function measure(history: readonly HistoryOp[], operations: number, runs: number): SizeFigures {
  const times: number[] = [];
  let result: LinearizabilityResult | undefined;
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    result = checkLinearizable(history, { model: 'kv', stepsMax: Infinity, timeMsMax: Infinity });
    times.push(round(performance.now() - start));
  }
  const timeMs = median(times);
  return { operations, timeMs, opsPerSec: Math.round(operations / (timeMs / 1000)), steps: result!.explored.steps, verdict: result!.verdict, runs: times };
}

/** The history with the value of an ok read in its last tenth replaced by the first value written: stale for certain. */
function measureViolation(history: readonly HistoryOp[], runs: number): CheckBenchResult['violation'] {
  const firstWritten = history.find((e) => e.type === 'invoke' && e.f === 'write')!.value;
  const at = history.findIndex((e, i) => i > history.length * 0.9 && e.type === 'ok' && e.f === 'read' && e.value !== firstWritten);
  const stale = history.map((e, i) => (i === at ? { ...e, value: firstWritten } : e));
  const times: number[] = [];
  let result: LinearizabilityResult | undefined;
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    result = checkLinearizable(stale, { model: 'kv', stepsMax: Infinity, timeMsMax: Infinity });
    times.push(round(performance.now() - start));
  }
  return { operations: history.filter((e) => e.type === 'invoke').length, timeMs: median(times), verdict: result!.verdict, evidenceOperations: result!.evidence?.operations.length ?? 0 };
}

function parseRate(history: readonly HistoryOp[], operations: number, runs: number): number {
  const text = history.map((e) => JSON.stringify(e)).join('\n');
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    parseHistory(text);
    times.push(performance.now() - start);
  }
  return Math.round(operations / (median(times) / 1000));
}

/** Probabilities of the generated operations: mostly reads and writes, some cas, rare unknown outcomes. */
const mix = { read: 0.5, write: 0.35, unknown: 0.005, casExpectsCurrent: 0.6 } as const;

interface PlannedOp {
  readonly process: number;
  readonly key: string;
  readonly f: 'read' | 'write' | 'cas';
  readonly invokeTime: number;
  readonly effectTime: number;
  readonly completeTime: number;
  readonly unknown: boolean;
}

/** A kv history, linearizable by construction, with `operations` spread evenly over `keys`. */
export function generateKvHistory(options: { operations: number; keys: number; clientsPerKey: number; seed: number }): HistoryOp[] {
  const random = seedrandom(String(options.seed));
  const events: Array<HistoryOp & { readonly order: number }> = [];
  for (let k = 0; k < options.keys; k++) {
    const count = Math.floor(options.operations / options.keys) + (k < options.operations % options.keys ? 1 : 0);
    const planned = plan(`k${k}`, k * options.clientsPerKey, options.clientsPerKey, count, random);
    for (const event of applyInEffectOrder(planned, random)) events.push(event);
  }
  events.sort((x, y) => x.time - y.time || x.order - y.order);
  return events.map(({ order: _order, ...event }) => event);
}

/** Per client, back-to-back operations with random durations; the effect point lies inside each interval. */
function plan(key: string, firstProcess: number, clients: number, count: number, random: () => number): PlannedOp[] {
  const next = Array.from({ length: clients }, () => random());
  const planned: PlannedOp[] = [];
  for (let i = 0; i < count; i++) {
    const client = i % clients;
    const invokeTime = next[client]!;
    const effectTime = invokeTime + 0.01 + random() * 2;
    const completeTime = effectTime + 0.01 + random() * 2;
    next[client] = completeTime + 0.01 + random() * 0.5;
    const draw = random();
    const f = draw < mix.read ? 'read' : draw < mix.read + mix.write ? 'write' : 'cas';
    planned.push({ process: firstProcess + client, key, f, invokeTime, effectTime, completeTime, unknown: random() < mix.unknown });
  }
  return planned;
}

/** Applies the planned operations to one register in effect order, and writes each one's invoke and completion. */
function applyInEffectOrder(planned: readonly PlannedOp[], random: () => number): Array<HistoryOp & { order: number }> {
  const register = { state: null as number | null, written: 0 };
  const events: Array<HistoryOp & { order: number }> = [];
  for (const op of [...planned].sort((x, y) => x.effectTime - y.effectTime)) {
    const base = { process: op.process, f: op.f, key: op.key };
    const { value, type } = effect(op, register, !op.unknown || random() < 0.5, random);
    events.push({ ...base, type: 'invoke', value: op.f === 'read' ? null : value, time: op.invokeTime, order: 0 });
    events.push({ ...base, type, value, time: op.completeTime, order: 1 });
  }
  return events;
}

/** What `op` does to the register (when it takes effect) and the completion it gets. */
function effect(op: PlannedOp, register: { state: number | null; written: number }, takesEffect: boolean, random: () => number): { value: unknown; type: HistoryOp['type'] } {
  const type = op.unknown ? 'info' : 'ok';
  if (op.f === 'read') return { value: op.unknown ? null : register.state, type };
  const written = ++register.written;
  if (op.f === 'write') {
    if (takesEffect) register.state = written;
    return { value: written, type };
  }
  const expected = random() < mix.casExpectsCurrent ? register.state : Math.floor(random() * written);
  const matches = expected === register.state;
  if (matches && takesEffect) register.state = written;
  return { value: [expected, written], type: matches || op.unknown ? type : 'fail' };
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
