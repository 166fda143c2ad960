import { Packr } from 'msgpackr';
import { DecodeError } from '../errors.ts';

/** Turns messages into bytes and back. Chosen per service; `decode` throws DecodeError only. */
export interface Codec {
  readonly name: string;
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

/**
 * Plain MessagePack (no msgpackr records or extensions), so a client in any language with a
 * MessagePack library can talk to a shoal service.
 */
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

export const msgpackCodec: Codec = {
  name: 'msgpack',
  encode(value) {
    return packr.pack(value);
  },
  decode(bytes) {
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
