import { DecodeError, InvalidArgumentError } from '../errors.ts';
import { Reader, Writer, decodeUtf8, encodeUtf8 } from './bytes.ts';

/** Call metadata: string keys to string values, like gRPC's ASCII headers. */
export type Metadata = Readonly<Record<string, string>>;

/** Entries one metadata block may hold, whatever its size. */
export const metadataEntriesMax = 256;
/** Keys are short lowercase tokens so they compare without normalisation. */
const keyPattern = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Longest value, in encoded bytes (a u16 length field). */
export const metadataValueBytesMax = 0xffff;

/**
 * Layout: count u16, then per entry keyLength u8, key (ASCII), valueLength u16, value
 * (UTF-8). Keys are unique and match `[a-z0-9][a-z0-9._-]{0,63}`.
 */
/** The encoding of no metadata at all, the common case. */
const emptyMetadataBlock = Uint8Array.of(0, 0);
/** Its length: a longer block has entries. */
export const emptyMetadataBlockBytes = emptyMetadataBlock.length;

export function encodeMetadata(metadata: Metadata | undefined): Uint8Array {
  if (metadata === undefined) return emptyMetadataBlock;
  const entries = Object.entries(metadata);
  if (entries.length === 0) return emptyMetadataBlock;
  const writer = new Writer(16);
  if (entries.length > metadataEntriesMax) throw new InvalidArgumentError(`metadata has ${entries.length} entries (max ${metadataEntriesMax})`);
  writer.u16(entries.length);
  for (const [key, value] of entries) {
    if (!keyPattern.test(key)) throw new InvalidArgumentError(`metadata key "${key}" must match ${keyPattern}`);
    if (typeof value !== 'string') throw new InvalidArgumentError(`metadata value of "${key}" must be a string`);
    const bytes = encodeUtf8(value);
    if (bytes.length > metadataValueBytesMax) throw new InvalidArgumentError(`metadata value of "${key}" is longer than ${metadataValueBytesMax} bytes`);
    writer.u8(key.length).bytes(encodeUtf8(key)).u16(bytes.length).bytes(bytes);
  }
  return writer.finish();
}

/** What every call without metadata decodes to: shared, so it must never be written to. */
export const noMetadata: Metadata = Object.freeze(Object.create(null) as Record<string, string>);

export function decodeMetadata(block: Uint8Array): Metadata {
  if (block.length === 2 && block[0] === 0 && block[1] === 0) return noMetadata;
  const reader = new Reader(block, 'metadata');
  const count = reader.u16();
  if (count > metadataEntriesMax) throw new DecodeError(`metadata: ${count} entries (max ${metadataEntriesMax})`);
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i < count; i++) {
    const key = decodeUtf8(reader.bytes(reader.u8()), 'metadata key');
    if (!keyPattern.test(key)) throw new DecodeError(`metadata: invalid key ${JSON.stringify(key)}`);
    if (key in out) throw new DecodeError(`metadata: duplicate key "${key}"`);
    out[key] = decodeUtf8(reader.bytes(reader.u16()), 'metadata value');
  }
  reader.end();
  return out;
}
