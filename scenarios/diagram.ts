import type { TraceEntry } from '../sim/index.ts';

/**
 * A space-time (Lamport) diagram of a run as SVG, after Maelstrom's messages.svg: hosts as
 * columns, time down the page, messages as arrows from send to delivery, drops as red
 * crosses at the sender, faults as bands. Bounded: a time window and a cap on arrows.
 */
export interface DiagramOptions {
  fromMs?: number;
  toMs?: number;
  /** Most arrows drawn; later messages are counted but not drawn. @default 4000 */
  maxMessages?: number;
  /** Vertical pixels per simulated millisecond. @default chosen to fit about 1 600 px */
  pixelsPerMs?: number;
  /** Limit the columns to these hosts (default: every host in the window). */
  hosts?: string[];
  title?: string;
}

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]!));

export function spaceTimeSvg(entries: readonly TraceEntry[], options: DiagramOptions = {}): string {
  const fromMs = options.fromMs ?? entries[0]?.timeMs ?? 0;
  const toMs = options.toMs ?? entries[entries.length - 1]?.timeMs ?? fromMs + 1;
  const maxMessages = options.maxMessages ?? 4_000;
  const inWindow = entries.filter((e) => e.timeMs >= fromMs && e.timeMs <= toMs);
  const hosts = options.hosts ?? [...new Set(inWindow.flatMap((e) => (e.host === '-' ? [] : [e.host])))].sort(naturalOrder);
  const column = new Map(hosts.map((h, i) => [h, i]));
  const span = Math.max(1, toMs - fromMs);
  const pxPerMs = options.pixelsPerMs ?? 1_600 / span;
  const colWidth = 110;
  const top = 60;
  const left = 70;
  const width = left + hosts.length * colWidth + 20;
  const height = top + span * pxPerMs + 40;
  const x = (h: string) => left + column.get(h)! * colWidth + colWidth / 2;
  const y = (t: number) => top + (t - fromMs) * pxPerMs;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${Math.ceil(height)}" font-family="monospace" font-size="11">`);
  out.push('<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>');
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="10" y="20" font-size="14">${escape(options.title ?? 'space-time diagram')} — ${fromMs.toFixed(0)}–${toMs.toFixed(0)} ms</text>`);
  for (const h of hosts) {
    out.push(`<line x1="${x(h)}" y1="${top}" x2="${x(h)}" y2="${height - 20}" stroke="#bbb"/>`);
    out.push(`<text x="${x(h)}" y="${top - 10}" text-anchor="middle" font-weight="bold">${escape(h)}</text>`);
  }
  const tickEvery = niceStep(span / 10);
  for (let t = Math.ceil(fromMs / tickEvery) * tickEvery; t <= toMs; t += tickEvery) {
    out.push(`<text x="5" y="${y(t) + 4}" fill="#888">${t.toFixed(0)}ms</text><line x1="${left - 5}" y1="${y(t)}" x2="${width}" y2="${y(t)}" stroke="#f0f0f0"/>`);
  }
  const sends = new Map<number, TraceEntry>();
  let drawn = 0;
  let skipped = 0;
  for (const e of inWindow) {
    if (e.kind === 'send' && e.msg !== undefined) sends.set(e.msg, e);
    else if ((e.kind === 'deliver' || e.kind === 'drop') && e.msg !== undefined) {
      const sent = sends.get(e.msg);
      if (sent === undefined || !column.has(sent.host)) continue;
      if (drawn >= maxMessages) {
        skipped++;
        continue;
      }
      drawn++;
      const channel = sent.label ?? 'dgram';
      if (e.kind === 'deliver' && column.has(e.host)) {
        const colour = channel === 'dgram' ? '#3366cc' : '#2a9d4a';
        out.push(`<line x1="${x(sent.host)}" y1="${y(sent.timeMs)}" x2="${x(e.host)}" y2="${y(e.timeMs)}" stroke="${colour}" stroke-width="0.8" marker-end="url(#arrow)"><title>${escape(`${sent.host}→${e.host} ${channel} ${e.bytes ?? 0} B, sent ${sent.timeMs.toFixed(2)} ms, arrived ${e.timeMs.toFixed(2)} ms`)}</title></line>`);
      } else if (e.kind === 'drop') {
        const cx = x(sent.host) + 8;
        const cy = y(e.timeMs);
        out.push(`<path d="M ${cx - 3} ${cy - 3} L ${cx + 3} ${cy + 3} M ${cx - 3} ${cy + 3} L ${cx + 3} ${cy - 3}" stroke="#d62828" stroke-width="1.5"><title>${escape(`${sent.host}→${e.peer ?? '?'} dropped: ${e.label}`)}</title></path>`);
      }
    } else if (e.kind === 'fault') {
      const label = `${e.label}${e.detail ? ' ' + JSON.stringify(e.detail) : ''}`;
      if (column.has(e.host)) {
        out.push(`<rect x="${x(e.host) - 40}" y="${y(e.timeMs) - 7}" width="80" height="14" fill="#ffd166" opacity="0.9"/><text x="${x(e.host)}" y="${y(e.timeMs) + 4}" text-anchor="middle">${escape(e.label ?? '')}</text>`);
      } else {
        out.push(`<line x1="${left}" y1="${y(e.timeMs)}" x2="${width - 10}" y2="${y(e.timeMs)}" stroke="#f4a261" stroke-dasharray="6 3"/><text x="${left + 4}" y="${y(e.timeMs) - 3}" fill="#c1440e">${escape(label.slice(0, 160))}</text>`);
      }
    } else if (e.kind === 'output' && column.has(e.host) && e.label !== undefined && !e.label.startsWith('log:')) {
      out.push(`<circle cx="${x(e.host)}" cy="${y(e.timeMs)}" r="2.5" fill="#6a4c93"><title>${escape(`${e.host}: ${e.label} ${JSON.stringify(e.detail ?? {})}`)}</title></circle>`);
    }
  }
  if (skipped > 0) out.push(`<text x="10" y="40" fill="#d62828">${skipped} more messages not drawn (maxMessages ${maxMessages}); narrow the window</text>`);
  out.push('</svg>');
  return out.join('\n');
}

function niceStep(raw: number): number {
  const exp = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-3))));
  for (const m of [1, 2, 5, 10]) if (m * exp >= raw) return m * exp;
  return 10 * exp;
}

export function naturalOrder(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
