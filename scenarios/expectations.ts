import type { WorkloadRecord } from '../sim/hosts/workload.ts';
import { isCheckerExpectation, uncheckedYet } from './checkers.ts';
import { count, formatDurationMs, formatMs } from './duration.ts';
import type { RunObserver } from './observe.ts';
import type { Expectation } from './schema.ts';

/** The result of one expectation, with the evidence a person needs to believe it. */
export interface ExpectationResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  /** Lines shown under the detail: a checker's evidence (the operations that cannot be ordered, who saw what, when). */
  readonly evidence?: readonly string[];
  /** The checker's evidence as it gave it (for `--json`). */
  readonly evidenceData?: unknown;
  /** What the expectation measured, in ms (`converge-within`: from `after` until views agreed), for sweeps' distributions. */
  readonly measuredMs?: number;
}

/** What the RPC workload recorded (the live record the workload keeps; see sim/hosts/workload.ts). */
export type RpcRecord = Pick<WorkloadRecord, 'issued' | 'succeeded' | 'failed' | 'pendingAtEnd' | 'duplicated' | 'latenciesMs' | 'shed'> & Partial<Pick<WorkloadRecord, 'byMethod' | 'busy'>>;

export interface RunRecord {
  readonly nodes: readonly string[];
  readonly endMs: number;
  readonly observer: RunObserver;
  /** First time after each `converge-within.after` at which views agreed (sampled every 100 ms). */
  readonly convergedAt: ReadonlyMap<number, { atMs: number | undefined; lastDisagreements: string[] }>;
  readonly rpc: RpcRecord | undefined;
}

/** When each node was running: a list of [start, end) intervals derived from crash/restart/leave faults. */
export function upIntervals(record: RunRecord): Map<string, [number, number][]> {
  const intervals = new Map<string, [number, number][]>(record.nodes.map((n) => [n, [[0, Infinity]]]));
  for (const fault of record.observer.faults) {
    for (const node of fault.nodes) {
      const list = intervals.get(node);
      if (list === undefined) continue;
      const last = list[list.length - 1]!;
      if ((fault.kind === 'crash' || fault.kind === 'leave') && last[1] === Infinity) last[1] = fault.timeMs;
      if (fault.kind === 'restart') {
        if (last[1] === Infinity) last[1] = fault.timeMs;
        list.push([fault.timeMs, Infinity]);
      }
    }
  }
  return intervals;
}

function isUp(intervals: Map<string, [number, number][]>, node: string, t: number): boolean {
  return (intervals.get(node) ?? []).some(([s, e]) => t >= s && t < e);
}

function firstFault(record: RunRecord, kind: string, node: string, afterMs = 0): number | undefined {
  return record.observer.faults.find((f) => f.kind === kind && f.nodes.includes(node) && f.timeMs >= afterMs)?.timeMs;
}

/**
 * Failures declared for a member while it was running (not crashed, not left, not
 * paused-and-counted-as-up). A declaration that reaches an observer just after a restart
 * but carries an incarnation the member already had before it went down is the late end
 * of a true detection (the suspicion began while it was down; the new life has not refuted
 * it yet), not a false failure.
 */
