import { DecodeError } from '../errors.ts';

/** The largest value a u32 field (and a varint) carries. */
const u32Max = 0xffff_ffff;

/** Big-endian readers and writers over plain byte arrays; readers check bounds and throw DecodeError. */

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeUtf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** Texts up to this many bytes that are pure ASCII (method names, status messages) skip the TextDecoder call. */
const asciiFastPathBytesMax = 64;

export function decodeUtf8(bytes: Uint8Array, what: string): string {
  if (bytes.length <= asciiFastPathBytesMax) {
    let text = '';
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i]!;
      if (byte >= 0x80) {
        ascii = false;
        break;
      }
      text += String.fromCharCode(byte);
    }
    if (ascii) return text;
  }
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new DecodeError(`${what} is not valid UTF-8`);
  }
}

export function writeU16(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = value >>> 8;
  buf[offset + 1] = value & 0xff;
}

export function writeU32(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = value >>> 24;
  buf[offset + 1] = (value >>> 16) & 0xff;
  buf[offset + 2] = (value >>> 8) & 0xff;
  buf[offset + 3] = value & 0xff;
}

export function readU16(buf: Uint8Array, offset: number): number {
  return (buf[offset]! << 8) | buf[offset + 1]!;
}

export function readU32(buf: Uint8Array, offset: number): number {
  return ((buf[offset]! << 24) >>> 0) + ((buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!);
}

/** Bytes of `value` (a u32) as an unsigned LEB128 varint: 7 bits a byte, low bits first. */
export function varintBytes(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x20_0000 ? 3 : value < 0x1000_0000 ? 4 : 5;
}

/** Writes `value` (a u32) at `offset`; returns the offset after it. */
export function writeVarint(buf: Uint8Array, offset: number, value: number): number {
  let rest = value >>> 0;
  while (rest >= 0x80) {
    buf[offset++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  buf[offset++] = rest;
  return offset;
}

/** Where `readVarint` stopped: the offset after the varint, or -1 when the bytes ran out first. */
export const varintCursor = { end: 0 };

/**
 * Reads a varint at `offset` (bytes up to `limit`): its value, with `varintCursor.end` set
 * after it, or -1 with `end` -1 when the input stops inside it. A varint longer than its
 * value needs (a zero last byte) or above 2³² − 1 is a DecodeError.
 */
export function readVarint(buf: Uint8Array, offset: number, limit: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 5; i++) {
    if (offset + i >= limit) {
      varintCursor.end = -1;
      return -1;
    }
    const byte = buf[offset + i]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      if (byte === 0 && i > 0) throw new DecodeError('varint: longer than its value needs');
      if (value > u32Max) throw new DecodeError('varint: above 2^32 - 1');
      varintCursor.end = offset + i + 1;
      return value;
    }
    scale *= 128;
  }
  throw new DecodeError('varint: longer than 5 bytes');
}

/** A bounds-checked cursor over an untrusted payload. */
export class Reader {
  offset = 0;
  constructor(private readonly buf: Uint8Array, private readonly what: string) {}

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  private need(bytes: number): void {
    if (this.remaining < bytes) throw new DecodeError(`${this.what}: truncated (need ${bytes} more bytes, have ${this.remaining})`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.offset++]!;
  }

  u16(): number {
    this.need(2);
    const value = readU16(this.buf, this.offset);
    this.offset += 2;
    return value;
  }

  u32(): number {
    this.need(4);
    const value = readU32(this.buf, this.offset);
    this.offset += 4;
    return value;
  }

  varint(): number {
    const value = readVarint(this.buf, this.offset, this.buf.length);
    if (value < 0) throw new DecodeError(`${this.what}: truncated varint`);
    this.offset = varintCursor.end;
    return value;
  }

  bytes(length: number): Uint8Array {
    this.need(length);
    const out = this.buf.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  rest(): Uint8Array {
    return this.bytes(this.remaining);
  }

  end(): void {
    if (this.remaining !== 0) throw new DecodeError(`${this.what}: ${this.remaining} unexpected trailing bytes`);
  }
}

/** A growable writer for building payloads of unknown size. */
export class Writer {
  private buf: Uint8Array;
  length = 0;
  constructor(initialBytes = 64) {
    this.buf = new Uint8Array(initialBytes);
  }

  private ensure(bytes: number): void {
    if (this.length + bytes <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + bytes));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  u8(value: number): this {
    this.ensure(1);
    this.buf[this.length++] = value;
    return this;
  }

  u16(value: number): this {
    this.ensure(2);
    writeU16(this.buf, this.length, value);
    this.length += 2;
    return this;
  }

  u32(value: number): this {
    this.ensure(4);
    writeU32(this.buf, this.length, value);
    this.length += 4;
    return this;
  }

  bytes(data: Uint8Array): this {
    this.ensure(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
    return this;
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}
