import { RpcError } from '../../core/public.ts';
import type { ReplicaEntry } from './service.ts';
import { compareVersions, isVersion, type Version } from './version.ts';

/** Keys are short names; a longer one is refused (INVALID_ARGUMENT). */
export const keyCharsMax = 64;
/** Values are short strings; a longer one is refused (INVALID_ARGUMENT). */
export const valueCharsMax = 512;
/**
 * Keys one replica holds. 1 000 entries of at most ~700 bytes encoded keep a whole
 * catch-up answer within one RPC frame (1 MiB); a write of a new key past it is refused
 * (RESOURCE_EXHAUSTED).
 */
export const keysMax = 1_000;

/**
 * One replica's copies of its keys: for each key the newest version it was sent, and its
 * value. A write never replaces a newer version, so after `write(e)` the replica holds
 * `e.version` or newer, whatever order writes arrive in: the property quorums rely on.
 */
export class Store {
  private readonly entries = new Map<string, { version: Version; value: string }>();

  get size(): number {
    return this.entries.size;
  }

  read(key: string): { version: Version | null; value: string | null } {
    checkKey(key);
    const entry = this.entries.get(key);
    return { version: entry?.version ?? null, value: entry?.value ?? null };
  }

  /** Keeps `entry` if it is newer than what the store holds; true when it was. */
  write(entry: ReplicaEntry): boolean {
    checkEntry(entry);
    const current = this.entries.get(entry.key);
    if (current !== undefined && compareVersions(entry.version, current.version) <= 0) return false;
    if (current === undefined && this.entries.size >= keysMax) throw new RpcError('RESOURCE_EXHAUSTED', `the replica holds ${keysMax} keys`);
    this.entries.set(entry.key, { version: entry.version, value: entry.value });
    return true;
  }

  /** The entries whose key `keep` accepts, in key order. */
  list(keep: (key: string) => boolean): ReplicaEntry[] {
    return [...this.entries].filter(([key]) => keep(key)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, { version, value }]) => ({ key, version, value }));
  }
}

/** Refuses a key that is not a string of 1 to `keyCharsMax` characters (INVALID_ARGUMENT). */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > keyCharsMax) {
    throw new RpcError('INVALID_ARGUMENT', `key must be a string of 1 to ${keyCharsMax} characters`);
  }
}

/** Refuses a value that is not a string of at most `valueCharsMax` characters (INVALID_ARGUMENT). */
export function checkValue(value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length > valueCharsMax) {
    throw new RpcError('INVALID_ARGUMENT', `value must be a string of at most ${valueCharsMax} characters`);
  }
}

/** Refuses an entry from a peer that is malformed (INVALID_ARGUMENT): it is never stored. */
export function checkEntry(entry: unknown): asserts entry is ReplicaEntry {
  const e = entry as Partial<ReplicaEntry> | null;
  if (typeof e !== 'object' || e === null) throw new RpcError('INVALID_ARGUMENT', 'an entry must be { key, version, value }');
  checkKey(e.key);
  checkValue(e.value);
  if (!isVersion(e.version)) throw new RpcError('INVALID_ARGUMENT', 'version must be { counter ≥ 1, writer }');
}