export function falseFailures(record: RunRecord, except: readonly string[] = []): { observer: string; member: string; timeMs: number }[] {
  const intervals = upIntervals(record);
  const obs = record.observer.observations;
  const staleIncarnation = (member: string, timeMs: number, incarnation: number | undefined): boolean => {
    const lifeStart = (intervals.get(member) ?? []).find(([s, e]) => timeMs >= s && timeMs < e)?.[0] ?? 0;
    if (lifeStart === 0 || incarnation === undefined) return false;
    let before = -1;
    for (const o of obs) {
      if (o.member === member && o.timeMs < lifeStart && o.incarnation !== undefined && o.incarnation > before) before = o.incarnation;
    }
    return incarnation <= before;
  };
  return obs
    .filter((o) => o.type === 'failed' && !except.includes(o.member) && isUp(intervals, o.member, o.timeMs) &&
      !record.observer.leftAt.has(o.member) && !staleIncarnation(o.member, o.timeMs, o.incarnation))
    .map((o) => ({ observer: o.observer, member: o.member, timeMs: o.timeMs }));
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * Checks the expectations on what happened so far. The checkers of histories
 * (`linearizable`, `check`) answer only on a whole run: here they are not checked yet
 * (scenarios/checkers.ts checks them once the run has ended).
 */
export function checkExpectations(expectations: readonly Expectation[], record: RunRecord): ExpectationResult[] {
  return expectations.map((e) => (isCheckerExpectation(e) ? uncheckedYet(e) : check(e, record)));
}

function check(e: Expectation, record: RunRecord): ExpectationResult {
  const intervals = upIntervals(record);
  const obs = record.observer.observations;
  if (e.kind === 'failed-within') {
    const { node, within } = e['failed-within'];
    const name = `every live member sees ${node} failed within ${formatDurationMs(within)} of its crash`;
    const crashAt = firstFault(record, 'crash', node);
    if (crashAt === undefined) return { name, ok: false, detail: `${node} never crashed in this run` };
    const deadline = crashAt + within;
    const observers = record.nodes.filter((o) => o !== node && isUp(intervals, o, Math.min(deadline, record.endMs) - 1e-9) && isUp(intervals, o, crashAt));
    const times = observers.map((o) => ({ o, t: obs.find((x) => x.observer === o && x.member === node && x.type === 'failed' && x.timeMs >= crashAt)?.timeMs }));
    const late = times.filter(({ t }) => t === undefined || t > deadline);
    const worst = Math.max(...times.map(({ t }) => (t === undefined ? Infinity : t - crashAt)));
    return {
      name, ok: late.length === 0 && observers.length > 0,
      detail: late.length === 0
        ? `crash at ${formatMs(crashAt)}; ${observers.length === 1 ? 'the only live member' : `all ${observers.length} live members`} saw it failed, the last after ${formatMs(worst)}`
        : `crash at ${formatMs(crashAt)}; ${late.length}/${observers.length} did not see it failed in time: ${late.slice(0, 8).map(({ o, t }) => `${o} (${t === undefined ? 'never' : formatMs(t - crashAt)})`).join(', ')}`,
    };
  }
  if (e.kind === 'no-false-failures' || e.kind === 'false-failures-at-most') {
    const except = e.kind === 'no-false-failures' && e['no-false-failures'] !== true ? e['no-false-failures'].except : [];
    const max = e.kind === 'false-failures-at-most' ? e['false-failures-at-most'] : 0;
    const found = falseFailures(record, except);
    return {
      name: max === 0 ? 'no false failure' : `at most ${count(max, 'false failure')}`,
      ok: found.length <= max,
      detail: found.length === 0 ? 'no running member was declared failed'
        : `${count(found.length, 'declaration')} of a running member as failed: ${found.slice(0, 6).map((f) => `${f.observer}→${f.member} at ${formatMs(f.timeMs)}`).join(', ')}`,
    };
  }
  if (e.kind === 'converge-within') {
    const { after, within } = e['converge-within'];
    const name = `views converge within ${formatDurationMs(within)} after ${formatDurationMs(after)}`;
    const sample = record.convergedAt.get(after);
    if (sample === undefined) return { name, ok: false, detail: 'convergence was not sampled (run shorter than the window?)' };
    return {
      name, ok: sample.atMs !== undefined && sample.atMs <= after + within,
      ...(sample.atMs === undefined ? {} : { measuredMs: sample.atMs - after }),
      detail: sample.atMs !== undefined ? `converged at ${sample.atMs.toFixed(0)} ms (${(sample.atMs - after).toFixed(0)} ms after)`
        : `not converged by ${formatMs(after + within)}: ${sample.lastDisagreements.slice(0, 6).join('; ')}`,
    };
  }
  if (e.kind === 'partition-detected') {
    const { sides, within } = e['partition-detected'];
    const name = `partition detected on ${sides.length === 2 ? 'both sides' : `all ${sides.length} sides`}`;
    const start = record.observer.faults.find((f) => f.kind === 'partition' || f.kind === 'isolate')?.timeMs ?? 0;
    const deadline = within === undefined ? Infinity : start + within;
    const perSide = sides.map((side) => side.filter((n) => obs.some((o) => o.observer === n && o.type === 'partition-detected' && o.timeMs >= start && o.timeMs <= deadline)));
    return {
      name, ok: perSide.every((d) => d.length > 0),
      detail: sides.map((side, i) => `side [${side.join(',')}]: ${perSide[i]!.length} detected`).join('; '),
    };
  }
  if (e.kind === 'rejoined-within') {
    const { node, within } = e['rejoined-within'];
    const name = `${node} is seen alive by every member within ${formatDurationMs(within)} of its restart`;
    const at = firstFault(record, 'restart', node);
    if (at === undefined) return { name, ok: false, detail: `${node} never restarted` };
    const observers = record.nodes.filter((o) => o !== node && isUp(intervals, o, at + within));
    const missing = observers.filter((o) => !obs.some((x) => x.observer === o && x.member === node && (x.type === 'joined' || x.type === 'alive' || x.type === 'updated') && x.timeMs >= at && x.timeMs <= at + within));
    return { name, ok: missing.length === 0, detail: missing.length === 0 ? `restart at ${formatMs(at)}; ${observers.length === 1 ? 'the only other member' : `all ${observers.length} other members`} saw it alive` : `not seen alive by ${missing.join(', ')}` };
  }
  if (e.kind === 'left-not-failed') {
    const { node } = e['left-not-failed'];
    const leftAt = firstFault(record, 'leave', node);
    const failed = obs.filter((o) => o.member === node && o.type === 'failed' && (leftAt === undefined || o.timeMs >= leftAt));
    const sawLeft = new Set(obs.filter((o) => o.member === node && o.type === 'left').map((o) => o.observer));
    return {
      name: `${node} leaving is reported as a leave, not a failure`,
      ok: leftAt !== undefined && failed.length === 0 && sawLeft.size > 0,
      detail: `${count(sawLeft.size, 'member')} saw it leave; ${failed.length} reported it failed`,
    };
  }
  if (e.kind === 'quorum-side-only') {
    const { sides } = e['quorum-side-only'];
    const total = record.nodes.length;
    const quorumSides = sides.filter((side) => side.some((n) => {
      const view = record.observer.views.get(n);
      if (view === undefined || !isUp(intervals, n, record.endMs - 1e-9)) return false;
      const alive = 1 + [...view.values()].filter((s) => s === 'alive' || s === 'suspect').length;
      return alive > total / 2;
    }));
    return {
      name: 'at most one side of the split believes it has a quorum',
      ok: quorumSides.length <= 1,
      detail: `${count(quorumSides.length, 'side')} with a member seeing a majority alive${quorumSides.length === 0 ? '' : `: ${quorumSides.map((s) => `[${s.join(',')}]`).join(' ')}`}`,
    };
  }
  const rpc = record.rpc;
  const rpcMissing = (name: string): ExpectationResult => ({ name, ok: false, detail: 'the scenario has no workload' });
  if (e.kind === 'no-rpc-outcome-lost') {
    const name = 'no RPC outcome lost or duplicated';
    if (rpc === undefined) return rpcMissing(name);
    return { name, ok: rpc.pendingAtEnd === 0 && rpc.duplicated === 0, detail: `${rpc.issued} calls: ${rpc.succeeded} succeeded, ${Object.values(rpc.failed).reduce((a, b) => a + b, 0)} failed with a typed error, ${rpc.pendingAtEnd} without outcome, ${rpc.duplicated} duplicated` };
  }
  if (e.kind === 'success-ratio-at-least') {
    const min = e['success-ratio-at-least'];
    const name = `success ratio ≥ ${min}`;
    if (rpc === undefined) return rpcMissing(name);
    const ratio = rpc.issued === 0 ? 0 : rpc.succeeded / rpc.issued;
    return { name, ok: ratio >= min, detail: `${rpc.succeeded}/${rpc.issued} = ${ratio.toFixed(4)}; failures ${JSON.stringify(rpc.failed)}` };
  }
  if (e.kind === 'p99-latency-at-most') {
    const max = e['p99-latency-at-most'];
    const name = `p99 latency ≤ ${formatDurationMs(max)}`;
    if (rpc === undefined) return rpcMissing(name);
    const sorted = [...rpc.latenciesMs].sort((a, b) => a - b);
    const p99 = quantile(sorted, 0.99);
    return { name, ok: sorted.length > 0 && p99 <= max, detail: `p50 ${quantile(sorted, 0.5).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms over ${sorted.length} calls` };
  }
  if (e.kind === 'shed-at-least') {
    const min = e['shed-at-least'];
    const name = `load shedding refused ≥ ${(min * 100).toFixed(0)} % of calls`;
    if (rpc === undefined) return rpcMissing(name);
    const ratio = rpc.issued === 0 ? 0 : rpc.shed / rpc.issued;
    return { name, ok: ratio >= min, detail: `${rpc.shed}/${rpc.issued} shed (${(ratio * 100).toFixed(1)} %)` };
  }
  if (e.kind === 'linearizable' || e.kind === 'check') return uncheckedYet(e);
  const unknown: never = e;
  return { name: 'unknown expectation', ok: false, detail: JSON.stringify(unknown) };
}
