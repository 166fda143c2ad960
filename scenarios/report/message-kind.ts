import { readU16, readU32, readVarint, varintCursor } from '../../core/rpc/bytes.ts';
import { methodIndexEntriesMax, readCompactHeader } from '../../core/rpc/compact.ts';
import { FrameType, frameHeaderBytes, preambleBytes, protocolMagic, statusName } from '../../core/rpc/index.ts';
import { MessageType, decodePacket, decodeState, wireVersion, type SwimMessage } from '../../core/swim/index.ts';

/**
 * What a message of a run was, told from its bytes without changing the wire: a SWIM
 * packet (its probe and the gossip piggybacked on it), a push-pull state exchange, or RPC
 * frames (the call's method and status). Bytes that parse as none of these are `?`:
 * labelling never throws, whatever a payload holds.
 */
export const messageKinds = ['ping', 'ping-req', 'ack', 'nack', 'suspect', 'alive', 'dead', 'left', 'app-broadcast', 'push-pull', 'rpc', 'stream', '?'] as const;
export type MessageKind = (typeof messageKinds)[number];

/** One RPC frame as far as a label needs it: the method comes from the call's HEADERS, the status from its TRAILER. */
export interface RpcFrameInfo {
  readonly type: number;
  readonly callId: number;
  readonly method?: string;
  /** Version 2: the method by its index on the connection (its first call named it in full). */
  readonly methodIndex?: number;
  readonly status?: string;
}

export interface MessageLabel {
  readonly kind: MessageKind;
  /** A few words for the diagram: `ping`, `suspect n3 +2`, `push-pull join`. */
  readonly text: string;
  /** Everything the bytes told, for the tooltip. */
  readonly detail: string;
  /** RPC frames, whose method is resolved along the trace (a response names no method). */
  readonly rpc?: readonly RpcFrameInfo[];
}

/** Frames looked at in one segment: a label needs the first few. */
const rpcFramesPerSegmentMax = 32;

const unknown: MessageLabel = { kind: '?', text: '?', detail: 'bytes that parse as no shoal message' };

const swimKind: Record<number, MessageKind> = {
  [MessageType.Ping]: 'ping', [MessageType.IndirectPing]: 'ping-req', [MessageType.Ack]: 'ack', [MessageType.Nack]: 'nack',
  [MessageType.Alive]: 'alive', [MessageType.Suspect]: 'suspect', [MessageType.Dead]: 'dead', [MessageType.AppBroadcast]: 'app-broadcast',
};

const isProbe = (m: SwimMessage) => m.type <= MessageType.Nack;

function describeSwim(m: SwimMessage): string {
  switch (m.type) {
    case MessageType.Ping: return `ping #${m.seq} ${m.target}`;
    case MessageType.IndirectPing: return `ping-req #${m.seq} for ${m.target}`;
    case MessageType.Ack: return `ack #${m.seq}`;
    case MessageType.Nack: return `nack #${m.seq}`;
    case MessageType.Alive: return `alive ${m.name} inc ${m.incarnation}`;
    case MessageType.Suspect: return `suspect ${m.name} inc ${m.incarnation} by ${m.from}`;
    case MessageType.Dead: return m.from === m.name ? `left ${m.name} inc ${m.incarnation}` : `dead ${m.name} inc ${m.incarnation} by ${m.from}`;
    case MessageType.AppBroadcast: return `app-broadcast from ${m.origin} #${m.seq}`;
  }
}

function kindOfSwim(m: SwimMessage): MessageKind {
  return m.type === MessageType.Dead && m.from === m.name ? 'left' : swimKind[m.type] ?? '?';
}

/** A SWIM packet: the probe first (the piggybacked gossip counted), else the first gossip with its member. */
function swimLabel(bytes: Uint8Array): MessageLabel | undefined {
  let messages: SwimMessage[];
  try {
    messages = decodePacket(bytes);
  } catch {
    return undefined;
  }
  if (messages.length === 0) return { kind: '?', text: 'empty packet', detail: 'a SWIM packet with no message this version knows' };
  const main = messages.find(isProbe) ?? messages[0]!;
  const kind = kindOfSwim(main);
  const more = messages.length - 1;
  const head = isProbe(main) || main.type === MessageType.AppBroadcast ? kind : `${kind} ${(main as { name: string }).name}`;
  return { kind, text: more > 0 ? `${head} +${more}` : head, detail: messages.map(describeSwim).join('; ') };
}

