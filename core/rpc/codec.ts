import { Packr } from 'msgpackr';
import { DecodeError, InvalidArgumentError } from '../errors.ts';
import { decodeSmall, encodeSmall, notSmall } from './msgpack-small.ts';

/** Turns messages into bytes and back. Chosen per service; `decode` throws DecodeError only. */
export interface Codec {
  readonly name: string;
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

/**
 * Plain MessagePack, so a client in any language with a MessagePack library can talk to a
 * shoal service: no msgpackr records, no extension types. Maps are the smallest MessagePack
 * map (fixmap up to 15 keys); object properties whose value is `undefined` are left out (as
 * JSON does) and a bare `undefined` is nil. Exported so that tests hold the small-message
 * fast path (msgpack-small.ts) to msgpackr's bytes under these very options.
 */
export const msgpackrOptions = {
  useRecords: false, moreTypes: false, mapsAsObjects: true, variableMapSize: true, encodeUndefinedAsNil: true,
  // msgpackr's option (1.10+), missing from its type declarations.
  skipValues: [undefined],
};
const packr = new Packr(msgpackrOptions);

/** First bytes of the MessagePack extension formats (fixext 1..16, ext 8/16/32), and the never-used 0xc1. */
function isExtensionOrUnused(byte: number): boolean {
  return byte === 0xc1 || (byte >= 0xc7 && byte <= 0xc9) || (byte >= 0xd4 && byte <= 0xd8);
}

/**
 * Walks MessagePack bytes without building values and returns the offset of the first
 * extension (or never-used) byte, or -1 when there is none. A count of the values still
 * owed is all the state the walk needs: containers add their elements to it. Truncated
 * input is left to the decoder to report.
 */
export function findMsgpackExtension(bytes: Uint8Array): number {
  let owed = 1;
  let offset = 0;
  while (owed > 0 && offset < bytes.length) {
    owed--;
    const byte = bytes[offset]!;
    if (byte <= 0x7f || byte >= 0xe0 || byte === 0xc0 || byte === 0xc2 || byte === 0xc3) offset += 1;
    else if (byte <= 0x8f) {
      owed += 2 * (byte & 0x0f);
      offset += 1;
    } else if (byte <= 0x9f) {
      owed += byte & 0x0f;
      offset += 1;
    } else if (byte <= 0xbf) offset += 1 + (byte & 0x1f);
    else if (isExtensionOrUnused(byte)) return offset;
    else if (byte >= 0xdc) {
      owed += (byte & 1) === 0 ? (byte === 0xdc ? 1 : 2) * readSize(bytes, offset, 2) : (byte === 0xdd ? 1 : 2) * readSize(bytes, offset, 4);
      offset += (byte & 1) === 0 ? 3 : 5;
    } else offset = skipSized(bytes, offset, byte);
  }
  return -1;
}

/** The big-endian size field of `width` bytes after the format byte at `offset` (missing bytes read as 0). */
function readSize(bytes: Uint8Array, offset: number, width: 1 | 2 | 4): number {
  let size = 0;
  for (let i = 1; i <= width; i++) size = size * 256 + (bytes[offset + i] ?? 0);
  return size;
}

/** The offset after a bin, str or number value that starts at `offset` with format `byte`. */
function skipSized(bytes: Uint8Array, offset: number, byte: number): number {
  switch (byte) {
    case 0xc4: case 0xd9: return offset + 2 + readSize(bytes, offset, 1);
    case 0xc5: case 0xda: return offset + 3 + readSize(bytes, offset, 2);
    case 0xc6: case 0xdb: return offset + 5 + readSize(bytes, offset, 4);
    case 0xcc: case 0xd0: return offset + 2;
    case 0xcd: case 0xd1: return offset + 3;
    case 0xca: case 0xce: case 0xd2: return offset + 5;
    default: return offset + 9;
  }
}

export const msgpackCodec: Codec = {
  name: 'msgpack',
  encode(value) {
    // Small messages of the common types skip msgpackr, with the same bytes (msgpack-small.ts).
    const small = encodeSmall(value);
    if (small !== undefined) return small;
    const bytes = packr.pack(value);
    // Dates (timestamps) and other values msgpackr writes as extensions have no plain MessagePack form.
    if (findMsgpackExtension(bytes) >= 0) throw new InvalidArgumentError('msgpack: the value holds a type plain MessagePack has no form for (a Date, or another msgpackr extension)');
    return bytes;
  },
  decode(bytes) {
    const small = decodeSmall(bytes);
    if (small !== notSmall) return small;
    const extension = findMsgpackExtension(bytes);
    if (extension >= 0) throw new DecodeError(`msgpack: extension or reserved type 0x${bytes[extension]!.toString(16)} at byte ${extension} (plain MessagePack only)`);
    try {
      return packr.unpack(bytes);
    } catch (error) {
      throw new DecodeError(`msgpack: ${(error as Error)?.message ?? String(error)}`);
    }
  },
};

/** UTF-8 JSON, for debugging with readable bytes on the wire. */
export const jsonCodec: Codec = {
  name: 'json',
  encode(value) {
    return new TextEncoder().encode(JSON.stringify(value));
  },
  decode(bytes) {
    try {
      return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown;
    } catch (error) {
      throw new DecodeError(`json: ${(error as Error).message}`);
    }
  },
};
