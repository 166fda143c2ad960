import { defineService, serverStream, unary } from '../../core/public.ts';

// The service and method names are the example's wire contract: independent clients
// (`shoal call`, other languages) call them by name, so they never change.

/** What workers serve: rpcnet's cluster tutorial, typed. */
export const WorkerService = defineService('cluster.worker.v1', {
  /** Squares `n` after `serviceMs` of simulated work; answers with the worker's name. */
  compute: unary<{ n: number; serviceMs?: number }, { worker: string; result: number }>(),
  /** Streams tokens `from` .. `count - 1`, one every `intervalMs`. */
  tokens: serverStream<{ count: number; from?: number; intervalMs?: number }, { i: number; worker: string }>(),
});

/** What the director serves: worker assignment from its registry. */
export const DirectorService = defineService('cluster.director.v1', {
  /** A live worker matching `filter`, chosen by the director's strategy; never one in `exclude`. */
  assign: unary<{ filter?: string; key?: string; exclude?: string[] }, { name: string; address: string }>(),
  /** The director's view of the pool. */
  workers: unary<Record<string, never>, { workers: { name: string; address: string; inFlight: number }[] }>(),
});

/** Tokens one `tokens` call may ask for: a stream is bounded like everything else. */
export const TOKENS_MAX = 100_000;
/** Longest simulated work a `compute` call may ask for. */
export const SERVICE_MS_MAX = 60_000;