/**
 * RPC bytes: a segment holding the preamble and/or whole frames, end to end, in either
 * framing (version 1's fixed 10-byte headers, or version 2's compact ones: the preamble
 * says which, per connection, so a segment is read the way its bytes tile).
 */
function rpcLabel(bytes: Uint8Array): MessageLabel | undefined {
  const preamble = bytes.length >= preambleBytes && protocolMagic.every((b, i) => bytes[i] === b);
  const start = preamble ? preambleBytes : 0;
  if (start === bytes.length) return preamble ? { kind: 'rpc', text: 'rpc hello', detail: 'rpc preamble', rpc: [] } : undefined;
  const frames = tileFrames(bytes, start, fixedHeader) ?? tileFrames(bytes, start, compactHeader);
  if (frames === undefined) return undefined;
  return { kind: 'rpc', text: 'rpc', detail: preamble ? 'rpc preamble' : 'rpc', rpc: frames };
}

type HeaderReader = (bytes: Uint8Array, offset: number) => { length: number; type: number; flags: number; callId: number; bytes: number } | undefined;

const fixedHeader: HeaderReader = (bytes, offset) => (bytes.length - offset < frameHeaderBytes ? undefined
  : { length: readU32(bytes, offset), type: bytes[offset + 4]!, flags: bytes[offset + 5]!, callId: readU32(bytes, offset + 6), bytes: frameHeaderBytes });

const compactHeader: HeaderReader = (bytes, offset) => {
  const header = { length: 0, type: 0, flags: 0, callId: 0, bytes: 0 };
  return readCompactHeader(bytes, offset, header) ? header : undefined;
};

