/**
 * The record of a run: every send, delivery, drop (with its reason), timer, fault,
 * connection event and host output, in order. A running 64-bit hash over all entries
 * identifies the run: the same seed and inputs give the same hash, byte for byte, on any
 * machine. Entries themselves are kept in a bounded ring (the last `capacity`), and can
 * also be streamed to a sink (for trace files).
 */

export const traceKinds = ['send', 'deliver', 'drop', 'timer', 'fault', 'output', 'connection', 'stream'] as const;
export type TraceKind = (typeof traceKinds)[number];

/** Why a message did not arrive. */
export const dropReasons = [
  'loss', 'partitioned', 'host-down', 'no-route', 'buffer-full', 'crashed-sender', 'stale',
] as const;
export type DropReason = (typeof dropReasons)[number];

export interface TraceEntry {
  /** Position in the run, from 0. */
  readonly index: number;
  readonly timeMs: number;
  readonly kind: TraceKind;
  /** The host the entry is about (sender for sends, receiver for deliveries). */
  readonly host: string;
  /** The other end, for messages. */
  readonly peer?: string;
  readonly bytes?: number;
  /** For drops the reason (a `DropReason`); for messages the channel (`dgram`, `stream:data`, ...); for faults and outputs their name. */
  readonly label?: string;
  /** Identifies one message across its send, delivery or drop entries. */
  readonly msg?: number;
  /** Structured detail: a fault's parameters, a host output's payload. */
  readonly detail?: unknown;
}

export interface TraceOptions {
  /**
   * How many recent entries to keep in memory for checkers and inspection.
   * @default 100_000
   */
  capacity?: number;
  /** Receives every entry as it is recorded (for writing trace files). */
  sink?: (entry: TraceEntry) => void;
  /**
   * Receives the bytes of each message as it is sent (a datagram, a stream segment's data),
   * with the `msg` of its send entry, so a report can tell what each message was. Not part
   * of the hash: a run is the same run whether or not someone looks at its bytes.
   */
  payloads?: (msg: number, bytes: Uint8Array) => void;
}

export class Trace {
  /** Number of entries recorded so far. */
  count = 0;
  /** Messages numbered so far (`msg` of the next one). */
  private messages = 0;
  private h1 = 0x811c9dc5;
  private h2 = 0x2545f491;
  private readonly ring: (TraceEntry | undefined)[];
  private readonly capacity: number;
  private readonly sink: ((entry: TraceEntry) => void) | undefined;
  /** See `TraceOptions.payloads`. */
  readonly payloads: ((msg: number, bytes: Uint8Array) => void) | undefined;
  private readonly labelCodes = new Map<string, number>();
  private lastLabel = '';
  private lastLabelCode = 0;
  /** The time of the entry being hashed as two words (`timeView` overlays words 2 and 3). */
  private readonly words = new Int32Array(4);
  private readonly timeView = new Float64Array(this.words.buffer, 8, 1);
  /** Entries are materialised only when someone keeps or receives them. */
  readonly keepsEntries: boolean;

  constructor(private readonly hostName: (index: number) => string, options: TraceOptions = {}) {
    this.capacity = Math.max(0, Math.floor(options.capacity ?? 100_000));
    this.ring = new Array(this.capacity);
    this.sink = options.sink;
    this.payloads = options.payloads;
    this.keepsEntries = this.capacity > 0 || this.sink !== undefined;
  }

  /** The hash of everything recorded so far, as 16 hex digits. */
  get hash(): string {
    return (this.h1 >>> 0).toString(16).padStart(8, '0') + (this.h2 >>> 0).toString(16).padStart(8, '0');
  }

  /** The kept entries, oldest first (at most `capacity`). */
  entries(): TraceEntry[] {
    const out: TraceEntry[] = [];
    const start = Math.max(0, this.count - this.capacity);
    for (let i = start; i < this.count; i++) out.push(this.ring[i % this.capacity]!);
    return out;
  }

  /**
   * Records one entry. Hosts are given by index, labels as short strings, so the hot path
   * hashes numbers and allocates nothing when entries are not kept.
   */
  record(kind: TraceKind, timeMs: number, host: number, peer: number, bytes: number, label: string, msg = -1, detail?: unknown): void {
    // The words hashed, in order: kind, the time's two words (through `timeView`), host,
    // peer, bytes, the label's code if any, msg; each as an Int32Array would hold it (`| 0`).
    const words = this.words;
    this.timeView[0] = timeMs;
    const k = kindCode(kind);
    const lo = words[2]!;
    const hi = words[3]!;
    let h1 = mix1(mix1(mix1(mix1(mix1(mix1(this.h1, k), lo), hi), host | 0), peer | 0), bytes | 0);
    let h2 = mix2(mix2(mix2(mix2(mix2(mix2(this.h2, k), lo), hi), host | 0), peer | 0), bytes | 0);
    if (label !== '') {
      const code = this.labelCode(label);
      h1 = mix1(h1, code);
      h2 = mix2(h2, code);
    }
    this.h1 = mix1(h1, msg | 0);
    this.h2 = mix2(h2, msg | 0);
    if (detail !== undefined) this.mixString(JSON.stringify(detail));
    if (this.keepsEntries) this.keep(kind, timeMs, host, peer, bytes, label, msg, detail);
    this.count++;
  }

