/**
 * A fast path for the small messages most calls carry: plain MessagePack written and read
 * directly, without msgpackr's per-call set-up (its state save, structure checks, and the
 * DataView it attaches to every input). It covers what small messages are made of: nil,
 * booleans, numbers, ASCII strings, byte arrays, arrays and plain objects, within
 * `smallMessageBytesMax` bytes and `smallMessageDepthMax` levels of nesting. Anything else
 * (a non-ASCII string, a 64-bit integer, a map of 16 or more keys, a Date, a larger message)
 * makes it give up, and the caller uses msgpackr instead, so every value still has exactly
 * one encoding: the fast path writes the bytes msgpackr writes with the codec's options
 * (tests/rpc/msgpack-small.test.ts compares the two on random values).
 */

/** Largest message the fast path writes or reads, in bytes. */
export const smallMessageBytesMax = 1_024;
/** Deepest nesting of arrays and maps the fast path follows. */
export const smallMessageDepthMax = 16;
/** Encoded messages are cut from shared chunks of this size (as msgpackr does), not allocated one by one. */
const chunkBytes = 16 * 1_024;

/** What `decodeSmall` returns when the fast path does not apply. */
export const notSmall: unique symbol = Symbol('not a small message');

/** Node's Buffer#toJSON, where there is one: msgpackr writes a Buffer as `bin` despite it. */
const bufferToJSON = (globalThis as { Buffer?: { prototype: { toJSON?: unknown } } }).Buffer?.prototype.toJSON;

const floatScratch = new DataView(new ArrayBuffer(8));

// ------------------------------------------------------------------ encoding

let chunk = new Uint8Array(chunkBytes);
/** Bytes of `chunk` already handed out. */
let chunkUsed = 0;
/** The write position and the bound of the message being written. */
let at = 0;
let end = 0;

/** True while a message is being written: a getter that encodes again is left to msgpackr. */
let encoding = false;

/** The MessagePack bytes of `value`, or undefined when the fast path does not cover it. */
export function encodeSmall(value: unknown): Uint8Array | undefined {
  if (encoding) return undefined;
  if (chunk.length - chunkUsed < smallMessageBytesMax) {
    chunk = new Uint8Array(chunkBytes);
    chunkUsed = 0;
  }
  at = chunkUsed;
  end = chunkUsed + smallMessageBytesMax;
  encoding = true;
  try {
    if (!writeValue(value, 0)) return undefined;
  } finally {
    encoding = false;
  }
  const out = chunk.subarray(chunkUsed, at);
  chunkUsed = at;
  return out;
}

function writeValue(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'number':
      return writeNumber(value);
    case 'string':
      return writeString(value);
    case 'boolean':
      return writeByte(value ? 0xc3 : 0xc2);
    case 'undefined':
      return writeByte(0xc0);
    case 'object':
      if (value === null) return writeByte(0xc0);
      if (depth >= smallMessageDepthMax) return false;
      return writeObject(value, depth + 1);
    default:
      return false;
  }
}

/** msgpackr's order: plain objects, arrays, then byte arrays (its typed-array extension writes them as `bin`). */
function writeObject(value: object, depth: number): boolean {
  const constructor = value.constructor;
  if (constructor === Object) return writeMap(value as Record<string, unknown>, depth);
  if (constructor === Array) return writeArray(value as unknown[], depth);
  if (value instanceof Uint8Array && isPlainBytes(value)) return writeBin(value);
  return false;
}

/** A Uint8Array or a Buffer, without a toJSON of its own (msgpackr would call that instead). */
function isPlainBytes(value: Uint8Array): boolean {
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  return toJSON === undefined || (toJSON === bufferToJSON && bufferToJSON !== undefined);
}

function writeByte(byte: number): boolean {
  if (at >= end) return false;
  chunk[at++] = byte;
  return true;
}

