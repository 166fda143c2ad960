import type { TraceEntry } from '../sim/index.ts';
import { escapeXml, naturalOrder, niceStep, stateColours, stateOfEvent } from './diagram.ts';
import type { FaultBand } from './report/faults.ts';

/**
 * A run's membership over time. The summary has one row per member: at each moment, the
 * share of the running members that see it alive, suspect, dead or left (so a member the
 * cluster is failing turns red from the top down), under a time axis, with the faults as
 * bands. Each observer's own view of each member (N² rows) is there too, folded away.
 */
export interface TimelineOptions {
  title?: string;
  /** The scenario's faults as bands (`faultBands`); without them the trace's fault entries are marked. */
  faults?: readonly FaultBand[];
  /** The end of the run. @default the last entry's time */
  endMs?: number;
}

/** Rows drawn at most (observer × member pairs) in the folded per-observer view. */
export const timelineRowsMax = 600;
/** Segments drawn at most in the summary: a run with more view changes is drawn in part. */
export const timelineSegmentsMax = 50_000;

const states = ['alive', 'suspect', 'dead', 'left'] as const;
type State = (typeof states)[number];
type Counts = Record<State, number>;

interface Segment {
  from: number;
  to: number;
}

interface Views {
  /** observer → member → state. */
  readonly byObserver: Map<string, Map<string, State>>;
  /** member → the counts since `from`, per member (the summary rows). */
  readonly summary: Map<string, (Segment & { counts: Counts })[]>;
  /** `observer\0member` → the observer's view since `from` (the folded rows). */
  readonly pairs: Map<string, (Segment & { state: State })[]>;
  readonly faults: { t: number; label: string }[];
  readonly latencies: { t: number; ms: number; ok: boolean }[];
}

function countsOf(byObserver: Views['byObserver'], member: string): Counts {
  const counts: Counts = { alive: 0, suspect: 0, dead: 0, left: 0 };
  for (const view of byObserver.values()) {
    const state = view.get(member);
    if (state !== undefined) counts[state]++;
  }
  return counts;
}

/** Reads every member event, crash and restart of the trace into segments. */
function readViews(entries: readonly TraceEntry[], endMs: number): Views {
  const views: Views = { byObserver: new Map(), summary: new Map(), pairs: new Map(), faults: [], latencies: [] };
  let segments = 0;
  const recount = (member: string, t: number) => {
    const rows = views.summary.get(member) ?? views.summary.set(member, []).get(member)!;
    const last = rows[rows.length - 1];
    if (last !== undefined) last.to = t;
    if (segments++ < timelineSegmentsMax) rows.push({ from: t, to: endMs, counts: countsOf(views.byObserver, member) });
  };
  const setPair = (observer: string, member: string, state: State | undefined, t: number) => {
    const key = `${observer}\u0000${member}`;
    const rows = views.pairs.get(key) ?? views.pairs.set(key, []).get(key)!;
    const last = rows[rows.length - 1];
    if (last !== undefined && last.to === endMs) last.to = t;
    if (state !== undefined && rows.length < timelineSegmentsMax) rows.push({ from: t, to: endMs, state });
  };
  for (const e of entries) {
    if (e.kind === 'fault') {
      views.faults.push({ t: e.timeMs, label: `${e.host !== '-' ? `${e.host} ` : ''}${e.label}` });
      if (e.label !== 'crash' && e.label !== 'restart') continue;
      const view = views.byObserver.get(e.host);
      views.byObserver.delete(e.host);
      for (const member of view?.keys() ?? []) {
        setPair(e.host, member, undefined, e.timeMs);
        recount(member, e.timeMs);
      }
      continue;
    }
    if (e.kind !== 'output') continue;
    const detail = e.detail as { type?: string; name?: string; latencyMs?: number; ok?: boolean } | undefined;
    if (e.label === 'rpc' && detail?.latencyMs !== undefined) views.latencies.push({ t: e.timeMs, ms: detail.latencyMs, ok: detail.ok !== false });
    if (e.label !== 'member' || detail?.type === undefined || !detail.name || detail.name === e.host) continue;
    const state = stateOfEvent[detail.type] as State | undefined;
    if (state === undefined) continue;
    const view = views.byObserver.get(e.host) ?? views.byObserver.set(e.host, new Map()).get(e.host)!;
    if (view.get(detail.name) === state) continue;
    view.set(detail.name, state);
    setPair(e.host, detail.name, state, e.timeMs);
    recount(detail.name, e.timeMs);
  }
  return views;
}

const width = 1200;
const labelWidth = 150;
const rowHeight = 16;
const axisHeight = 24;

