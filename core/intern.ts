import { DecodeError } from './errors.ts';

/**
 * Decodes repeated byte strings once and shares the result. A SWIM member hears every
 * other member's name and address many times (gossip, push-pull): with an interner each
 * distinct one is decoded once, and every member holding it holds the same string or the
 * same bytes. Sharing changes no result (the values are immutable), only what they cost,
 * so one table may serve every host of a simulation while a real node keeps its own.
 */
export interface Interner {
  /** The string whose UTF-8 encoding is `bytes[start, end)`; throws `DecodeError` when it is not UTF-8. */
  string(bytes: Uint8Array, start: number, end: number): string;
  /** An immutable copy of `bytes` shared with every other caller that asked for the same bytes. Never write to it. */
  bytes(bytes: Uint8Array): Uint8Array;
}

/** Entries an interner holds before it starts again from empty (what it handed out stays valid). */
export const internedMax = 1 << 17;

/**
 * Entries sharing one hash, at most: the hash is not keyed, so a peer could craft names
 * that collide; past this chain length a value is decoded or copied without being kept.
 */
export const internChainMax = 8;

/** Longest byte string worth interning; longer ones are decoded or copied each time. */
export const internedBytesMax = 512;

const decoder = new TextDecoder('utf-8', { fatal: true });

interface Entry {
  readonly bytes: Uint8Array;
  readonly text: string | undefined;
  next: Entry | undefined;
}

/**
 * A bounded content-addressed table: FNV-1a hash of the bytes → entries (chained on
 * collision). When it holds `internedMax` entries it is cleared, so memory stays bounded
 * whatever a peer sends.
 */
export class InternTable implements Interner {
  private readonly strings = new Map<number, Entry>();
  private readonly copies = new Map<number, Entry>();
  private entries = 0;

  constructor(private readonly entriesMax = internedMax) {}

  get size(): number {
    return this.entries;
  }

  string(bytes: Uint8Array, start: number, end: number): string {
    if (end - start > internedBytesMax) return decodeUtf8(bytes, start, end);
    const hash = hashOf(bytes, start, end);
    const found = find(this.strings, hash, bytes, start, end);
    if (typeof found !== 'number') return found.text!;
    const text = decodeUtf8(bytes, start, end);
    this.keep(this.strings, hash, found, { bytes: bytes.slice(start, end), text, next: undefined });
    return text;
  }

  bytes(bytes: Uint8Array): Uint8Array {
    if (bytes.length > internedBytesMax) return bytes.slice();
    const hash = hashOf(bytes, 0, bytes.length);
    const found = find(this.copies, hash, bytes, 0, bytes.length);
    if (typeof found !== 'number') return found.bytes;
    const copy = bytes.slice();
    this.keep(this.copies, hash, found, { bytes: copy, text: undefined, next: undefined });
    return copy;
  }

  /** Keeps `entry` unless its hash chain is already `internChainMax` long; clears the table when full. */
  private keep(map: Map<number, Entry>, hash: number, chain: number, entry: Entry): void {
    if (chain >= internChainMax) return;
    if (this.entries >= this.entriesMax) {
      this.strings.clear();
      this.copies.clear();
      this.entries = 0;
    }
    this.entries++;
    entry.next = map.get(hash);
    map.set(hash, entry);
  }
}

/** The entry holding `bytes[start, end)`, or the length of the chain searched in vain. */
function find(map: Map<number, Entry>, hash: number, bytes: Uint8Array, start: number, end: number): Entry | number {
  let chain = 0;
  for (let e = map.get(hash); e !== undefined; e = e.next, chain++) if (equal(e.bytes, bytes, start, end)) return e;
  return chain;
}

/**
 * The table used when an `Env` provides none: one per process, shared by every member in
 * it (the simulator's hosts share it; a real node is one member per process anyway).
 */
export const defaultInterner: Interner = new InternTable();

function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  try {
    return decoder.decode(bytes.subarray(start, end));
  } catch {
    throw new DecodeError('string is not valid UTF-8');
  }
}

/**
 * FNV-1a of `bytes[start, end)` (not keyed: a table keyed by it bounds its chains; shared
 * with `core/swim/names.ts`).
 * @internal
 */
export function hashOf(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h | 0;
}

function equal(a: Uint8Array, b: Uint8Array, start: number, end: number): boolean {
  if (a.length !== end - start) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[start + i]) return false;
  return true;
}
