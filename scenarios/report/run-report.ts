import type { TraceEntry } from '../../sim/index.ts';
import { spaceTimeSvg } from '../diagram.ts';
import type { ExpectationResult } from '../expectations.ts';
import { formatReport } from '../report.ts';
import type { RunReport } from '../runner.ts';
import type { Scenario } from '../schema.ts';
import { stateLegendHtml, timelineSvg } from '../timeline.ts';
import { faultBands } from './faults.ts';
import type { MessageLabels } from './message-kind.ts';
import { html, htmlPage, verdict } from './page.ts';
import { defaultWindow, type DiagramWindow } from './window.ts';

/**
 * `shoal run FILE --report OUT.html`: one page with the run's summary and the command that
 * reproduces it, every expectation with its evidence, the membership timeline (time axis,
 * fault bands) and a space-time diagram of the interesting part of the run.
 */
export interface RunReportInput {
  readonly report: RunReport;
  readonly scenario: Scenario;
  /** The trace entries kept (`traceCapacity`); `truncated` when the run recorded more. */
  readonly entries: readonly TraceEntry[];
  readonly truncated: boolean;
  readonly labels: MessageLabels;
  /** The diagram's window (`--from`/`--to`); default `defaultWindow`. */
  readonly window?: { fromMs: number; toMs: number };
}

/** The diagram's window: the one asked for, or the default (with its reason). */
export function reportWindow(input: Pick<RunReportInput, 'scenario' | 'report' | 'window'>): DiagramWindow {
  return input.window === undefined ? defaultWindow(input.scenario, input.report.expectations)
    : { ...input.window, reason: 'as asked with --from/--to' };
}

function expectationsTable(expectations: readonly ExpectationResult[]): string {
  if (expectations.length === 0) return '<p>The scenario has no expectation.</p>';
  const rows = expectations.map((e) => `<tr class="${e.ok ? 'ok' : 'failed'}"><td>${verdict(e.ok)}</td><td>${html(e.name)}</td>` +
    `<td>${html(e.detail)}${e.evidence?.length ? `<pre>${html(e.evidence.join('\n'))}</pre>` : ''}</td></tr>`);
  return `<table id="expectations"><thead><tr><th>result</th><th>expectation</th><th>evidence</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export function runReportHtml(input: RunReportInput): string {
  const { report, scenario } = input;
  const title = `${report.scenario} seed ${report.seed}`;
  const bands = faultBands(scenario);
  const window = reportWindow(input);
  const timeline = timelineSvg(input.entries, { faults: bands, endMs: scenario.duration });
  const diagram = spaceTimeSvg(input.entries, { fromMs: window.fromMs, toMs: window.toMs, title, faults: bands, labels: (msg) => input.labels.get(msg) });
  const faults = bands.map((b) => `<li>${b.fromMs} ms${b.toMs > b.fromMs ? `–${b.toMs} ms` : ''}: ${html(b.label)}</li>`).join('');
  const body = `<h1>${html(title)}: ${verdict(report.ok)}</h1>
<p>${html(scenario.description)}</p>
<h2>Summary</h2>
<table id="summary"><tbody>
<tr><th>scenario</th><td>${html(report.scenario)} (${report.mode})</td></tr>
<tr><th>seed</th><td>${report.seed}</td></tr>
<tr><th>result</th><td>${verdict(report.ok)}: ${report.expectations.filter((e) => e.ok).length} of ${report.expectations.length} expectations hold</td></tr>
<tr><th>run</th><td>${(report.simulatedMs / 1_000).toFixed(1)} s simulated in ${report.wallMs} ms wall, ${report.events} events</td></tr>
<tr><th>trace hash</th><td><code>${html(report.traceHash)}</code></td></tr>
<tr><th>reproduce</th><td><code id="reproduce">${html(report.reproduce)}</code></td></tr>
</tbody></table>
${faults ? `<p>Faults:</p><ul id="faults">${faults}</ul>` : '<p>No fault.</p>'}
<h2>Expectations</h2>
${expectationsTable(report.expectations)}
<h2>Membership timeline</h2>
<p>${stateLegendHtml()} Each row is a member; its colours are the shares of the other running members that see it alive, suspect, dead or left. Faults are bands (dashed boxes on a node's row for crashes and pauses).</p>
<div class="scroll" id="timeline">${timeline.summary}</div>
<details><summary>each member's view of each other member (${timeline.rows} rows)</summary><div class="scroll">${timeline.perObserver}</div></details>
<h2>Space-time diagram, ${window.fromMs}–${window.toMs} ms</h2>
<p class="note">The window is ${html(window.reason)}; <code>--from MS --to MS</code> chooses another. Hover an arrow for the message's content, size and times.${input.truncated ? ' The trace kept only its most recent entries: earlier parts of the run are missing.' : ''}</p>
<div class="scroll" id="diagram">${diagram}</div>
<h2>Text report</h2>
<pre>${html(formatReport(report))}</pre>`;
  return htmlPage(`shoal: ${title}`, body);
}
