import { defineService, unary } from '../../core/public.ts';

/**
 * The key-value store's wire contract: `kv.v1/put` and `kv.v1/get`. One definition gives
 * the server its handler types and every client (another member, a scenario workload,
 * `shoal call`) its method names; the version in the name is what lets it change later.
 */
export const Kv = defineService('kv.v1', {
  /** Stores `value` under `key` on the member called; the store gossips it to the others. */
  put: unary<{ key: string; value: string }, { node: string; version: number }>(),
  /** Reads the called member's copy: a replica may lag behind while gossip catches up. */
  get: unary<{ key: string }, { node: string; value: string | null; version: number }>(),
});