/** The frames of `bytes` from `offset` when headers read by `read` tile it exactly (at most `rpcFramesPerSegmentMax` looked at). */
function tileFrames(bytes: Uint8Array, offset: number, read: HeaderReader): RpcFrameInfo[] | undefined {
  const frames: RpcFrameInfo[] = [];
  try {
    while (offset < bytes.length && frames.length < rpcFramesPerSegmentMax) {
      const h = read(bytes, offset);
      if (h === undefined || h.type < FrameType.HEADERS || h.type > FrameType.GOAWAY || offset + h.bytes + h.length > bytes.length) return undefined;
      const payload = bytes.subarray(offset + h.bytes, offset + h.bytes + h.length);
      frames.push({ type: h.type, callId: h.callId, ...frameFields(h.type, payload, read === compactHeader) });
      offset += h.bytes + h.length;
    }
  } catch {
    return undefined;
  }
  return frames.length > 0 ? frames : undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** The method of a HEADERS frame (version 2: by name, or by its per-connection index), the status of a TRAILER. */
function frameFields(type: number, payload: Uint8Array, compact: boolean): { method?: string; methodIndex?: number; status?: string } {
  if (type === FrameType.TRAILER && payload.length >= 1) return { status: statusName(payload[0]!) };
  if (type !== FrameType.HEADERS) return {};
  if (!compact) {
    const length = payload.length >= 2 ? readU16(payload, 0) : Infinity;
    return 2 + length <= payload.length ? { method: utf8.decode(payload.subarray(2, 2 + length)) } : {};
  }
  const reference = readVarint(payload, 0, payload.length);
  if (reference > 0) return { methodIndex: reference };
  const length = reference === 0 ? readVarint(payload, varintCursor.end, payload.length) : -1;
  const at = varintCursor.end;
  return length > 0 && at + length <= payload.length ? { method: utf8.decode(payload.subarray(at, at + length)) } : {};
}

/** A push-pull state frame: `length (u32) | version | join | count | members`, the body possibly sealed. */
function pushPullLabel(bytes: Uint8Array): MessageLabel | undefined {
  if (bytes.length < 5 || readU32(bytes, 0) !== bytes.length - 4) return undefined;
  try {
    const state = decodeState(bytes.subarray(4));
    const join = state.join ? ' join' : '';
    return { kind: 'push-pull', text: `push-pull${join}`, detail: `push-pull${join}: ${state.members.length} members` };
  } catch {
    return { kind: 'push-pull', text: 'push-pull', detail: 'push-pull state frame (sealed or not decodable)' };
  }
}

/**
 * What a datagram or a stream segment's data carries. A SWIM packet starts with its wire
 * version (1); stream data starts with the RPC magic or a big-endian length, whose first
 * byte is 0 below 16 MiB, so the first byte tells them apart.
 */
export function labelPayload(bytes: Uint8Array): MessageLabel {
  if (bytes[0] === wireVersion) return swimLabel(bytes) ?? unknown;
  return rpcLabel(bytes) ?? pushPullLabel(bytes) ?? unknown;
}

const frameNames: Record<number, string> = {
  [FrameType.HEADERS]: 'call', [FrameType.MESSAGE]: 'message', [FrameType.HALF_CLOSE]: 'half-close', [FrameType.TRAILER]: 'status',
  [FrameType.CANCEL]: 'cancel', [FrameType.WINDOW_UPDATE]: 'window', [FrameType.PING]: 'ping', [FrameType.GOAWAY]: 'goaway',
};

/**
 * Names RPC frames by their call: walks messages in the order they were sent and remembers
 * each call's method from its HEADERS (by sender, receiver and call id), so a response
 * frame reads `kv.v1/put OK` rather than `TRAILER #7`.
 */
export class RpcCallNames {
  /** `client>server#callId` → method; bounded, oldest forgotten first. */
  private readonly methods = new Map<string, string>();
  /** `client>server` → the methods the client's connection has indexed (version 2), restarted by each preamble. */
  private readonly indexes = new Map<string, string[]>();
  constructor(private readonly callsMax = 100_000) {}

  /** The label of `label`'s frames, sent from `from` to `to`. */
  name(label: MessageLabel, from: string, to: string): MessageLabel {
    if (label.rpc === undefined) return label;
    const hello = label.detail === 'rpc preamble';
    if (hello) this.indexes.set(`${from}>${to}`, []);
    if (label.rpc.length === 0) return label;
    const words = label.rpc.map((frame) => this.frameText(frame, from, to));
    const text = `${hello ? 'hello + ' : ''}${words[0]}${words.length > 1 ? ` +${words.length - 1}` : ''}`;
    return { ...label, text, detail: `${hello ? 'rpc preamble; ' : ''}${words.join('; ')}` };
  }

  private frameText(frame: RpcFrameInfo, from: string, to: string): string {
    if (frame.type === FrameType.HEADERS) {
      const method = this.headersMethod(frame, `${from}>${to}`);
      const key = `${from}>${to}#${frame.callId}`;
      this.methods.delete(key);
      this.methods.set(key, method);
      if (this.methods.size > this.callsMax) this.methods.delete(this.methods.keys().next().value!);
      return `→ ${method}`;
    }
    if (frame.callId === 0) return `rpc ${frameNames[frame.type] ?? '?'}`;
    const asClient = this.methods.get(`${from}>${to}#${frame.callId}`);
    const method = asClient ?? this.methods.get(`${to}>${from}#${frame.callId}`) ?? `call ${frame.callId}`;
    if (frame.type === FrameType.TRAILER) return `${method} ${frame.status ?? '?'}`;
    if (frame.type === FrameType.MESSAGE) return `${method} ${asClient === undefined ? 'response' : 'request'}`;
    return `${method} ${frameNames[frame.type] ?? '?'}`;
  }

  /** A HEADERS frame's method: its name, or (version 2) the name its index refers to on the client's connection. */
  private headersMethod(frame: RpcFrameInfo, pair: string): string {
    const index = this.indexes.get(pair) ?? this.indexes.set(pair, []).get(pair)!;
    if (frame.method !== undefined) {
      if (index.length < methodIndexEntriesMax && !index.includes(frame.method)) index.push(frame.method);
      return frame.method;
    }
    return frame.methodIndex === undefined ? '?' : index[frame.methodIndex - 1] ?? `method #${frame.methodIndex}`;
  }
}

/**
 * The labels of a run's messages by `msg`, recorded as they are sent (pass `record` as the
 * runner's `tracePayloads`). Bounded: past `labelsMax` the oldest are forgotten, as the
 * trace's own ring forgets its oldest entries.
 */
export class MessageLabels {
  private readonly labels = new Map<number, MessageLabel>();
  constructor(private readonly labelsMax = 2_000_000) {}

  readonly record = (msg: number, bytes: Uint8Array): void => {
    this.labels.set(msg, labelPayload(bytes));
    if (this.labels.size > this.labelsMax) this.labels.delete(this.labels.keys().next().value!);
  };

  get(msg: number): MessageLabel | undefined {
    return this.labels.get(msg);
  }
}
