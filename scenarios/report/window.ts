import type { ExpectationResult } from '../expectations.ts';
import type { Expectation, Fault, Scenario } from '../schema.ts';
import { asList as list } from '../faults.ts';

/**
 * Which part of a run a space-time diagram draws. A whole run holds far too many messages
 * to read, so by default it is the interesting part: `diagramWindowMsDefault` starting
 * `diagramLeadMs` before the fault the first failed expectation is about (its deadline if
 * it is about no fault), or else before the first fault, or else from the start.
 */
export interface DiagramWindow {
  readonly fromMs: number;
  readonly toMs: number;
  /** Why this window, one line (`0.5 s before partition at 10 s`). */
  readonly reason: string;
}

/** The length of the default window. */
export const diagramWindowMsDefault = 5_000;
/** How much of the calm before the anchor the default window shows. */
export const diagramLeadMs = 500;

const about = (node: string, kind: Fault['kind']) => (f: Fault) => f.kind === kind && list((f as Record<string, unknown>)[kind] as string | string[]).includes(node);
const cut = (f: Fault) => f.kind === 'partition' || f.kind === 'oneway' || f.kind === 'bridge' || f.kind === 'isolate';

/** The moment an expectation is about: its fault, or the start of its window. */
function anchorOf(e: Expectation, faults: readonly Fault[]): number | undefined {
  switch (e.kind) {
    case 'failed-within': return faults.find(about(e['failed-within'].node, 'crash'))?.at;
    case 'rejoined-within': return faults.find(about(e['rejoined-within'].node, 'restart'))?.at;
    case 'left-not-failed': return faults.find(about(e['left-not-failed'].node, 'leave'))?.at;
    case 'converge-within': return e['converge-within'].after;
    case 'partition-detected': case 'quorum-side-only': return faults.find(cut)?.at;
    default: return faults[0]?.at;
  }
}

/** The default window of a run's diagram (see `DiagramWindow`); `results` are the run's expectation results, in the scenario's order. */
export function defaultWindow(scenario: Pick<Scenario, 'faults' | 'expect' | 'duration'>, results: readonly Pick<ExpectationResult, 'ok' | 'name'>[] = []): DiagramWindow {
  const faults = [...scenario.faults].sort((a, b) => a.at - b.at);
  const failed = results.findIndex((r) => !r.ok);
  const failedAnchor = failed >= 0 && scenario.expect[failed] !== undefined ? anchorOf(scenario.expect[failed], faults) : undefined;
  const [anchor, what] = failedAnchor !== undefined ? [failedAnchor, `the first failed expectation (${results[failed]!.name})`]
    : faults[0] !== undefined ? [faults[0].at, `the first fault (${faults[0].kind})`] : [0, 'the start (no fault)'];
  const length = Math.min(diagramWindowMsDefault, scenario.duration);
  const fromMs = Math.max(0, Math.min(anchor - diagramLeadMs, scenario.duration - length));
  return { fromMs, toMs: fromMs + length, reason: `around ${what} at ${anchor} ms` };
}

/**
 * The window `--from`/`--to` ask for: each in [0, duration], from before to; one of them
 * alone takes the default length from it. Returns a message for a window that is not.
 */
export function chosenWindow(fromMs: number | undefined, toMs: number | undefined, durationMs: number): { fromMs: number; toMs: number } | string {
  for (const [flag, ms] of [['--from', fromMs], ['--to', toMs]] as const) {
    if (ms !== undefined && ms > durationMs) return `${flag} ${ms} is past the end of the run (${durationMs} ms)`;
  }
  const from = fromMs ?? Math.max(0, (toMs ?? 0) - diagramWindowMsDefault);
  const to = toMs ?? Math.min(durationMs, from + diagramWindowMsDefault);
  if (!(from < to)) return `--from ${from} must be before --to ${to}`;
  return { fromMs: from, toMs: to };
}
