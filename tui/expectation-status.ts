import type { ExpectationResult } from '../scenarios/expectations.ts';
import type { AppliedFault } from '../scenarios/observe.ts';
import type { Expectation, ExpectationKind, ExpectationOf } from '../scenarios/schema.ts';
import type { ExpectationStatus, LiveExpectation } from './types.ts';

/**
 * When the scenario runner's check of an expectation (scenarios/expectations.ts), run on
 * what happened so far, is already the verdict the end of the run will give:
 *
 * - `window`: something must happen within a window (a detection, a convergence). What
 *   happened later cannot undo a success, so it passes as soon as the check holds; it
 *   fails once the window has closed without it. `closesAtMs` is undefined while the
 *   window has not opened (the crash it times has not happened yet).
 * - `safety`: something must never happen (a false failure). It fails as soon as it
 *   happens and passes only at the end.
 * - `at-end`: judged on the state at the end (quorum, RPC figures), so pending until then.
 */
export type Settling =
  | { readonly kind: 'window'; readonly closesAtMs: number | undefined }
  | { readonly kind: 'safety' }
  | { readonly kind: 'at-end' };

const atEnd: Settling = { kind: 'at-end' };
const safety: Settling = { kind: 'safety' };

/** The first time a fault of `kinds` touched `node` (any node when undefined). */
function firstFaultMs(faults: readonly AppliedFault[], kinds: readonly string[], node?: string): number | undefined {
  return faults.find((f) => kinds.includes(f.kind) && (node === undefined || f.nodes.includes(node)))?.timeMs;
}

function windowAfter(startMs: number | undefined, withinMs: number | undefined): Settling {
  return { kind: 'window', closesAtMs: startMs === undefined ? undefined : startMs + (withinMs ?? Infinity) };
}

type SettlingOf = { [K in ExpectationKind]: (e: ExpectationOf<K>, faults: readonly AppliedFault[]) => Settling };

/** One entry per expectation kind: a new kind fails to compile until it says how it settles. */
const settlingOf: SettlingOf = {
  'failed-within': (e, faults) => windowAfter(firstFaultMs(faults, ['crash'], e['failed-within'].node), e['failed-within'].within),
  'rejoined-within': (e, faults) => windowAfter(firstFaultMs(faults, ['restart'], e['rejoined-within'].node), e['rejoined-within'].within),
  'converge-within': (e) => windowAfter(e['converge-within'].after, e['converge-within'].within),
  'partition-detected': (e, faults) => windowAfter(firstFaultMs(faults, ['partition', 'isolate']), e['partition-detected'].within),
  'no-false-failures': () => safety,
  'false-failures-at-most': () => safety,
  'left-not-failed': () => atEnd,
  'quorum-side-only': () => atEnd,
  'no-rpc-outcome-lost': () => atEnd,
  'success-ratio-at-least': () => atEnd,
  'p99-latency-at-most': () => atEnd,
  'shed-at-least': () => atEnd,
  linearizable: () => atEnd,
  check: () => atEnd,
};

/** How an expectation settles: at the end, on its first failure, or when its window closes. */
export function settling(e: Expectation, faults: readonly AppliedFault[]): Settling {
  return (settlingOf[e.kind] as (e: Expectation, faults: readonly AppliedFault[]) => Settling)(e, faults);
}

/** The status of one check made at `nowMs` (before the end: `ended` false). */
export function statusOf(result: ExpectationResult, how: Settling, nowMs: number, ended: boolean): ExpectationStatus {
  if (ended) return result.ok ? 'passed' : 'failed';
  switch (how.kind) {
    case 'window':
      if (result.ok) return 'passed';
      // The check at the window's closing instant still counts what happens at it.
      return how.closesAtMs !== undefined && nowMs > how.closesAtMs ? 'failed' : 'pending';
    case 'safety': return result.ok ? 'pending' : 'failed';
    case 'at-end': return 'pending';
  }
}

/**
 * The scenario's expectations as the dashboard shows them, from the runner's checks of
 * what happened until `nowMs` (`results[i]` checks `expectations[i]`). At the end every
 * status is the runner's verdict.
 */
export function liveExpectations(
  expectations: readonly Expectation[], results: readonly ExpectationResult[], faults: readonly AppliedFault[], nowMs: number, ended: boolean,
): LiveExpectation[] {
  if (results.length !== expectations.length) throw new Error(`${results.length} results for ${expectations.length} expectations`);
  return results.map((result, i) => {
    const status = statusOf(result, settling(expectations[i]!, faults), nowMs, ended);
    return { name: result.name, status, detail: status === 'pending' ? `so far: ${result.detail}` : result.detail };
  });
}
