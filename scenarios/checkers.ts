import { existsSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidArgumentError } from '../core/errors.ts';
import { oneLine } from './apps.ts';
import { checkLinearizable, type EvidenceOperation, type HistoryOp, type LinearizabilityResult } from './check/index.ts';
import { count } from './duration.ts';
import type { ExpectationResult } from './expectations.ts';
import { HISTORY_OPERATIONS_MAX, type RunHistory } from './history.ts';
import type { AppliedFault, Observation } from './observe.ts';
import type { Expectation, ExpectationOf, Scenario } from './schema.ts';

/**
 * Expectations that check a run's operation history: `linearizable: { model }` (the
 * checker of scenarios/check) and `check: FILE` (a user's module). Both answer only on a
 * whole history: a truncated one, or a checker out of its budget (`unknown`), fails the
 * expectation and says so, so a run (and a sweep's seed) counts only when it was decided.
 */

/** What a user's checker is given. */
export interface CheckerInput {
  /** The run's operation history, in order (docs/SCENARIOS.md, Histories). */
  readonly history: readonly HistoryOp[];
  /** Every membership event the members reported: `{ timeMs, observer, type, member, incarnation? }`. */
  readonly events: readonly Observation[];
  /** The faults, as applied: `{ timeMs, kind, nodes, detail? }`. */
  readonly faults: readonly AppliedFault[];
  readonly scenario: Scenario;
}

/** A user's checker's answer; `evidence` is shown under the expectation (a string, or an object as JSON). */
export interface CheckerVerdict {
  readonly pass: boolean;
  readonly evidence?: string | object;
}

/** A checker module's default export. */
export type UserChecker = (input: CheckerInput) => CheckerVerdict | Promise<CheckerVerdict>;

/** A checker module that cannot be loaded: one line naming the expectation, the module and the cause. */
export class CheckerModuleError extends InvalidArgumentError {
  override readonly code: string = 'CHECKER_MODULE_INVALID';
}

/** Lines of evidence a report shows for one expectation (`--json` has the checker's whole evidence). */
export const evidenceLinesMax = 24;
/** Characters of one line of a user's evidence. */
const evidenceLineCharsMax = 240;

type CheckerExpectation = ExpectationOf<'linearizable'> | ExpectationOf<'check'>;

export function isCheckerExpectation(e: Expectation): e is CheckerExpectation {
  return e.kind === 'linearizable' || e.kind === 'check';
}

/** The modules the scenario's `check` expectations name, as written. */
export function checkerModules(scenario: Scenario): string[] {
  return [...new Set(scenario.expect.flatMap((e) => (e.kind === 'check' ? [e.check] : [])))];
}

/** The `check` modules of the scenario that `checkers` lacks. */
export function missingCheckers(scenario: Scenario, checkers: ReadonlyMap<string, UserChecker>): string[] {
  return checkerModules(scenario).filter((module) => !checkers.has(module));
}

/** Imports the scenario's `check` modules (paths relative to `file`, the scenario file); throws `CheckerModuleError`. */
export async function loadCheckers(scenario: Scenario, file: string): Promise<Map<string, UserChecker>> {
  const checkers = new Map<string, UserChecker>();
  for (const [index, e] of scenario.expect.entries()) {
    if (e.kind !== 'check' || checkers.has(e.check)) continue;
    const path = isAbsolute(e.check) ? e.check : resolve(dirname(file), e.check);
    const name = `expect[${index}] check ${relative(process.cwd(), path) || path}`;
    if (!existsSync(path)) throw new CheckerModuleError(`${name}: cannot load the checker: no such file`);
    let exports: Record<string, unknown>;
    try {
      exports = await import(pathToFileURL(path).href) as Record<string, unknown>;
    } catch (error) {
      throw new CheckerModuleError(`${name}: cannot load the checker: ${oneLine(error)}`, { cause: error });
    }
    if (typeof exports.default !== 'function') {
      throw new CheckerModuleError(`${name}: the default export must be a function ({ history, events, faults, scenario }) returning { pass, evidence? }, got ${exports.default === undefined ? 'none' : typeof exports.default}`);
    }
    checkers.set(e.check, exports.default as UserChecker);
  }
  return checkers;
}

/** What checkers read of a finished run. */
export interface CheckedRun {
  readonly scenario: Scenario;
  /** Undefined when the scenario has no workload. */
  readonly history: RunHistory | undefined;
  readonly events: readonly Observation[];
  readonly faults: readonly AppliedFault[];
  readonly checkers: ReadonlyMap<string, UserChecker>;
}

export function checkerName(e: CheckerExpectation): string {
  return e.kind === 'linearizable' ? `the history is linearizable (${e.linearizable.model})` : `checker ${e.check} passes`;
}

/** The result of a checker expectation, before the run's end: it is checked on the whole history only. */
export function uncheckedYet(e: CheckerExpectation): ExpectationResult {
  return { name: checkerName(e), ok: false, detail: 'checked on the whole history once the run has ended' };
}

/** The history of a run without a workload: a user's checker may be about membership alone. */
const noHistory: RunHistory = { events: [], counts: { invoke: 0, ok: 0, fail: 0, info: 0 }, dropped: 0 };

/** Checks one checker expectation on a finished run. */
export async function runChecker(e: CheckerExpectation, run: CheckedRun): Promise<ExpectationResult> {
  const name = checkerName(e);
  const history = run.history;
  if (history !== undefined && history.dropped > 0) {
    return { name, ok: false, detail: `unknown: the history was truncated at ${HISTORY_OPERATIONS_MAX} events (${count(history.dropped, 'call')} not recorded), and a checker gives no verdict on part of a run` };
  }
  if (e.kind !== 'linearizable') return userCheck(e.check, name, history ?? noHistory, run);
  return history === undefined ? { name, ok: false, detail: 'the scenario has no workload, so no history' } : linearizable(e, name, history);
}

