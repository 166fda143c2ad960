import type { TraceEntry } from '../sim/index.ts';
import type { FaultBand } from './report/faults.ts';
import { RpcCallNames, messageKinds, type MessageKind, type MessageLabel } from './report/message-kind.ts';

/**
 * A space-time (Lamport) diagram of a run as SVG, after Maelstrom's messages.svg: hosts as
 * columns, time down the page, messages as arrows from send to delivery labelled by what
 * they carry (ping, ack, suspect n3, kv.v1/put OK), drops as dashed red arrows ending in a
 * cross at their target, membership transitions marked on the line of the member whose
 * view changed, faults as bands, and a legend. Bounded: a time window and a cap on arrows.
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
  /** What each message carried (by `msg`), recorded with `MessageLabels`; without it messages are labelled by channel. */
  labels?: (msg: number) => MessageLabel | undefined;
  /** The scenario's faults as bands (`faultBands`); without them the trace's fault entries are drawn as lines. */
  faults?: readonly FaultBand[];
}

export const kindColours: Record<MessageKind, string> = {
  'ping': '#1f77b4', 'ping-req': '#6baed6', 'ack': '#17becf', 'nack': '#8c9eff', 'suspect': '#ff7f0e', 'alive': '#2ca02c',
  'dead': '#d62728', 'left': '#7f7f7f', 'app-broadcast': '#bcbd22', 'push-pull': '#9467bd', 'rpc': '#8c564b', 'stream': '#b0b0b0', '?': '#000000',
};
/** Membership states as the timeline and the diagram colour them. */
export const stateColours: Record<string, string> = { alive: '#52b788', suspect: '#f4a261', dead: '#d62828', left: '#8d99ae' };
/** A member event's type → the state it leaves the member in, in the observer's view. */
export const stateOfEvent: Record<string, string> = { joined: 'alive', alive: 'alive', updated: 'alive', suspect: 'suspect', failed: 'dead', left: 'left' };

export const escapeXml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]!));

const colWidth = 120;
const left = 70;

