import { DecodeError } from '../errors.ts';
import { Reader, Writer, decodeUtf8, encodeUtf8, readU32, writeU16, writeU32 } from './bytes.ts';
import { frameHeaderBytes, preambleBytes, protocolMagic, protocolVersion, protocolVersionMax, type RpcLimits } from './limits.ts';
import { decodeMetadata, type Metadata } from './metadata.ts';

/** Frame types. Append-only: a number is never reused; receivers ignore types they do not know. */
export const FrameType = {
  HEADERS: 1,
  MESSAGE: 2,
  HALF_CLOSE: 3,
  TRAILER: 4,
  CANCEL: 5,
  WINDOW_UPDATE: 6,
  PING: 7,
  GOAWAY: 8,
} as const;
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

/** Flag bits; each is meaningful only on the frame types named. Unknown bits are ignored. */
export const FrameFlag = {
  /**
   * MESSAGE: the sender half-closes after this message (saves a HALF_CLOSE frame). Version
   * 2 also: HEADERS carries the request and half-closes; a server's MESSAGE is the call's
   * last and ends it OK (saves the TRAILER).
   */
  END: 0x01,
  /** PING: this is the answer to a ping, echoing its payload. */
  ACK: 0x01,
  /** TRAILER: the handler never ran; the call may be retried safely. */
  UNPROCESSED: 0x02,
  /** HEADERS, version 2: a metadata block follows the timeout. */
  METADATA: 0x04,
  /**
   * HEADERS, version 3: the method reference and the timeout are left out; they are those
   * of the previous HEADERS frame on this connection.
   */
  REPEAT: 0x08,
} as const;

/** Longest method name ("service/method"), in bytes. */
export const methodNameBytesMax = 1_024;
/** Longest status or GOAWAY message kept, in bytes; longer ones are cut when encoding. */
export const statusMessageBytesMax = 4_096;
export const pingPayloadBytes = 8;

export interface Preamble {
  /** The version field: what a client's frames start in (1), what a server's answer says the connection uses. */
  readonly version: number;
  /** The highest version the sender speaks (byte 5; a version 1 peer sends 0 there): a client offers it, a server chooses up to it. */
  readonly versionMax: number;
  readonly limits: RpcLimits;
}

/**
 * This side's preamble. A client writes `version` 1 (so a version 1 server accepts it) and
 * offers `versionMax` in byte 5, which version 1 peers ignore; a server answers with the
 * version the connection uses.
 */
export function encodePreamble(limits: RpcLimits, version = protocolVersion, versionMax = 0): Uint8Array {
  const buf = new Uint8Array(preambleBytes);
  buf.set(protocolMagic, 0);
  buf[4] = version;
  buf[5] = versionMax;
  writeU32(buf, 8, limits.maxFrameBytes);
  writeU32(buf, 12, limits.maxConcurrentCalls);
  writeU32(buf, 16, limits.maxMetadataBytes);
  writeU32(buf, 20, limits.initialCallWindowBytes);
  writeU32(buf, 24, limits.idleTimeoutMs);
  return buf;
}

export function decodePreamble(buf: Uint8Array): Preamble {
  if (buf.length !== preambleBytes) throw new DecodeError(`preamble must be ${preambleBytes} bytes`);
  for (let i = 0; i < protocolMagic.length; i++) {
    if (buf[i] !== protocolMagic[i]) throw new DecodeError('preamble: bad magic (not a shoal RPC peer)');
  }
  const version = buf[4]!;
  if (version < protocolVersion || version > protocolVersionMax) {
    throw new DecodeError(`preamble: unsupported protocol version ${version} (this side speaks ${protocolVersion} to ${protocolVersionMax})`);
  }
  const limits: RpcLimits = {
    maxFrameBytes: readU32(buf, 8),
    maxConcurrentCalls: readU32(buf, 12),
    maxMetadataBytes: readU32(buf, 16),
    initialCallWindowBytes: readU32(buf, 20),
    idleTimeoutMs: readU32(buf, 24),
  };
  if (limits.maxFrameBytes < 1_024 || limits.maxConcurrentCalls < 1 || limits.initialCallWindowBytes < 1_024 || limits.idleTimeoutMs < 100) {
    throw new DecodeError('preamble: advertised limits below the protocol minimums');
  }
  return { version, versionMax: Math.max(version, buf[5]!), limits };
}

