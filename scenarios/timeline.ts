import type { TraceEntry } from '../sim/index.ts';
import { naturalOrder } from './diagram.ts';

/**
 * A self-contained HTML timeline of a run: for each observer, one row per member coloured
 * by the state the observer held (alive, suspect, dead, left) over time, faults as
 * vertical marks, and RPC call latencies over time when the run had a workload.
 */
const colours: Record<string, string> = { alive: '#52b788', suspect: '#f4a261', dead: '#d62828', left: '#8d99ae' };
const stateOf: Record<string, string> = { joined: 'alive', alive: 'alive', updated: 'alive', suspect: 'suspect', failed: 'dead', left: 'left' };

/** Rows drawn at most (observer × member pairs). */
export const timelineRowsMax = 600;

export function timelineHtml(entries: readonly TraceEntry[], options: { title?: string } = {}): string {
  const end = entries[entries.length - 1]?.timeMs ?? 1;
  const segments = new Map<string, { state: string; from: number; to: number }[]>();
  const open = new Map<string, { state: string; from: number }>();
  const faults: { t: number; label: string }[] = [];
  const latencies: { t: number; ms: number; ok: boolean }[] = [];
  for (const e of entries) {
    if (e.kind === 'fault') faults.push({ t: e.timeMs, label: `${e.host !== '-' ? e.host + ' ' : ''}${e.label}` });
    if (e.kind !== 'output') continue;
    const detail = e.detail as { type?: string; name?: string; latencyMs?: number; ok?: boolean } | undefined;
    if (e.label === 'rpc' && detail?.latencyMs !== undefined) latencies.push({ t: e.timeMs, ms: detail.latencyMs, ok: detail.ok !== false });
    if (e.label !== 'member' || detail?.type === undefined || !detail.name || detail.name === e.host) continue;
    const state = stateOf[detail.type];
    if (state === undefined) continue;
    const key = `${e.host}\u0000${detail.name}`;
    const prev = open.get(key);
    if (prev !== undefined) {
      if (prev.state === state) continue;
      (segments.get(key) ?? segments.set(key, []).get(key)!).push({ ...prev, to: e.timeMs });
    }
    open.set(key, { state, from: e.timeMs });
  }
  for (const [key, prev] of open) (segments.get(key) ?? segments.set(key, []).get(key)!).push({ ...prev, to: end });
  const keys = [...segments.keys()].sort((a, b) => {
    const [oa, ma] = a.split('\u0000') as [string, string];
    const [ob, mb] = b.split('\u0000') as [string, string];
    return naturalOrder(oa, ob) || naturalOrder(ma, mb);
  }).slice(0, timelineRowsMax);
  const width = 1200;
  const left = 150;
  const rowHeight = 10;
  const x = (t: number) => left + (t / end) * (width - left - 10);
  const rows: string[] = [];
  keys.forEach((key, i) => {
    const [observer, member] = key.split('\u0000') as [string, string];
    const y = 30 + i * rowHeight;
    rows.push(`<text x="${left - 5}" y="${y + 8}" text-anchor="end">${observer} → ${member}</text>`);
    for (const s of segments.get(key)!) {
      rows.push(`<rect x="${x(s.from).toFixed(1)}" y="${y}" width="${Math.max(0.5, x(s.to) - x(s.from)).toFixed(1)}" height="${rowHeight - 1}" fill="${colours[s.state]}"><title>${observer} sees ${member} ${s.state} ${s.from.toFixed(0)}–${s.to.toFixed(0)} ms</title></rect>`);
    }
  });
  const height = 40 + keys.length * rowHeight;
  for (const f of faults) rows.push(`<line x1="${x(f.t)}" y1="20" x2="${x(f.t)}" y2="${height}" stroke="#333" stroke-dasharray="3 3"><title>${f.label} at ${f.t.toFixed(0)} ms</title></line><text x="${x(f.t) + 2}" y="16">${f.label}</text>`);
  let latencySvg = '';
  if (latencies.length > 0) {
    const maxMs = Math.max(...latencies.map((l) => l.ms), 1);
    const h = 200;
    latencySvg = `<h2>RPC latency over time</h2><svg width="${width}" height="${h + 30}" font-size="10">` +
      latencies.slice(0, 20_000).map((l) => `<circle cx="${x(l.t).toFixed(1)}" cy="${(h - (l.ms / maxMs) * h + 10).toFixed(1)}" r="1.5" fill="${l.ok ? '#3366cc' : '#d62828'}"/>`).join('') +
      `<text x="5" y="15">${maxMs.toFixed(0)} ms</text><text x="5" y="${h + 10}">0</text></svg>`;
  }
  const legend = Object.entries(colours).map(([s, c]) => `<span style="background:${c};padding:0 6px;margin-right:8px">${s}</span>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${options.title ?? 'shoal timeline'}</title></head>
<body style="font-family:monospace"><h1>${options.title ?? 'shoal timeline'}</h1><p>${legend} (each row: what the observer believed about the member)</p>
<svg width="${width}" height="${height}" font-size="9">${rows.join('')}</svg>${latencySvg}</body></html>`;
}
