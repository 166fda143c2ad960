import { RpcError } from '../../core/public.ts';

/** One stored value with the version that orders it against concurrent writes. */
export interface Entry {
  readonly value: string;
  /** A Lamport timestamp: one more than any version the writer had seen. */
  readonly version: number;
  /** The member that wrote it; breaks ties between equal versions, so every replica picks the same. */
  readonly writer: string;
}

/** Keys are short names; a put of a longer one is refused (INVALID_ARGUMENT). */
export const keyCharsMax = 64;
/**
 * One entry, encoded, must fit in one gossip broadcast: 512 bytes, less the app's name
 * that travels with it. A put whose key and value encode larger is refused (INVALID_ARGUMENT).
 */
export const entryBytesMax = 480;
/**
 * Keys one store holds: 1 000 entries of at most `entryBytesMax` keep a whole store within
 * a push-pull exchange (1 MiB of app state). A put of a new key past it is refused (RESOURCE_EXHAUSTED).
 */
export const keysMax = 1_000;
/** Member names are at most 64 bytes; an entry from a longer writer is dropped. */
const writerCharsMax = 64;

/**
 * A last-writer-wins map: a replica accepts an entry only if it is newer (higher version,
 * then higher writer name). Merging is commutative and idempotent, so replicas that have
 * seen the same entries hold the same map, in whatever order they saw them.
 */
export class Store {
  private readonly entries = new Map<string, Entry>();
  private lamport = 0;

  get size(): number {
    return this.entries.size;
  }

  get(key: string): Entry | undefined {
    checkKey(key);
    return this.entries.get(key);
  }

  /** Writes a new version of `key` as `writer`; returns the entry stored. */
  put(key: string, value: string, writer: string): Entry {
    checkKey(key);
    if (typeof value !== 'string') throw new RpcError('INVALID_ARGUMENT', 'value must be a string');
    if (!this.entries.has(key) && this.entries.size >= keysMax) throw new RpcError('RESOURCE_EXHAUSTED', `the store holds ${keysMax} keys`);
    const entry = { value, version: this.lamport + 1, writer };
    const bytes = encodeEntries([[key, entry]]).length;
    if (bytes > entryBytesMax) throw new RpcError('INVALID_ARGUMENT', `key and value take ${bytes} bytes encoded, more than ${entryBytesMax}`);
    this.merge(key, entry);
    return entry;
  }

  /** Keeps `entry` if it is newer than what the store holds; true when it was. */
  merge(key: string, entry: Entry): boolean {
    this.lamport = Math.max(this.lamport, entry.version);
    const current = this.entries.get(key);
    if (current !== undefined && !newer(entry, current)) return false;
    if (current === undefined && this.entries.size >= keysMax) return false;
    this.entries.set(key, entry);
    return true;
  }

  /** Every entry, in key order (what push-pull sends). */
  list(): [string, Entry][] {
    return [...this.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** A short fingerprint of the entries (FNV-1a): replicas that agree report the same digest. */
  digest(): string {
    let hash = 0x811c9dc5;
    for (const char of JSON.stringify(this.list())) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
    return hash.toString(16).padStart(8, '0');
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Entries as bytes, for a gossip broadcast (one entry) or push-pull (the whole store). */
export function encodeEntries(entries: readonly [string, Entry][]): Uint8Array {
  return encoder.encode(JSON.stringify(entries));
}

/** Entries a peer sent; anything malformed is dropped rather than stored. */
export function decodeEntries(bytes: Uint8Array): [string, Entry][] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed.filter((item): item is [string, Entry] => Array.isArray(item) && isKey(item[0]) && isEntry(item[1])).slice(0, keysMax);
}

function isKey(key: unknown): key is string {
  return typeof key === 'string' && key.length > 0 && key.length <= keyCharsMax;
}

function isEntry(entry: unknown): entry is Entry {
  const e = entry as Partial<Entry> | null;
  return typeof e === 'object' && e !== null && typeof e.value === 'string' && e.value.length <= entryBytesMax
    && Number.isSafeInteger(e.version) && e.version! >= 1 && typeof e.writer === 'string' && e.writer.length <= writerCharsMax;
}

function newer(a: Entry, b: Entry): boolean {
  return a.version !== b.version ? a.version > b.version : a.writer > b.writer;
}

function checkKey(key: unknown): asserts key is string {
  if (!isKey(key)) {
    throw new RpcError('INVALID_ARGUMENT', `key must be a string of 1 to ${keyCharsMax} characters`);
  }
}