interface Scale {
  readonly endMs: number;
  x(t: number): number;
}

function scaleOf(endMs: number): Scale {
  const plot = width - labelWidth - 20;
  return { endMs, x: (t: number) => labelWidth + (Math.min(Math.max(t, 0), endMs) / endMs) * plot };
}

/** Tick marks and labels every "nice" step; `y` is the axis line, labels above it when `above`. */
function axisSvg(scale: Scale, y: number, above: boolean, gridTo: number): string {
  const step = niceStep(scale.endMs / 12);
  const out = [`<line x1="${labelWidth}" y1="${y}" x2="${scale.x(scale.endMs)}" y2="${y}" stroke="#333"/>`];
  for (let t = 0; t <= scale.endMs; t += step) {
    const x = scale.x(t).toFixed(1);
    out.push(`<line x1="${x}" y1="${y}" x2="${x}" y2="${gridTo}" stroke="#eee"/><line x1="${x}" y1="${y - 4}" x2="${x}" y2="${y + 4}" stroke="#333"/>` +
      `<text x="${x}" y="${above ? y - 7 : y + 15}" text-anchor="middle">${formatTick(t)}</text>`);
  }
  return `<g class="axis">${out.join('')}</g>`;
}

const formatTick = (ms: number) => (ms >= 1_000 ? `${+(ms / 1_000).toFixed(2)} s` : `${Math.round(ms)} ms`);

function bandsSvg(bands: readonly FaultBand[], scale: Scale, rowOf: (node: string) => number | undefined, top: number, bottom: number): string {
  const out: string[] = [];
  for (const band of bands) {
    const x1 = scale.x(band.fromMs);
    const w = Math.max(1.5, scale.x(band.toMs) - x1);
    const title = `<title>${escapeXml(`${band.label}: ${band.fromMs} ms${band.toMs > band.fromMs ? `–${band.toMs} ms` : ''}`)}</title>`;
    if (band.nodes === undefined) {
      out.push(`<g class="fault-band"><rect x="${x1.toFixed(1)}" y="${top}" width="${w.toFixed(1)}" height="${bottom - top}" fill="#f4a261" opacity="0.18"/>` +
        `<text x="${(x1 + 2).toFixed(1)}" y="${top + 10}" fill="#c1440e">${escapeXml(band.label)}</text>${title}</g>`);
      continue;
    }
    for (const node of band.nodes) {
      const row = rowOf(node);
      if (row === undefined) continue;
      out.push(`<g class="fault-band"><rect x="${x1.toFixed(1)}" y="${row - 2}" width="${w.toFixed(1)}" height="${rowHeight + 3}" fill="none" stroke="${band.kind === 'crash' ? '#333' : '#7b2cbf'}" stroke-dasharray="3 2"/>` +
        `<text x="${(x1 + 2).toFixed(1)}" y="${row - 3}" font-size="8" fill="#333">${escapeXml(band.label)}</text>${title}</g>`);
    }
  }
  return out.join('');
}

/** The summary: one row per member, its share of observers by state, under a time axis, with fault bands. */
export function timelineSvg(entries: readonly TraceEntry[], options: TimelineOptions = {}): { summary: string; perObserver: string; rows: number; latencies: Views['latencies'] } {
  const endMs = options.endMs ?? entries[entries.length - 1]?.timeMs ?? 1;
  const views = readViews(entries, endMs);
  const scale = scaleOf(Math.max(1, endMs));
  const members = [...views.summary.keys()].sort(naturalOrder);
  const top = axisHeight + 20;
  const rowY = new Map(members.map((m, i) => [m, top + i * (rowHeight + 8)]));
  const bottom = top + members.length * (rowHeight + 8);
  const out: string[] = [axisSvg(scale, axisHeight, true, bottom)];
  for (const member of members) {
    const y = rowY.get(member)!;
    out.push(`<text x="${labelWidth - 6}" y="${y + 12}" text-anchor="end" font-weight="bold">${escapeXml(member)}</text>`);
    for (const s of views.summary.get(member)!) out.push(stackSvg(member, s, scale, y));
  }
  const faults = options.faults ?? views.faults.map((f) => ({ fromMs: f.t, toMs: f.t, label: f.label, kind: 'heal' as const }));
  out.push(bandsSvg(faults, scale, (node) => rowY.get(node), top - 14, bottom));
  out.push(axisSvg(scale, bottom + 4, false, bottom + 4));
  const summary = `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="${width}" height="${bottom + 30}" font-family="monospace" font-size="10">${out.join('')}</svg>`;
  return { summary, perObserver: perObserverSvg(views, scale), rows: Math.min(views.pairs.size, timelineRowsMax), latencies: views.latencies };
}