function writeNumber(value: number): boolean {
  if (at + 9 > end) return false;
  const out = chunk;
  if (value >>> 0 === value) {
    if (value < 0x80) out[at++] = value;
    else if (value < 0x100) {
      out[at++] = 0xcc;
      out[at++] = value;
    } else if (value < 0x10000) {
      out[at++] = 0xcd;
      out[at++] = value >> 8;
      out[at++] = value & 0xff;
    } else {
      out[at++] = 0xce;
      writeU32(value);
    }
  } else if (value >> 0 === value) {
    if (value >= -0x20) out[at++] = 0x100 + value;
    else if (value >= -0x80) {
      out[at++] = 0xd0;
      out[at++] = value + 0x100;
    } else if (value >= -0x8000) {
      out[at++] = 0xd1;
      out[at++] = (value >> 8) & 0xff;
      out[at++] = value & 0xff;
    } else {
      out[at++] = 0xd2;
      writeU32(value >>> 0);
    }
  } else {
    out[at++] = 0xcb;
    floatScratch.setFloat64(0, value);
    for (let i = 0; i < 8; i++) out[at++] = floatScratch.getUint8(i);
  }
  return true;
}

function writeU32(value: number): void {
  chunk[at++] = value >>> 24;
  chunk[at++] = (value >>> 16) & 0xff;
  chunk[at++] = (value >>> 8) & 0xff;
  chunk[at++] = value & 0xff;
}

/** ASCII only: for those, every encoder writes one byte a character and msgpackr's header choice is the length's. */
function writeString(value: string): boolean {
  const length = value.length;
  const headerBytes = length < 0x20 ? 1 : length < 0x100 ? 2 : 3;
  if (at + headerBytes + length > end) return false;
  const out = chunk;
  let offset = at + headerBytes;
  for (let i = 0; i < length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 0x80) return false;
    out[offset++] = code;
  }
  if (headerBytes === 1) out[at] = 0xa0 | length;
  else if (headerBytes === 2) {
    out[at] = 0xd9;
    out[at + 1] = length;
  } else {
    out[at] = 0xda;
    out[at + 1] = length >> 8;
    out[at + 2] = length & 0xff;
  }
  at = offset;
  return true;
}

function writeBin(value: Uint8Array): boolean {
  const length = value.length;
  const headerBytes = length < 0x100 ? 2 : 3;
  if (at + headerBytes + length > end) return false;
  if (headerBytes === 2) {
    chunk[at++] = 0xc4;
    chunk[at++] = length;
  } else {
    chunk[at++] = 0xc5;
    chunk[at++] = length >> 8;
    chunk[at++] = length & 0xff;
  }
  chunk.set(value, at);
  at += length;
  return true;
}

function writeArray(value: readonly unknown[], depth: number): boolean {
  const length = value.length;
  if (length >= 0x10) return false;
  if (!writeByte(0x90 | length)) return false;
  for (let i = 0; i < length; i++) if (!writeValue(value[i], depth)) return false;
  return true;
}

/** Own enumerable properties whose value is not undefined (msgpackr's `skipValues`), as a fixmap. */
function writeMap(value: Record<string, unknown>, depth: number): boolean {
  const headerAt = at;
  if (!writeByte(0x80)) return false;
  let count = 0;
  // msgpackr's own test, the object's own `hasOwnProperty` included.
  const hasOwn = value.hasOwnProperty as unknown;
  for (const key in value) {
    if (typeof hasOwn === 'function' && !(hasOwn as (key: string) => boolean).call(value, key)) continue;
    const entry = value[key];
    if (entry === undefined) continue;
    if (++count >= 0x10 || !writeString(key) || !writeValue(entry, depth)) return false;
  }
  chunk[headerAt] = 0x80 | count;
  return true;
}

// ------------------------------------------------------------------ decoding

const noBytes = new Uint8Array(0);
let src: Uint8Array = noBytes;
let position = 0;

/**
 * The value of MessagePack `bytes`, or `notSmall` when the fast path does not cover them
 * (or they are malformed: msgpackr then reads them and reports what is wrong).
 */