export function spaceTimeSvg(entries: readonly TraceEntry[], options: DiagramOptions = {}): string {
  const fromMs = options.fromMs ?? entries[0]?.timeMs ?? 0;
  const toMs = options.toMs ?? entries[entries.length - 1]?.timeMs ?? fromMs + 1;
  const maxMessages = options.maxMessages ?? 4_000;
  const inWindow = (t: number) => t >= fromMs && t <= toMs;
  const hosts = options.hosts ?? [...new Set(entries.filter((e) => inWindow(e.timeMs) && e.host !== '-').map((e) => e.host))].sort(naturalOrder);
  const column = new Map(hosts.map((h, i) => [h, i]));
  const span = Math.max(1, toMs - fromMs);
  const pxPerMs = options.pixelsPerMs ?? 1_600 / span;
  const legend = legendSvg(left, 34);
  const top = 56 + legend.height;
  const width = Math.max(left + hosts.length * colWidth + 20, legend.width + 20);
  const height = top + span * pxPerMs + 40;
  const x = (h: string) => left + column.get(h)! * colWidth + colWidth / 2;
  const y = (t: number) => top + (Math.min(toMs, Math.max(fromMs, t)) - fromMs) * pxPerMs;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="space-time" width="${width}" height="${Math.ceil(height)}" font-family="monospace" font-size="11">`);
  out.push('<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>');
  out.push('<rect width="100%" height="100%" fill="white"/>');
  out.push(`<text x="10" y="20" font-size="14">${escapeXml(options.title ?? 'space-time diagram')} — ${fromMs.toFixed(0)}–${toMs.toFixed(0)} ms</text>`);
  out.push(legend.svg);
  const tickEvery = niceStep(span / 10);
  for (let t = Math.ceil(fromMs / tickEvery) * tickEvery; t <= toMs; t += tickEvery) {
    out.push(`<text x="5" y="${y(t) + 4}" fill="#888">${t.toFixed(0)}ms</text><line x1="${left - 5}" y1="${y(t)}" x2="${width}" y2="${y(t)}" stroke="#f0f0f0"/>`);
  }
  if (options.faults) out.push(...faultBandsSvg(options.faults, { fromMs, toMs, width, x, y, column }));
  for (const h of hosts) {
    out.push(`<line x1="${x(h)}" y1="${top}" x2="${x(h)}" y2="${height - 20}" stroke="#bbb"/>`);
    out.push(`<text x="${x(h)}" y="${top - 10}" text-anchor="middle" font-weight="bold">${escapeXml(h)}</text>`);
  }
  const sends = new Map<number, { entry: TraceEntry; label: MessageLabel }>();
  const rpcNames = new RpcCallNames();
  const views = new Map<string, Map<string, string>>();
  const latency = { sumMs: 0, count: 0 };
  const arrows: string[] = [];
  const marks: string[] = [];
  let drawn = 0;
  let skipped = 0;
  for (const e of entries) {
    if (e.timeMs > toMs) break;
    if (e.kind === 'send' && e.msg !== undefined) {
      const label = labelOf(e, options.labels);
      const named = e.peer === undefined ? label : rpcNames.name(label, e.host, e.peer);
      if (inWindow(e.timeMs)) sends.set(e.msg, { entry: e, label: named });
    } else if ((e.kind === 'deliver' || e.kind === 'drop') && e.msg !== undefined) {
      const sent = sends.get(e.msg);
      if (sent === undefined || !column.has(sent.entry.host)) continue;
      if (drawn >= maxMessages) {
        skipped++;
        continue;
      }
      if (e.kind === 'deliver' && column.has(e.host)) {
        drawn++;
        latency.sumMs += e.timeMs - sent.entry.timeMs;
        latency.count++;
        arrows.push(arrowSvg(sent.entry, e, sent.label, x, y));
      } else if (e.kind === 'drop') {
        drawn++;
        const target = sent.entry.peer !== undefined && column.has(sent.entry.peer) ? sent.entry.peer : undefined;
        arrows.push(dropSvg(sent.entry, e, sent.label, target, x, y, latency.count > 0 ? latency.sumMs / latency.count : 1));
      }
    } else if (e.kind === 'fault') {
      if (e.label === 'crash' || e.label === 'restart') views.delete(e.host);
      if (!options.faults && inWindow(e.timeMs)) marks.push(traceFaultSvg(e, column.has(e.host), { width, x, y }));
    } else if (e.kind === 'output' && e.label === 'member') {
      const mark = transition(e, views);
      if (mark !== undefined && inWindow(e.timeMs) && column.has(e.host)) marks.push(transitionSvg(e, mark, x, y));
    } else if (e.kind === 'output' && inWindow(e.timeMs) && column.has(e.host) && e.label !== undefined && !e.label.startsWith('log:')) {
      marks.push(`<circle cx="${x(e.host)}" cy="${y(e.timeMs)}" r="2.5" fill="#6a4c93"><title>${escapeXml(`${e.host}: ${e.label} ${JSON.stringify(e.detail ?? {})}`)}</title></circle>`);
    }
  }
  out.push(...arrows, ...marks);
  if (skipped > 0) out.push(`<text x="10" y="${top - 26}" fill="#d62828">${skipped} more messages not drawn (maxMessages ${maxMessages}); narrow the window</text>`);
  out.push('</svg>');
  return out.join('\n');
}

function labelOf(send: TraceEntry, labels: DiagramOptions['labels']): MessageLabel {
  const label = labels?.(send.msg!);
  if (label !== undefined) return label;
  const channel = send.label ?? 'dgram';
  const word = channel.startsWith('stream:') ? channel.slice('stream:'.length) : channel;
  return { kind: channel.startsWith('stream:') ? 'stream' : '?', text: word, detail: channel };
}

function arrowSvg(sent: TraceEntry, delivered: TraceEntry, label: MessageLabel, x: (h: string) => number, y: (t: number) => number): string {
  const colour = kindColours[label.kind];
  const [x1, y1, x2, y2] = [x(sent.host), y(sent.timeMs), x(delivered.host), y(delivered.timeMs)];
  const title = `${sent.host}→${delivered.host} ${label.detail}, ${delivered.bytes ?? 0} B, sent ${sent.timeMs.toFixed(2)} ms, arrived ${delivered.timeMs.toFixed(2)} ms`;
  // A third of the way from the sender, so a ping's label and its ack's do not sit on each other.
  const text = label.kind === 'stream' ? '' : `<text class="msg-label" x="${(x1 + (x2 - x1) / 3).toFixed(1)}" y="${(y1 + (y2 - y1) / 3 - 2).toFixed(1)}" text-anchor="middle" font-size="8" fill="${colour}">${escapeXml(label.text)}</text>`;
  return `<g class="msg" data-kind="${label.kind}"><line x1="${x1}" y1="${y1.toFixed(2)}" x2="${x2}" y2="${y2.toFixed(2)}" stroke="${colour}" stroke-width="0.8" marker-end="url(#arrow)"/>${text}<title>${escapeXml(title)}</title></g>`;
}

/** A drop: a dashed red arrow from the sender to where the message was lost (its target's line), ending in a cross. */
function dropSvg(sent: TraceEntry, drop: TraceEntry, label: MessageLabel, target: string | undefined, x: (h: string) => number, y: (t: number) => number, latencyMs: number): string {
  const x1 = x(sent.host);
  const y1 = y(sent.timeMs);
  const x2 = target === undefined ? x1 + 40 : x(target);
  // A message lost on the way is dropped the instant it is sent: draw it as far as a delivery would have gone.
  const y2 = Math.max(y(drop.timeMs), y(sent.timeMs + latencyMs), y1 + 4);
  const title = `${sent.host}→${sent.peer ?? '?'} ${label.detail} DROPPED (${drop.label}) at ${drop.timeMs.toFixed(2)} ms`;
  return `<g class="msg drop" data-kind="${label.kind}"><line x1="${x1}" y1="${y1.toFixed(2)}" x2="${x2}" y2="${y2.toFixed(2)}" stroke="#d62828" stroke-width="0.8" stroke-dasharray="3 2"/>` +
    `<path d="M ${x2 - 3} ${(y2 - 3).toFixed(2)} L ${x2 + 3} ${(y2 + 3).toFixed(2)} M ${x2 - 3} ${(y2 + 3).toFixed(2)} L ${x2 + 3} ${(y2 - 3).toFixed(2)}" stroke="#d62828" stroke-width="1.5"/>` +
    `<text class="msg-label" x="${((x1 + x2) / 2).toFixed(1)}" y="${((y1 + y2) / 2 - 2).toFixed(1)}" text-anchor="middle" font-size="8" fill="#d62828">${escapeXml(`${label.text} ✗`)}</text><title>${escapeXml(title)}</title></g>`;
}

/** The state an observer's view of a member moved to, when a member event changed it (or a local partition event). */
function transition(e: TraceEntry, views: Map<string, Map<string, string>>): string | undefined {
  const detail = e.detail as { type?: string; name?: string } | undefined;
  if (detail?.type?.startsWith('partition')) return detail.type;
  if (detail?.type === undefined || !detail.name || detail.name === e.host) return undefined;
  const state = stateOfEvent[detail.type];
  if (state === undefined) return undefined;
  let view = views.get(e.host);
  if (view === undefined) views.set(e.host, (view = new Map()));
  if (view.get(detail.name) === state) return undefined;
  view.set(detail.name, state);
  return `${detail.name} ${state}`;
}

function transitionSvg(e: TraceEntry, mark: string, x: (h: string) => number, y: (t: number) => number): string {
  const state = mark.split(' ')[1] ?? '';
  const colour = stateColours[state] ?? '#6a4c93';
  const cx = x(e.host);
  const cy = y(e.timeMs);
  return `<g class="transition"><path d="M ${cx} ${cy - 5} L ${cx + 5} ${cy} L ${cx} ${cy + 5} L ${cx - 5} ${cy} z" fill="${colour}" stroke="#333" stroke-width="0.5"/>` +
    `<text x="${cx + 7}" y="${cy + 3}" font-size="9" fill="#333">${escapeXml(mark)}</text><title>${escapeXml(`${e.timeMs.toFixed(1)} ms: ${e.host} now sees ${mark}`)}</title></g>`;
}

interface Frame {
  fromMs: number;
  toMs: number;
  width: number;
  x: (h: string) => number;
  y: (t: number) => number;
  column?: Map<string, number>;
}

/** Network faults as translucent bands across every column; node faults on their node's column. */
function faultBandsSvg(bands: readonly FaultBand[], f: Frame & { column: Map<string, number> }): string[] {
  const out: string[] = [];
  for (const band of bands) {
    if (band.toMs < f.fromMs || band.fromMs > f.toMs) continue;
    const y1 = f.y(band.fromMs);
    const y2 = Math.max(f.y(band.toMs), y1 + 1);
    const title = `<title>${escapeXml(`${band.label}: ${band.fromMs} ms${band.toMs > band.fromMs ? `–${band.toMs} ms` : ''}`)}</title>`;
    const starts = band.fromMs >= f.fromMs;
    if (band.nodes === undefined) {
      out.push(`<g class="fault"><rect x="${left}" y="${y1.toFixed(2)}" width="${f.width - left - 10}" height="${(y2 - y1).toFixed(2)}" fill="#f4a261" opacity="0.15"/>` +
        `<line x1="${left}" y1="${y1.toFixed(2)}" x2="${f.width - 10}" y2="${y1.toFixed(2)}" stroke="#f4a261" stroke-dasharray="${starts ? '6 3' : '1 3'}"/>` +
        `<text x="${left + 4}" y="${(y1 - 3).toFixed(2)}" fill="#c1440e">${escapeXml(starts ? band.label : `(${band.label}, since ${band.fromMs} ms)`)}</text>${title}</g>`);
      continue;
    }
    for (const node of band.nodes.filter((n) => f.column.has(n))) {
      const cx = f.x(node);
      if (band.toMs > band.fromMs) out.push(`<g class="fault"><rect x="${cx - 12}" y="${y1.toFixed(2)}" width="24" height="${(y2 - y1).toFixed(2)}" fill="${band.kind === 'crash' ? '#999' : '#c9b3e6'}" opacity="0.35"/>${title}</g>`);
      if (starts) out.push(`<g class="fault"><rect x="${cx - 55}" y="${(y1 - 7).toFixed(2)}" width="110" height="14" fill="#ffd166" opacity="0.9"/><text x="${cx}" y="${(y1 + 4).toFixed(2)}" text-anchor="middle">${escapeXml(band.label)}</text>${title}</g>`);
    }
  }
  return out;
}

/** A fault entry of the trace itself, for diagrams drawn without the scenario's bands. */
function traceFaultSvg(e: TraceEntry, onColumn: boolean, f: Pick<Frame, 'width' | 'x' | 'y'>): string {
  if (onColumn) return `<rect x="${f.x(e.host) - 40}" y="${f.y(e.timeMs) - 7}" width="80" height="14" fill="#ffd166" opacity="0.9"/><text x="${f.x(e.host)}" y="${f.y(e.timeMs) + 4}" text-anchor="middle">${escapeXml(e.label ?? '')}</text>`;
  return `<line x1="${left}" y1="${f.y(e.timeMs)}" x2="${f.width - 10}" y2="${f.y(e.timeMs)}" stroke="#f4a261" stroke-dasharray="6 3"/><text x="${left + 4}" y="${f.y(e.timeMs) - 3}" fill="#c1440e">${escapeXml(e.label ?? 'fault')}</text>`;
}

/** The legend: a swatch per message kind, then drops, transitions and fault bands. */
function legendSvg(x0: number, y0: number): { svg: string; width: number; height: number } {
  const items: string[] = [];
  const itemWidth = 96;
  const perRow = 9;
  const at = (i: number) => [x0 + (i % perRow) * itemWidth, y0 + Math.floor(i / perRow) * 16] as const;
  messageKinds.forEach((kind, i) => {
    const [ix, iy] = at(i);
    items.push(`<line x1="${ix}" y1="${iy}" x2="${ix + 18}" y2="${iy}" stroke="${kindColours[kind]}" stroke-width="2"/><text x="${ix + 22}" y="${iy + 4}">${escapeXml(kind === '?' ? '? unknown' : kind)}</text>`);
  });
  const extras = [
    (ix: number, iy: number) => `<line x1="${ix}" y1="${iy}" x2="${ix + 18}" y2="${iy}" stroke="#d62828" stroke-dasharray="3 2"/><text x="${ix + 22}" y="${iy + 4}">drop ✗</text>`,
    (ix: number, iy: number) => `<path d="M ${ix + 9} ${iy - 5} L ${ix + 14} ${iy} L ${ix + 9} ${iy + 5} L ${ix + 4} ${iy} z" fill="${stateColours.suspect}"/><text x="${ix + 22}" y="${iy + 4}">view change</text>`,
    (ix: number, iy: number) => `<rect x="${ix}" y="${iy - 5}" width="18" height="10" fill="#f4a261" opacity="0.4"/><text x="${ix + 22}" y="${iy + 4}">fault</text>`,
  ];
  extras.forEach((draw, i) => items.push(draw(...at(messageKinds.length + i))));
  const count = messageKinds.length + extras.length;
  return { svg: `<g class="legend" font-size="10">${items.join('')}</g>`, width: x0 + perRow * itemWidth, height: Math.ceil(count / perRow) * 16 };
}

export function niceStep(raw: number): number {
  const exp = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-3))));
  for (const m of [1, 2, 5, 10]) if (m * exp >= raw) return m * exp;
  return 10 * exp;
}

export function naturalOrder(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