/** One interval of a member's row: the observers' states stacked, alive at the bottom. */
function stackSvg(member: string, s: Segment & { counts: Counts }, scale: Scale, y: number): string {
  const total = states.reduce((n, state) => n + s.counts[state], 0);
  if (total === 0 || s.to <= s.from) return '';
  const x = scale.x(s.from);
  const w = Math.max(0.5, scale.x(s.to) - x);
  const title = `<title>${escapeXml(`${member}, ${s.from.toFixed(0)}–${s.to.toFixed(0)} ms: ${states.filter((st) => s.counts[st] > 0).map((st) => `${st} to ${s.counts[st]}`).join(', ')} of ${total} members`)}</title>`;
  let offset = 0;
  const rects = [...states].reverse().map((state) => {
    const h = (s.counts[state] / total) * rowHeight;
    if (h === 0) return '';
    const r = `<rect x="${x.toFixed(1)}" y="${(y + offset).toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="${stateColours[state]}"/>`;
    offset += h;
    return r;
  });
  return `<g class="segment">${rects.join('')}${title}</g>`;
}

/** Each observer's view of each member (capped at `timelineRowsMax` rows). */
function perObserverSvg(views: Views, scale: Scale): string {
  const keys = [...views.pairs.keys()].sort((a, b) => {
    const [oa, ma] = a.split('\u0000') as [string, string];
    const [ob, mb] = b.split('\u0000') as [string, string];
    return naturalOrder(oa, ob) || naturalOrder(ma, mb);
  }).slice(0, timelineRowsMax);
  const h = 10;
  const rows: string[] = [axisSvg(scale, 20, true, 30 + keys.length * h)];
  keys.forEach((key, i) => {
    const [observer, member] = key.split('\u0000') as [string, string];
    const y = 26 + i * h;
    rows.push(`<text x="${labelWidth - 5}" y="${y + 8}" text-anchor="end">${escapeXml(`${observer} → ${member}`)}</text>`);
    for (const s of views.pairs.get(key)!) {
      rows.push(`<rect x="${scale.x(s.from).toFixed(1)}" y="${y}" width="${Math.max(0.5, scale.x(s.to) - scale.x(s.from)).toFixed(1)}" height="${h - 1}" fill="${stateColours[s.state]}"><title>${escapeXml(`${observer} sees ${member} ${s.state} ${s.from.toFixed(0)}–${s.to.toFixed(0)} ms`)}</title></rect>`);
    }
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${36 + keys.length * h}" font-family="monospace" font-size="9">${rows.join('')}</svg>`;
}

/** The legend of the membership colours. */
export function stateLegendHtml(): string {
  return Object.entries(stateColours).map(([s, c]) => `<span style="background:${c};padding:0 6px;margin-right:8px">${s}</span>`).join('');
}

/** RPC call latencies over time, as dots (red: failed). */
function latencySvg(latencies: Views['latencies'], endMs: number): string {
  if (latencies.length === 0) return '';
  const scale = scaleOf(Math.max(1, endMs));
  const maxMs = Math.max(...latencies.map((l) => l.ms), 1);
  const h = 200;
  return `<h2>RPC latency over time</h2><svg width="${width}" height="${h + 40}" font-size="10">` +
    latencies.slice(0, 20_000).map((l) => `<circle cx="${scale.x(l.t).toFixed(1)}" cy="${(h - (l.ms / maxMs) * h + 10).toFixed(1)}" r="1.5" fill="${l.ok ? '#3366cc' : '#d62828'}"/>`).join('') +
    `<text x="5" y="15">${maxMs.toFixed(0)} ms</text><text x="5" y="${h + 10}">0</text>${axisSvg(scale, h + 14, false, h + 14)}</svg>`;
}

/** The standalone `--timeline` page. */
export function timelineHtml(entries: readonly TraceEntry[], options: TimelineOptions = {}): string {
  const title = escapeXml(options.title ?? 'shoal timeline');
  const endMs = options.endMs ?? entries[entries.length - 1]?.timeMs ?? 1;
  const t = timelineSvg(entries, options);
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>
<body style="font-family:monospace"><h1>${title}</h1><p>${stateLegendHtml()} (each row: how the other members see that member over time)</p>
${t.summary}<details><summary>each member's view of each other member (${t.rows} rows)</summary>${t.perObserver}</details>${latencySvg(t.latencies, endMs)}</body></html>`;
}