export function decodeSmall(bytes: Uint8Array): unknown {
  if (bytes.length === 0 || bytes.length > smallMessageBytesMax) return notSmall;
  src = bytes;
  position = 0;
  const value = readValue(0);
  const whole = position === bytes.length;
  src = noBytes;
  return whole ? value : notSmall;
}

function readValue(depth: number): unknown {
  if (position >= src.length) return notSmall;
  const byte = src[position++]!;
  if (byte < 0x80) return byte;
  if (byte >= 0xe0) return byte - 0x100;
  if (byte < 0x90) return depth < smallMessageDepthMax ? readMap(byte & 0x0f, depth + 1) : notSmall;
  if (byte < 0xa0) return depth < smallMessageDepthMax ? readArray(byte & 0x0f, depth + 1) : notSmall;
  if (byte < 0xc0) return readAscii(byte & 0x1f);
  switch (byte) {
    case 0xc0: return null;
    case 0xc2: return false;
    case 0xc3: return true;
    case 0xc4: return readBin(readUint(1));
    case 0xc5: return readBin(readUint(2));
    case 0xca: return readFloat(4);
    case 0xcb: return readFloat(8);
    case 0xcc: return readUint(1);
    case 0xcd: return readUint(2);
    case 0xce: return readUint(4);
    case 0xd0: return readInt(1);
    case 0xd1: return readInt(2);
    case 0xd2: return readInt(4);
    case 0xd9: return readAscii(readUint(1));
    case 0xda: return readAscii(readUint(2));
    default: return notSmall;
  }
}

/** A big-endian unsigned integer of `width` bytes; -1 past the end (every reader of it then gives up). */
function readUint(width: 1 | 2 | 4): number {
  if (position + width > src.length) {
    position = src.length + 1;
    return -1;
  }
  let value = 0;
  for (let i = 0; i < width; i++) value = value * 256 + src[position++]!;
  return value;
}

function readInt(width: 1 | 2 | 4): number | typeof notSmall {
  const value = readUint(width);
  if (value < 0) return notSmall;
  const bits = width * 8;
  return bits === 32 ? value | 0 : value >= 2 ** (bits - 1) ? value - 2 ** bits : value;
}

function readFloat(width: 4 | 8): number | typeof notSmall {
  if (position + width > src.length) return notSmall;
  for (let i = 0; i < width; i++) floatScratch.setUint8(i, src[position++]!);
  return width === 4 ? floatScratch.getFloat32(0) : floatScratch.getFloat64(0);
}

function readBin(length: number): Uint8Array | typeof notSmall {
  if (length < 0 || position + length > src.length) return notSmall;
  return src.subarray(position, (position += length));
}

function readAscii(length: number): string | typeof notSmall {
  if (length < 0 || position + length > src.length) return notSmall;
  let text = '';
  for (let i = 0; i < length; i++) {
    const code = src[position + i]!;
    if (code >= 0x80) return notSmall;
    text += String.fromCharCode(code);
  }
  position += length;
  return text;
}

function readArray(length: number, depth: number): unknown[] | typeof notSmall {
  const out = new Array<unknown>(length);
  for (let i = 0; i < length; i++) {
    const item = readValue(depth);
    if (item === notSmall) return notSmall;
    out[i] = item;
  }
  return out;
}

/** Keys are ASCII strings (fixstr or str8), as msgpackr reads them; `__proto__` becomes `__proto_`, as in msgpackr. */
function readMap(count: number, depth: number): Record<string, unknown> | typeof notSmall {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    if (position >= src.length) return notSmall;
    const keyByte = src[position++]!;
    const key = keyByte >= 0xa0 && keyByte < 0xc0 ? readAscii(keyByte & 0x1f) : keyByte === 0xd9 ? readAscii(readUint(1)) : notSmall;
    if (key === notSmall) return notSmall;
    const item = readValue(depth);
    if (item === notSmall) return notSmall;
    out[key === '__proto__' ? '__proto_' : key] = item;
  }
  return out;
}
