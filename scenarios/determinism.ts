import type { TraceEntry } from '../sim/index.ts';
import { startScenarioRun, type RunScenarioOptions, type ScenarioRun } from './runner.ts';
import type { Scenario } from './schema.ts';

/**
 * `shoal run --check-determinism`: the seed runs twice, in lockstep, and the two traces are
 * compared entry by entry as they are produced. Users' apps are held to the simulator's
 * rule (no wall clock, `Math.random`, timers or I/O except through their node); an app
 * that breaks it makes the traces differ, and the first entry that differs says where.
 * Only one slice of simulated time of each trace is held in memory at once.
 */

/** Simulated time each run advances before their new trace entries are compared. */
export const determinismSliceMs = 250;

/** One side of the first difference: the entry each run recorded at that position (undefined: its trace ended). */
export interface Divergence {
  readonly index: number;
  readonly first: TraceEntry | undefined;
  readonly second: TraceEntry | undefined;
}

export interface DeterminismReport {
  readonly scenario: string;
  readonly seed: number;
  readonly deterministic: boolean;
  readonly hashes: readonly [string, string];
  readonly events: readonly [number, number];
  /** The first trace entry that differs (when the traces differ). */
  readonly divergence: Divergence | undefined;
  readonly reproduce: string;
}

/** Runs the scenario's seed twice and compares the traces; reports the first difference. */
export async function checkScenarioDeterminism(scenario: Scenario, options: Omit<RunScenarioOptions, 'traceSink' | 'traceCapacity' | 'onFinished'> = {}): Promise<DeterminismReport> {
  const pending: [TraceEntry[], TraceEntry[]] = [[], []];
  let divergence: Divergence | undefined;
  // Once a difference is found the runs go on to their end (for whole-run hashes) without keeping entries.
  const sink = (i: number) => (entry: TraceEntry) => {
    if (divergence === undefined) pending[i]!.push(entry);
  };
  const runs = [0, 1].map((i) => startScenarioRun(scenario, { ...options, traceSink: sink(i) })) as [ScenarioRun, ScenarioRun];
  divergence = compare(pending);
  for (let t = 0; t < scenario.duration;) {
    t = Math.min(scenario.duration, t + determinismSliceMs);
    for (const run of runs) await run.advance(t);
    divergence ??= compare(pending);
  }
  divergence ??= leftover(pending);
  const [a, b] = runs.map((r) => r.built.sim);
  const hashes = [a!.trace.hash, b!.trace.hash] as const;
  return {
    scenario: scenario.name,
    seed: runs[0].built.seed,
    deterministic: divergence === undefined && hashes[0] === hashes[1],
    hashes,
    events: [a!.eventCount, b!.eventCount],
    divergence,
    reproduce: a!.reproduce,
  };
}

/** Compares the entries both runs have produced, drops the equal ones, and returns the first that differs. */
function compare(pending: [TraceEntry[], TraceEntry[]]): Divergence | undefined {
  const [a, b] = pending;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (!sameEntry(a[i]!, b[i]!)) return { index: a[i]!.index, first: a[i], second: b[i] };
  }
  a.splice(0, n);
  b.splice(0, n);
  return undefined;
}

/** After both runs ended: an entry only one of them recorded is a difference too. */
function leftover([a, b]: [TraceEntry[], TraceEntry[]]): Divergence | undefined {
  if (a.length === 0 && b.length === 0) return undefined;
  return { index: (a[0] ?? b[0])!.index, first: a[0], second: b[0] };
}

function sameEntry(a: TraceEntry, b: TraceEntry): boolean {
  return a.timeMs === b.timeMs && a.kind === b.kind && a.host === b.host && a.peer === b.peer && a.bytes === b.bytes &&
    a.label === b.label && a.msg === b.msg && JSON.stringify(a.detail) === JSON.stringify(b.detail);
}

/** A trace entry in a few words: `t=12.000 ms n2 send → n3 stream:data 45 bytes`. */
export function describeEntry(entry: TraceEntry | undefined): string {
  if (entry === undefined) return '(the trace had ended)';
  const detail = entry.detail === undefined ? '' : ` ${JSON.stringify(entry.detail).slice(0, 160)}`;
  return `t=${entry.timeMs.toFixed(3)} ms ${entry.host} ${entry.kind}${entry.peer ? ` → ${entry.peer}` : ''}${entry.label ? ` ${entry.label}` : ''}` +
    `${entry.bytes !== undefined ? ` ${entry.bytes} bytes` : ''}${detail}`;
}

/** The text report: one line when deterministic, the first difference and the reproduce command when not. */
export function formatDeterminism(report: DeterminismReport): string {
  if (report.deterministic) return `deterministic (hash ${report.hashes[0]}, ${report.events[0]} events): ${report.scenario} seed ${report.seed} ran twice with the same trace`;
  const d = report.divergence;
  return [
    `NOT DETERMINISTIC: ${report.scenario} seed ${report.seed}: trace hashes ${report.hashes[0]} and ${report.hashes[1]} differ`,
    d === undefined ? '  every trace entry matched, but the hashes did not' : `  first diverging event, trace entry #${d.index}:`,
    ...(d === undefined ? [] : [`    run 1: ${describeEntry(d.first)}`, `    run 2: ${describeEntry(d.second)}`]),
    '  something in the run escaped the simulator: the wall clock (Date.now, performance.now), Math.random, timers or I/O outside the node, or state kept between runs at module level',
    `  reproduce: ${report.reproduce}`,
  ].join('\n');
}
