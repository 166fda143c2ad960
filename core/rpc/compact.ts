import { DecodeError } from '../errors.ts';
import { Reader, decodeUtf8, readVarint, varintBytes, varintCursor, writeVarint } from './bytes.ts';
import { FrameFlag, methodNameBytesMax } from './frame.ts';
import { decodeMetadata, noMetadata, type Metadata } from './metadata.ts';

/**
 * Protocol version 2, the compact framing (docs/PROTOCOL.md §3.2). The library under the
 * QUIC transport pays per packet, so bytes per call decide calls per second: version 2
 * writes frame headers with variable-length integers (3–12 bytes instead of 10), lets a
 * HEADERS frame carry the request of a unary or server-streaming call (one frame instead
 * of two), names methods by a per-connection index after their first call, and lets the
 * server end a single-response call with one MESSAGE|END (no TRAILER). Payloads other than
 * HEADERS are version 1's.
 */
export const compactVersion = 2;

/**
 * Protocol version 3: version 2 plus one HEADERS shortcut, flag REPEAT: a call to the same
 * method with the same timeout as the previous call on the connection leaves both fields
 * out (4 of a small request's 76 bytes; docs/PROTOCOL.md §3.3).
 */
export const repeatVersion = 3;

/** Longest compact frame header: varint length (5), type, flags, varint call id (5). */
export const compactHeaderBytesMax = 12;

/** Methods one connection indexes; later new names travel in full every time. Bounds the table a client makes a server keep. */
export const methodIndexEntriesMax = 64;

/** A frame header as read: reused by the decoder, so read it before the next frame. */
export interface CompactHeader {
  length: number;
  type: number;
  flags: number;
  callId: number;
  /** Bytes of the header itself. */
  bytes: number;
}

/** Reads the compact header at `offset`; false when the input stops inside it. */
export function readCompactHeader(buf: Uint8Array, offset: number, into: CompactHeader): boolean {
  const limit = buf.length;
  const length = readVarint(buf, offset, limit);
  if (length < 0 || varintCursor.end + 2 > limit) return false;
  const typeAt = varintCursor.end;
  const callId = readVarint(buf, typeAt + 2, limit);
  if (callId < 0) return false;
  into.length = length;
  into.type = buf[typeAt]!;
  into.flags = buf[typeAt + 1]!;
  into.callId = callId;
  into.bytes = varintCursor.end - offset;
  return true;
}

/** Writes a compact header at the start of `buf`; returns its length. */
export function writeCompactHeader(buf: Uint8Array, type: number, flags: number, callId: number, payloadBytes: number): number {
  let offset = writeVarint(buf, 0, payloadBytes);
  buf[offset++] = type;
  buf[offset++] = flags;
  return writeVarint(buf, offset, callId);
}

/**
 * Method names by index, per connection and direction: the client's first call of a method
 * sends its name in full (reference 0) and both sides give it the next index (1, 2, ...);
 * later calls send the index. At most `methodIndexEntriesMax` names are indexed.
 */
export class MethodIndex {
  private readonly byName = new Map<string, number>();
  private readonly names: string[] = [];
  /** Version 3: the method and timeout of the last HEADERS on this connection (sent by the client, read by the server). */
  private lastMethod: string | undefined;
  private lastTimeoutMs = -1;

  /** The client side: true when a HEADERS for `method` and `timeoutMs` may say REPEAT. */
  repeats(method: string, timeoutMs: number): boolean {
    return method === this.lastMethod && timeoutMs === this.lastTimeoutMs;
  }

  /** Both sides: the method and timeout of a HEADERS frame just written or read. */
  remember(method: string, timeoutMs: number): void {
    this.lastMethod = method;
    this.lastTimeoutMs = timeoutMs;
  }

  /** The server side: the method a REPEAT refers to (its timeout is `previousTimeoutMs`). */
  previousMethod(): string {
    if (this.lastMethod === undefined) throw new DecodeError('HEADERS: REPEAT before any HEADERS on this connection');
    return this.lastMethod;
  }

  get previousTimeoutMs(): number {
    return this.lastTimeoutMs;
  }

  /** The client side: the reference to send for `method` (0: send the name), indexing it when there is room. */
  reference(method: string): number {
    const index = this.byName.get(method);
    if (index !== undefined) return index;
    this.add(method);
    return 0;
  }

  /** The server side: the name an index refers to. */
  name(index: number): string {
    const name = this.names[index - 1];
    if (name === undefined) throw new DecodeError(`HEADERS: method index ${index} was never defined`);
    return name;
  }

  /** Both sides: a name sent in full takes the next index, while there is room. */
  add(method: string): void {
    if (this.names.length >= methodIndexEntriesMax || this.byName.has(method)) return;
    this.names.push(method);
    this.byName.set(method, this.names.length);
  }
}