/** One whole frame, header and payload, ready to write. */
export function encodeFrame(type: FrameTypeCode, flags: number, callId: number, payload?: Uint8Array): Uint8Array {
  return encodeFrameInto(new Uint8Array(frameHeaderBytes + (payload?.length ?? 0)), type, flags, callId, payload);
}

/** Writes one whole frame at the start of `buf` (at least header + payload long); returns that view. */
export function encodeFrameInto(buf: Uint8Array, type: FrameTypeCode, flags: number, callId: number, payload?: Uint8Array): Uint8Array {
  const length = payload?.length ?? 0;
  writeU32(buf, 0, length);
  buf[4] = type;
  buf[5] = flags;
  writeU32(buf, 6, callId);
  if (payload !== undefined) buf.set(payload, frameHeaderBytes);
  return buf.subarray(0, frameHeaderBytes + length);
}

/** Cuts a UTF-8 text to at most `max` bytes without splitting a character. */
function boundedUtf8(text: string, max: number): Uint8Array {
  const bytes = encodeUtf8(text);
  if (bytes.length <= max) return bytes;
  let end = max;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

// ------------------------------------------------------------ payloads

export interface HeadersPayload {
  readonly method: string;
  /** Relative deadline in milliseconds; 0 means none. */
  readonly timeoutMs: number;
  readonly metadata: Metadata;
}

/** Method names seen recently, encoded once: a client calls the same few methods over and over. */
const methodBytesCache = new Map<string, Uint8Array>();
/** Entries of that cache; past it the cache starts over, so it stays small whatever callers do. */
export const methodBytesCacheMax = 1_024;

export function methodBytes(method: string): Uint8Array {
  let bytes = methodBytesCache.get(method);
  if (bytes === undefined) {
    if (methodBytesCache.size >= methodBytesCacheMax) methodBytesCache.clear();
    bytes = encodeUtf8(method);
    methodBytesCache.set(method, bytes);
  }
  return bytes;
}

export function encodeHeaders(method: string, timeoutMs: number, metadataBlock: Uint8Array): Uint8Array {
  const name = methodBytes(method);
  const out = new Uint8Array(6 + name.length + metadataBlock.length);
  writeU16(out, 0, name.length);
  out.set(name, 2);
  writeU32(out, 2 + name.length, timeoutMs);
  out.set(metadataBlock, 6 + name.length);
  return out;
}

export function decodeHeaders(payload: Uint8Array, maxMetadataBytes: number): HeadersPayload {
  const reader = new Reader(payload, 'HEADERS');
  const nameLength = reader.u16();
  if (nameLength === 0 || nameLength > methodNameBytesMax) throw new DecodeError(`HEADERS: method name length ${nameLength} out of range 1..${methodNameBytesMax}`);
  const method = decodeUtf8(reader.bytes(nameLength), 'HEADERS method');
  const timeoutMs = reader.u32();
  const block = reader.rest();
  if (block.length > maxMetadataBytes) throw new DecodeError(`HEADERS: metadata of ${block.length} bytes exceeds ${maxMetadataBytes}`);
  return { method, timeoutMs, metadata: decodeMetadata(block) };
}

export interface TrailerPayload {
  readonly status: number;
  readonly message: string;
  /** Encoded details (msgpack); empty when there are none. */
  readonly details: Uint8Array;
}

/** The trailer of every successful call (status OK, no message, no details), encoded once; shared, so callers only write it. */
const okTrailer = Uint8Array.of(0, 0, 0);
const okTrailerPayload: TrailerPayload = Object.freeze({ status: 0, message: '', details: new Uint8Array(0) });

export function encodeTrailer(status: number, message: string, details: Uint8Array | undefined): Uint8Array {
  if (status === 0 && message === '' && details === undefined) return okTrailer;
  const text = boundedUtf8(message, statusMessageBytesMax);
  const writer = new Writer(3 + text.length + (details?.length ?? 0)).u8(status).u16(text.length).bytes(text);
  if (details !== undefined) writer.bytes(details);
  return writer.finish();
}

export function decodeTrailer(payload: Uint8Array): TrailerPayload {
  if (payload.length === 3 && payload[0] === 0 && payload[1] === 0 && payload[2] === 0) return okTrailerPayload;
  const reader = new Reader(payload, 'TRAILER');
  const status = reader.u8();
  const length = reader.u16();
  if (length > statusMessageBytesMax) throw new DecodeError(`TRAILER: message of ${length} bytes exceeds ${statusMessageBytesMax}`);
  const message = decodeUtf8(reader.bytes(length), 'TRAILER message');
  return { status, message, details: reader.rest() };
}

export function encodeCancel(status: number): Uint8Array {
  return Uint8Array.of(status);
}

/** The statuses a CANCEL may carry: the caller gave up, or its deadline passed. */
const cancelStatuses: readonly number[] = [1, 4];

export function decodeCancel(payload: Uint8Array): number {
  const reader = new Reader(payload, 'CANCEL');
  const status = reader.u8();
  reader.end();
  if (!cancelStatuses.includes(status)) throw new DecodeError(`CANCEL: status ${status} is neither 1 (CANCELLED) nor 4 (DEADLINE_EXCEEDED)`);
  return status;
}

export function encodeWindowUpdate(increment: number): Uint8Array {
  return new Writer(4).u32(increment).finish();
}

export function decodeWindowUpdate(payload: Uint8Array): number {
  const reader = new Reader(payload, 'WINDOW_UPDATE');
  const increment = reader.u32();
  reader.end();
  if (increment === 0) throw new DecodeError('WINDOW_UPDATE: zero increment');
  return increment;
}

export interface GoawayPayload {
  /** The highest call id the sender has seen and will still complete; later calls were not processed. */
  readonly lastCallId: number;
  readonly status: number;
  readonly message: string;
}

export function encodeGoaway(lastCallId: number, status: number, message: string): Uint8Array {
  const text = boundedUtf8(message, statusMessageBytesMax);
  return new Writer(7 + text.length).u32(lastCallId).u8(status).u16(text.length).bytes(text).finish();
}

export function decodeGoaway(payload: Uint8Array): GoawayPayload {
  const reader = new Reader(payload, 'GOAWAY');
  const lastCallId = reader.u32();
  const status = reader.u8();
  const length = reader.u16();
  if (length > statusMessageBytesMax) throw new DecodeError(`GOAWAY: message of ${length} bytes exceeds ${statusMessageBytesMax}`);
  const message = decodeUtf8(reader.bytes(length), 'GOAWAY message');
  reader.end();
  return { lastCallId, status, message };
}

export function checkPing(payload: Uint8Array): void {
  if (payload.length !== pingPayloadBytes) throw new DecodeError(`PING: payload must be ${pingPayloadBytes} bytes, got ${payload.length}`);
}

/** Checks the header fields every frame type constrains (call id zero or not, empty payloads). */
export function checkFrameHeader(type: number, callId: number, length: number): void {
  const connectionLevel = type === FrameType.PING || type === FrameType.GOAWAY;
  if (type < FrameType.HEADERS || type > FrameType.GOAWAY) return;
  if (connectionLevel && callId !== 0) throw new DecodeError(`frame type ${type} must have call id 0, got ${callId}`);
  if (!connectionLevel && callId === 0) throw new DecodeError(`frame type ${type} needs a call id, got 0`);
  if (type === FrameType.HALF_CLOSE && length !== 0) throw new DecodeError(`HALF_CLOSE must be empty, got ${length} bytes`);
}
