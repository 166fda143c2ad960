import type { SweepSeed, SweepSummary } from '../sweep-summary.ts';
import { quantile } from './figures.ts';
import { html, htmlPage, scriptJson } from './page.ts';

/**
 * `shoal sweep FILE --report OUT.html` (and `sweep merge --report`): the sweep's counts,
 * the failing and runaway seeds with their reproduce commands, and the distributions of
 * what the runs measured, each as a histogram and a CDF drawn by uPlot.
 */
interface Figure {
  readonly id: string;
  readonly title: string;
  readonly what: string;
  /** Series of one figure share its axis (`p50`, `p90`, `p99` of RPC latency). */
  readonly series: { name: string; values: number[] }[];
}

const finite = (values: readonly (number | null | undefined)[]) => values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));

function figuresOf(results: readonly SweepSeed[]): Figure[] {
  const ran = results.filter((r) => r.figures !== undefined);
  const all = (pick: (r: SweepSeed) => readonly number[]) => finite(ran.flatMap(pick));
  const rpc = (key: 'p50Ms' | 'p90Ms' | 'p99Ms') => finite(ran.map((r) => r.figures!.rpc?.[key]));
  return [
    { id: 'detection', title: 'Failure detection time (ms)', what: 'per crash: from the crash until the first member, and until every running member, declared it failed', series: [{ name: 'first member', values: all((r) => r.figures!.detectionFirstMs) }, { name: 'every member', values: all((r) => r.figures!.detectionAllMs) }] },
    { id: 'convergence', title: 'Convergence time (ms)', what: 'per converge-within: from its start until every running member saw the same membership', series: [{ name: 'convergence', values: all((r) => r.figures!.convergenceMs) }] },
    { id: 'rpc-latency', title: 'RPC latency percentiles per seed (ms)', what: "each seed's workload latency percentiles", series: [{ name: 'p50', values: rpc('p50Ms') }, { name: 'p90', values: rpc('p90Ms') }, { name: 'p99', values: rpc('p99Ms') }] },
    { id: 'wall', title: 'Wall time per seed (ms)', what: 'how long each seed took to run in its worker (machine-dependent)', series: [{ name: 'wall', values: finite(ran.map((r) => r.wallMs)) }] },
  ].filter((f) => f.series.some((s) => s.values.length > 0));
}

function quantilesTable(figures: readonly Figure[]): string {
  const rows = figures.flatMap((f) => f.series.filter((s) => s.values.length > 0).map((s) => {
    const sorted = [...s.values].sort((a, b) => a - b);
    const cells = [0, 0.5, 0.9, 0.99, 1].map((p) => `<td>${+quantile(sorted, p).toFixed(1)}</td>`).join('');
    return `<tr><td>${html(f.title.replace(/ \(ms\)$/, ''))}: ${html(s.name)}</td><td>${s.values.length}</td>${cells}</tr>`;
  }));
  return `<table id="quantiles"><thead><tr><th>figure (ms)</th><th>samples</th><th>min</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function failuresTable(summary: SweepSummary): string {
  if (summary.failures.length === 0) return '<p id="failures">Every seed passed.</p>';
  const rows = summary.failures.map((f) => `<tr class="${f.aborted === 'runaway' ? 'runaway' : 'failed'}"><td>${f.seed}</td><td>${html(f.aborted ?? 'failed')}</td>` +
    `<td>${html(f.aborted === undefined ? f.failed.join('; ') : f.detail ?? '')}</td><td><code>${html(f.reproduce)}</code></td></tr>`);
  return `<table id="failures"><thead><tr><th>seed</th><th>outcome</th><th>what failed</th><th>reproduce</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** Draws each figure's histogram (its first series) and CDF (every series) with uPlot, in the browser. */
const chartScript = `
const palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
function histogram(values) {
  const min = Math.min(...values), max = Math.max(...values);
  const bins = max > min ? Math.max(1, Math.min(30, Math.ceil(Math.sqrt(values.length)))) : 1;
  const width = max > min ? (max - min) / bins : Math.max(1, Math.abs(min) * 0.1);
  const counts = new Array(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - min) / width))]++;
  return { width, data: [counts.map((_, i) => (max > min ? min + (i + 0.5) * width : min)), counts] };
}
// The empirical CDF of each series over the values of all, from 0 just left of the smallest.
function cdf(series) {
  const xs = [...new Set(series.flatMap((s) => s.values))].sort((a, b) => a - b);
  const pad = (xs[xs.length - 1] - xs[0]) * 0.02 || 1;
  const at = [xs[0] - pad, ...xs];
  return [at, ...series.map((s) => {
    const sorted = [...s.values].sort((a, b) => a - b);
    let i = 0;
    return at.map((x) => { while (i < sorted.length && sorted[i] <= x) i++; return sorted.length ? i / sorted.length : null; });
  })];
}
for (const figure of FIGURES) {
  const box = document.getElementById('fig-' + figure.id);
  const first = figure.series.find((s) => s.values.length > 0);
  const size = { width: 560, height: 260, legend: { live: false } };
  const h = histogram(first.values);
  const xs = h.data[0];
  new uPlot({ ...size, title: first.name + ': histogram',
    scales: { x: { time: false, range: () => [xs[0] - h.width, xs[xs.length - 1] + h.width] } },
    axes: [{ label: 'ms' }, { label: 'seeds' }],
    series: [{}, { label: first.name, fill: palette[0] + '88', stroke: palette[0], paths: uPlot.paths.bars({ size: [0.9, 60] }), points: { show: false } }] },
    h.data, box);
  new uPlot({ ...size, title: 'CDF', scales: { x: { time: false }, y: { range: [0, 1] } },
    axes: [{ label: 'ms' }, { label: 'fraction ≤ x' }],
    series: [{}, ...figure.series.map((s, i) => ({ label: s.name, stroke: palette[i % palette.length], width: 2, paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } }))] },
    cdf(figure.series), box);
}
`;

export function sweepReportHtml(summary: SweepSummary): string {
  const title = `sweep of ${summary.scenario}, seeds ${summary.range}`;
  const figures = figuresOf(summary.results);
  const shards = summary.shards?.length ? ` (shards ${summary.shards.join(', ')})` : '';
  const plots = figures.map((f) => `<h3>${html(f.title)}</h3><p class="note">${html(f.what)}; ${f.series.map((s) => `${s.values.length} ${html(s.name)}`).join(', ')}.</p><div class="figure plot" id="fig-${f.id}"></div>`).join('\n');
  const body = `<h1>${html(title)}</h1>
<table id="summary"><tbody>
<tr><th>scenario file</th><td><code>${html(summary.file)}</code></td></tr>
<tr><th>seeds</th><td>${summary.seeds} run${shards}: <span class="pass">${summary.passed} passed</span>, <span class="${summary.failed ? 'fail' : ''}">${summary.failed} failed</span>${summary.runaway ? ` (${summary.runaway} runaway)` : ''}</td></tr>
<tr><th>wall time</th><td>${(summary.wallMs / 1_000).toFixed(1)} s</td></tr>
</tbody></table>
<h2>Failing and runaway seeds</h2>
${failuresTable(summary)}
<h2>Distributions</h2>
${figures.length ? quantilesTable(figures) : '<p>The runs measured nothing to plot (no crash, convergence window or workload).</p>'}
${plots}`;
  return htmlPage(`shoal: ${title}`, body, { charts: figures.length > 0, script: figures.length > 0 ? `const FIGURES = ${scriptJson(figures)};\n${chartScript}` : undefined });
}