/**
 * A version 2 HEADERS payload: varint method reference (0: varint name length and the name
 * follow), varint timeoutMs, then with flag METADATA a varint block length and the block,
 * then with flag END the request message (the caller appends it). With flag REPEAT
 * (version 3) the reference, name and timeout are left out. This is its length without
 * the request.
 */
export function compactHeadersBytes(flags: number, reference: number, methodBytes: Uint8Array, timeoutMs: number, metadataBlock: Uint8Array | undefined): number {
  const metadataBytes = metadataBlock === undefined ? 0 : varintBytes(metadataBlock.length) + metadataBlock.length;
  if ((flags & FrameFlag.REPEAT) !== 0) return metadataBytes;
  const nameBytes = reference === 0 ? varintBytes(methodBytes.length) + methodBytes.length : 0;
  return varintBytes(reference) + nameBytes + varintBytes(timeoutMs) + metadataBytes;
}

/** Writes those fields at `offset` of `buf` (room checked by the caller); returns the offset after them. */
export function writeCompactHeaders(buf: Uint8Array, offset: number, flags: number, reference: number, methodBytes: Uint8Array, timeoutMs: number, metadataBlock: Uint8Array | undefined): number {
  if ((flags & FrameFlag.REPEAT) === 0) {
    offset = writeVarint(buf, offset, reference);
    if (reference === 0) {
      offset = writeVarint(buf, offset, methodBytes.length);
      buf.set(methodBytes, offset);
      offset += methodBytes.length;
    }
    offset = writeVarint(buf, offset, timeoutMs);
  }
  if (metadataBlock !== undefined) {
    offset = writeVarint(buf, offset, metadataBlock.length);
    buf.set(metadataBlock, offset);
    offset += metadataBlock.length;
  }
  return offset;
}

/** The same fields as a payload of their own (tests, tools; a session writes them in place, `RpcSession.sendCompactHeaders`). */
export function encodeCompactHeaders(reference: number, methodBytes: Uint8Array, timeoutMs: number, metadataBlock: Uint8Array | undefined, flags = 0): Uint8Array {
  const out = new Uint8Array(compactHeadersBytes(flags, reference, methodBytes, timeoutMs, metadataBlock));
  writeCompactHeaders(out, 0, flags, reference, methodBytes, timeoutMs, metadataBlock);
  return out;
}

export interface CompactHeaders {
  readonly method: string;
  readonly timeoutMs: number;
  readonly metadata: Metadata;
  /** The request carried inline (flag END), or undefined. */
  readonly message: Uint8Array | undefined;
}

/**
 * Reads a compact HEADERS payload (`version` 2 or 3: only version 3 knows REPEAT); every
 * HEADERS on a connection must be read, refused calls too, so the index and the previous
 * call stay the client's.
 */
export function decodeCompactHeaders(payload: Uint8Array, flags: number, maxMetadataBytes: number, index: MethodIndex, version: number = compactVersion): CompactHeaders {
  const reader = new Reader(payload, 'HEADERS');
  let method: string;
  let timeoutMs: number;
  // Before version 3 the bit means nothing (unknown flag bits are ignored) and the fields are there.
  if ((flags & FrameFlag.REPEAT) !== 0 && version >= repeatVersion) {
    method = index.previousMethod();
    timeoutMs = index.previousTimeoutMs;
  } else {
    const reference = reader.varint();
    if (reference === 0) {
      const nameLength = reader.varint();
      if (nameLength === 0 || nameLength > methodNameBytesMax) throw new DecodeError(`HEADERS: method name length ${nameLength} out of range 1..${methodNameBytesMax}`);
      method = decodeUtf8(reader.bytes(nameLength), 'HEADERS method');
      index.add(method);
    } else {
      method = index.name(reference);
    }
    timeoutMs = reader.varint();
    index.remember(method, timeoutMs);
  }
  let metadata = noMetadata;
  if ((flags & FrameFlag.METADATA) !== 0) {
    const blockLength = reader.varint();
    if (blockLength > maxMetadataBytes) throw new DecodeError(`HEADERS: metadata of ${blockLength} bytes exceeds ${maxMetadataBytes}`);
    metadata = decodeMetadata(reader.bytes(blockLength));
  }
  const message = (flags & FrameFlag.END) !== 0 ? reader.rest() : undefined;
  if (message === undefined) reader.end();
  return { method, timeoutMs, metadata, message };
}

/** One whole version 2 frame, header and payload, ready to write (tests, tools; sessions write in place). */
export function encodeCompactFrame(type: number, flags: number, callId: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const buf = new Uint8Array(compactHeaderBytesMax + payload.length);
  const headerBytes = writeCompactHeader(buf, type, flags, callId, payload.length);
  buf.set(payload, headerBytes);
  return buf.subarray(0, headerBytes + payload.length);
}
