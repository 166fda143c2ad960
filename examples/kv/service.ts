import { defineService, unary } from '../../core/public.ts';
import type { Version } from './version.ts';

/**
 * The store's client-facing contract: `kv.v1/put` and `kv.v1/get`. Any member running the
 * app answers them; it coordinates the operation with the key's replicas and answers once
 * a majority of them did. An operation that cannot reach a majority before its deadline
 * fails with UNAVAILABLE: it may have reached some replicas, so its outcome is unknown.
 */
export const Kv = defineService('kv.v1', {
  /** Writes `value` under `key` on a majority of the key's replicas; answers with the version written. */
  put: unary<{ key: string; value: string }, { node: string; version: Version }>(),
  /** Reads `key` from a majority of its replicas (`null`: never written); `abd` mode writes it back first. */
  get: unary<{ key: string }, { node: string; value: string | null; version: Version | null }>(),
});

/** One replica's copy of one key, as the replica service carries it. */
export interface ReplicaEntry {
  readonly key: string;
  readonly version: Version;
  readonly value: string;
}

/**
 * What coordinators and replicas say to each other. Kept apart from `kv.v1` so that
 * clients see only the two operations, and so that it can change without them.
 */
export const KvReplica = defineService('kv.replica.v1', {
  /** This replica's version and value of `key` (`null` when it holds none). Refused (UNAVAILABLE) while the replica catches up. */
  read: unary<{ key: string }, { version: Version | null; value: string | null }>(),
  /** Stores `value` at `version` unless the replica holds a newer version; either way it now holds at least `version`. */
  write: unary<ReplicaEntry, Record<string, never>>(),
  /** Every entry this replica holds of the keys that `replica` also replicates: what a restarted replica fetches to catch up. */
  catchUp: unary<{ replica: string }, { entries: ReplicaEntry[] }>(),
});