function linearizable(e: ExpectationOf<'linearizable'>, name: string, history: RunHistory): ExpectationResult {
  const { model, stepsMax, timeMax } = e.linearizable;
  if (history.counts.invoke === 0) {
    return { name, ok: false, detail: 'no operation was recorded: the app module serving the workload\'s methods needs an `operation` export mapping its calls to read, write or cas' };
  }
  let result: LinearizabilityResult;
  try {
    result = checkLinearizable(history.events, { model, ...(stepsMax === undefined ? {} : { stepsMax }), ...(timeMax === undefined ? {} : { timeMsMax: timeMax }) });
  } catch (error) {
    return { name, ok: false, detail: `the checker refused the history: ${oneLine(error)}` };
  }
  const searched = `${count(result.explored.steps, 'search step')} in ${result.explored.timeMs} ms`;
  if (result.verdict === 'linearizable') {
    const { ok, info, fail } = history.counts;
    return { name, ok: true, detail: `${count(result.operations, 'operation')} can be ordered (${ok} ok, ${info} with an unknown outcome; the ${fail} that failed did not happen); ${searched}` };
  }
  if (result.verdict === 'unknown') {
    return { name, ok: false, detail: `unknown: the checker reached its ${result.stoppedBy ?? 'budget'} after ${searched}, before a verdict (raise linearizable.stepsMax or timeMax); an unknown does not pass` };
  }
  const evidence = result.evidence;
  const key = evidence?.key === undefined ? '' : ` on key ${JSON.stringify(evidence.key)}`;
  return {
    name, ok: false,
    detail: `NOT linearizable${key}: ${evidence?.message ?? 'no order of the operations respects real time and the model'}`,
    evidence: evidence === undefined ? [] : evidenceLines(evidence.operations),
    evidenceData: evidence,
  };
}

/** The operations that cannot be ordered, in invoke order: which process saw what, and when. */
export function evidenceLines(operations: readonly EvidenceOperation[]): string[] {
  const sorted = [...operations].sort((a, b) => a.invokeTime - b.invokeTime);
  const lines = sorted.slice(0, evidenceLinesMax).map((op) => {
    const ended = op.completeTime === null ? 'never answered' : `${op.type === 'ok' ? 'answered' : 'gave up'} at ${formatTime(op.completeTime)}`;
    const unknown = op.type === 'info' ? ' (outcome unknown: may have taken effect)' : '';
    return `process ${String(op.process)}: ${operationText(op)}, invoked at ${formatTime(op.invokeTime)}, ${ended}${unknown}`;
  });
  if (sorted.length > evidenceLinesMax) lines.push(`… and ${sorted.length - evidenceLinesMax} more operations (--json lists every one)`);
  return lines;
}

function operationText(op: EvidenceOperation): string {
  const key = op.key === undefined ? '' : ` ${JSON.stringify(op.key)}`;
  if (op.f === 'read') return op.type === 'ok' ? `read${key} saw ${JSON.stringify(op.value)}` : `read${key}`;
  if (op.f === 'write') return `write${key} ${JSON.stringify(op.value)}`;
  const [expected, next] = op.value as [unknown, unknown];
  return `cas${key} ${JSON.stringify(expected)} → ${JSON.stringify(next)}`;
}

/** A run time with the precision simulated latencies need (`1204.5 ms`). */
function formatTime(ms: number): string {
  return `${Number(ms.toFixed(3))} ms`;
}

async function userCheck(module: string, name: string, history: RunHistory, run: CheckedRun): Promise<ExpectationResult> {
  const checker = run.checkers.get(module);
  if (checker === undefined) return { name, ok: false, detail: 'the checker module was not loaded (load the scenario with loadScenarioApps)' };
  let verdict: CheckerVerdict;
  try {
    verdict = await checker({ history: history.events, events: run.events, faults: run.faults, scenario: run.scenario });
  } catch (error) {
    return { name, ok: false, detail: `the checker threw: ${oneLine(error)}` };
  }
  if (typeof verdict !== 'object' || verdict === null || typeof verdict.pass !== 'boolean') {
    return { name, ok: false, detail: `the checker must return { pass: boolean, evidence? }, returned ${oneLine(JSON.stringify(verdict) ?? String(verdict))}` };
  }
  const lines = verdict.evidence === undefined ? [] : userEvidenceLines(verdict.evidence);
  return {
    name, ok: verdict.pass,
    detail: `${verdict.pass ? 'passed' : 'failed'} on ${count(history.events.length, 'history event')} and ${count(run.events.length, 'membership event')}`,
    ...(lines.length === 0 ? {} : { evidence: lines }),
    // As JSON carries it (a sweep's worker posts reports; functions and cycles cannot go).
    ...(verdict.evidence === undefined ? {} : { evidenceData: jsonSafe(verdict.evidence) }),
  };
}

function jsonSafe(evidence: string | object): unknown {
  try {
    return JSON.parse(JSON.stringify(evidence) ?? 'null') as unknown;
  } catch {
    return String(evidence);
  }
}

/** A string's lines, or an object as one line of JSON; each line bounded. */
function userEvidenceLines(evidence: string | object): string[] {
  const text = typeof evidence === 'string' ? evidence : JSON.stringify(jsonSafe(evidence));
  const lines = text.split('\n').map((l) => (l.length > evidenceLineCharsMax ? `${l.slice(0, evidenceLineCharsMax - 1)}…` : l)).filter((l) => l.trim() !== '');
  if (lines.length <= evidenceLinesMax) return lines;
  return [...lines.slice(0, evidenceLinesMax), `… and ${lines.length - evidenceLinesMax} more lines (--json has all of it)`];
}
