import { ConfigError, InvalidArgumentError } from '../core/index.ts';
import { HostPanicError, RunLimitError } from '../sim/index.ts';
import type { ReportedValue } from '../core/app/index.ts';
import { count, formatMs } from './duration.ts';
import type { HistorySummary, ReportedValues, RunReport } from './runner.ts';

/**
 * How a run that threw ended: `runaway` (it exceeded its event bound or wall-clock
 * budget), `panic` (host code threw) or `bad-input` (the scenario holds a value the
 * simulator or a host refuses).
 */
export type AbortKind = 'runaway' | 'panic' | 'bad-input';

export interface AbortedRun {
  readonly kind: AbortKind;
  /** One line: what stopped the run, without the reproduce command. */
  readonly detail: string;
}

const isBadInput = (error: unknown) => error instanceof ConfigError || error instanceof InvalidArgumentError;

/** Classifies an error a run threw; undefined for anything else (a defect of shoal itself, which keeps its stack). */
export function abortedRun(error: unknown): AbortedRun | undefined {
  if (error instanceof RunLimitError) return { kind: 'runaway', detail: `exceeded ${error.limit} at t=${error.timeMs.toFixed(3)} ms of simulated time` };
  if (error instanceof HostPanicError) return { kind: isBadInput(error.cause) ? 'bad-input' : 'panic', detail: error.message };
  if (isBadInput(error)) return { kind: 'bad-input', detail: (error as Error).message };
  return undefined;
}

/** The one- or two-line text report of a run that threw. */
export function formatAbortedRun(run: { scenario: string; seed: number; reproduce: string }, aborted: AbortedRun): string {
  return `scenario ${run.scenario} (sim), seed ${run.seed}: ${aborted.kind.toUpperCase()}: ${aborted.detail}\n  reproduce: ${run.reproduce}`;
}

/** The text report of one run. */
export function formatReport(report: RunReport): string {
  const lines = [
    `scenario ${report.scenario} (${report.mode}), seed ${report.seed}: ${report.ok ? 'PASS' : 'FAIL'}`,
    report.mode === 'real'
      ? `  ${(report.simulatedMs / 1000).toFixed(1)} s run on real nodes in ${report.wallMs} ms wall, ${count(report.events, 'membership event')}`
      : `  ${(report.simulatedMs / 1000).toFixed(1)} s simulated in ${report.wallMs} ms wall, ${count(report.events, 'event')}, trace ${report.traceHash}`,
  ];
  for (const e of report.expectations) {
    lines.push(`  ${e.ok ? '✓' : '✗'} ${e.name}\n      ${e.detail}`);
    for (const line of e.evidence ?? []) lines.push(`        ${line}`);
  }
  const m = report.membership;
  const falseFailures = m.falseFailures === 0 ? 'no false failure'
    : `${count(m.falseFailures, 'false failure')} (a member declared failed while it was running: cut off by the network or too slow to answer, not crashed)`;
  lines.push(`  membership events: ${Object.entries(m.events).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}; ${falseFailures}`);
  for (const d of m.detection) {
    lines.push(`    crash of ${d.node} at ${formatMs(d.crashAtMs)}: first failed after ${d.firstMs === undefined ? '—' : formatMs(d.firstMs)}, by all after ${d.allMs === undefined ? '—' : formatMs(d.allMs)}`);
  }
  if (report.rpc) {
    const r = report.rpc;
    const sorted = [...r.latenciesMs].sort((a, b) => a - b);
    const q = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(1) : '—');
    const busy = r.busy === undefined || r.busy === 0 ? '' : `, ${r.busy} arrivals let pass by busy client processes`;
    lines.push(`  rpc: ${count(r.issued, 'call')}, ${r.succeeded} ok, failed ${JSON.stringify(r.failed)}, shed ${r.shed}, lost ${r.pendingAtEnd}, p50 ${q(0.5)} ms, p99 ${q(0.99)} ms${busy}`);
    const methods = Object.entries(r.byMethod ?? {});
    if (methods.length > 1) for (const [method, m] of methods) lines.push(`    ${method}: ${count(m.issued, 'call')}, ${m.succeeded} ok, failed ${JSON.stringify(m.failed)}`);
  }
  if (report.history !== undefined && (report.history.invoke > 0 || report.history.dropped > 0)) lines.push(formatHistory(report.history));
  lines.push(...formatAppValues(report.apps ?? {}));
  for (const note of report.notes ?? []) lines.push(`  note: ${note}`);
  if (!report.ok) lines.push(`  reproduce: ${report.reproduce}`);
  return lines.join('\n');
}

/** The history line: its operations by outcome (`info`: unknown, may have happened). */
export function formatHistory(h: HistorySummary): string {
  const pending = h.invoke - h.ok - h.fail - h.info;
  const dropped = h.dropped === 0 ? '' : `; TRUNCATED: ${count(h.dropped, 'call')} not recorded (the history was full)`;
  return `  history: ${count(h.invoke, 'operation')} by ${count(h.processes, 'client process', 'client processes')}: invoke ${h.invoke}, ok ${h.ok}, fail ${h.fail}, info ${h.info}` +
    `${pending > 0 ? `, ${pending} without outcome at the end` : ''}${dropped}`;
}

/** Members listed in the text report's apps section (`--json` has them all). */
export const reportedMembersShownMax = 20;
/** Characters of one member's line of reported values. */
const reportedLineCharsMax = 240;

/** One line per member: each app's latest reported values. */
export function formatAppValues(apps: ReportedValues): string[] {
  const members = Object.entries(apps).filter(([, byApp]) => Object.keys(byApp).length > 0);
  if (members.length === 0) return [];
  const lines = ['  apps (latest reported values):'];
  for (const [member, byApp] of members.slice(0, reportedMembersShownMax)) {
    const text = Object.entries(byApp).map(([app, values]) => `${app} ${Object.entries(values).map(([k, v]) => `${k}=${formatValue(v)}`).join(' ')}`).join('; ');
    lines.push(`    ${member}: ${text.length > reportedLineCharsMax ? `${text.slice(0, reportedLineCharsMax - 1)}…` : text}`);
  }
  if (members.length > reportedMembersShownMax) lines.push(`    … and ${members.length - reportedMembersShownMax} more members (--json lists every one)`);
  return lines;
}

function formatValue(value: ReportedValue): string {
  return typeof value === 'string' && (value === '' || /[\s=;]/.test(value)) ? JSON.stringify(value) : String(value);
}