  /**
   * `record(kind, timeMs, host, peer, bytes, 'dgram', msg)`, the same words hashed, for the
   * hottest entries of a run (a datagram's send and delivery): small enough for the
   * compiler to inline into the send and delivery paths. For the simulator's own use.
   * @internal
   */
  datagram(kind: 'send' | 'deliver', timeMs: number, host: number, peer: number, bytes: number, msg: number): void {
    if (this.keepsEntries) return this.record(kind, timeMs, host, peer, bytes, 'dgram', msg);
    const words = this.words;
    this.timeView[0] = timeMs;
    const k = kind === 'send' ? 1 : 2;
    const lo = words[2]!;
    const hi = words[3]!;
    this.h1 = mix1(mix1(mix1(mix1(mix1(mix1(mix1(mix1(this.h1, k), lo), hi), host | 0), peer | 0), bytes | 0), dgramCode), msg | 0);
    this.h2 = mix2(mix2(mix2(mix2(mix2(mix2(mix2(mix2(this.h2, k), lo), hi), host | 0), peer | 0), bytes | 0), dgramCode), msg | 0);
    this.count++;
  }

  /** Numbers a new message: its send, delivery and drop entries carry this `msg`. */
  nextMessage(): number {
    return this.messages++;
  }

  /** Records that message `msg` from host `from` to host `to` did not arrive, at the host `at` where it was lost. */
  drop(timeMs: number, from: number, to: number, bytes: number, reason: DropReason, msg: number, at = from): void {
    this.record('drop', timeMs, at, at === from ? to : from, bytes, reason, msg);
  }

  private keep(kind: TraceKind, timeMs: number, host: number, peer: number, bytes: number, label: string, msg: number, detail: unknown): void {
    const entry: { -readonly [K in keyof TraceEntry]: TraceEntry[K] } = { index: this.count, timeMs, kind, host: this.hostName(host) };
    if (peer >= 0) entry.peer = this.hostName(peer);
    if (bytes >= 0) entry.bytes = bytes;
    if (label !== '') entry.label = label;
    if (msg >= 0) entry.msg = msg;
    if (detail !== undefined) entry.detail = detail;
    if (this.capacity > 0) this.ring[this.count % this.capacity] = entry;
    this.sink?.(entry);
  }

  /**
   * Labels come from small fixed sets, so each string is hashed once and then looked up;
   * the hot path repeats one label (`dgram`) and skips even the lookup.
   */
  private labelCode(label: string): number {
    if (label === this.lastLabel) return this.lastLabelCode;
    let code = this.labelCodes.get(label);
    if (code === undefined) {
      code = labelHash(label);
      if (this.labelCodes.size < 4096) this.labelCodes.set(label, code);
    }
    this.lastLabel = label;
    this.lastLabelCode = code;
    return code;
  }

  private mixString(value: string): void {
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i = 0; i <= value.length; i++) {
      const v = i < value.length ? value.charCodeAt(i) : value.length;
      h1 = mix1(h1, v);
      h2 = mix2(h2, v);
    }
    this.h1 = h1;
    this.h2 = h2;
  }
}

/** A label's code: FNV-1a over its characters. */
function labelHash(label: string): number {
  let code = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) code = Math.imul(code ^ label.charCodeAt(i), 0x01000193);
  return code;
}

const dgramCode = labelHash('dgram');

function mix1(h: number, v: number): number {
  return Math.imul(h ^ v, 0x01000193);
}

function mix2(h: number, v: number): number {
  const x = Math.imul(h ^ (v + 0x9e3779b9), 0x85ebca6b);
  return x ^ (x >>> 13);
}

/** A kind's position in `traceKinds`, from 1: part of every hash, so never renumbered. */
function kindCode(kind: TraceKind): number {
  switch (kind) {
    case 'send': return 1;
    case 'deliver': return 2;
    case 'drop': return 3;
    case 'timer': return 4;
    case 'fault': return 5;
    case 'output': return 6;
    case 'connection': return 7;
    case 'stream': return 8;
  }
}
