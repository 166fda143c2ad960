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

const kindCode: Record<TraceKind, number> = Object.fromEntries(traceKinds.map((k, i) => [k, i + 1])) as Record<TraceKind, number>;

export class Trace {
  /** Number of entries recorded so far. */
  count = 0;
  private h1 = 0x811c9dc5;
  private h2 = 0x2545f491;
  private readonly ring: (TraceEntry | undefined)[];
  private readonly capacity: number;
  private readonly sink: ((entry: TraceEntry) => void) | undefined;
  /** See `TraceOptions.payloads`. */
  readonly payloads: ((msg: number, bytes: Uint8Array) => void) | undefined;
  private readonly floatView = new Float64Array(1);
  private readonly labelCodes = new Map<string, number>();
  private readonly wordView = new Uint32Array(this.floatView.buffer);
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
    this.mixInt(kindCode[kind]);
    this.mixFloat(timeMs);
    this.mixInt(host);
    this.mixInt(peer);
    this.mixInt(bytes);
    if (label !== '') this.mixInt(this.labelCode(label));
    this.mixInt(msg);
    if (detail !== undefined) this.mixString(JSON.stringify(detail));
    if (this.keepsEntries) {
      const entry: { -readonly [K in keyof TraceEntry]: TraceEntry[K] } = { index: this.count, timeMs, kind, host: this.hostName(host) };
      if (peer >= 0) entry.peer = this.hostName(peer);
      if (bytes >= 0) entry.bytes = bytes;
      if (label !== '') entry.label = label;
      if (msg >= 0) entry.msg = msg;
      if (detail !== undefined) entry.detail = detail;
      if (this.capacity > 0) this.ring[this.count % this.capacity] = entry;
      this.sink?.(entry);
    }
    this.count++;
  }

  /** Labels come from small fixed sets, so each string is hashed once and then looked up. */
  private labelCode(label: string): number {
    let code = this.labelCodes.get(label);
    if (code === undefined) {
      code = 0x811c9dc5;
      for (let i = 0; i < label.length; i++) code = Math.imul(code ^ label.charCodeAt(i), 0x01000193);
      if (this.labelCodes.size < 4096) this.labelCodes.set(label, code);
    }
    return code;
  }

  private mixInt(value: number): void {
    const v = value | 0;
    this.h1 = Math.imul(this.h1 ^ v, 0x01000193);
    this.h2 = Math.imul(this.h2 ^ (v + 0x9e3779b9), 0x85ebca6b);
    this.h2 ^= this.h2 >>> 13;
  }

  private mixFloat(value: number): void {
    this.floatView[0] = value;
    this.mixInt(this.wordView[0]!);
    this.mixInt(this.wordView[1]!);
  }

  private mixString(value: string): void {
    for (let i = 0; i < value.length; i++) this.mixInt(value.charCodeAt(i));
    this.mixInt(value.length);
  }
}
