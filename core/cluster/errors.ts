import { RpcError } from '../rpc/index.ts';

/**
 * Every call through the cluster client ends with an `RpcError`, so a caller handles one
 * error type whatever went wrong; these subclasses name the cluster-side reasons.
 */

/** No live worker matches the call's filter: reported at once, never queued or retried. */
export class NoWorkerError extends RpcError {
  constructor(readonly filter: string) {
    super('UNAVAILABLE', `no live worker matches filter "${filter}"`, { unprocessed: true });
  }
}

/** Every matching worker's circuit is open: nothing was sent. */
export class AllCircuitsOpenError extends RpcError {
  constructor(readonly filter: string, readonly retryAfterMs: number) {
    super('UNAVAILABLE', `every worker matching "${filter}" has an open circuit; retry in ${retryAfterMs} ms`, { unprocessed: true });
  }
}

/** The admission queue was full, or the client's rate limit was exceeded: the call was shed. */
export class ShedError extends RpcError {
  constructor(readonly reason: 'queue-full' | 'rate-limited', message: string, cause?: unknown) {
    super('RESOURCE_EXHAUSTED', message, { unprocessed: true, cause });
  }
}

/** The worker the attempt ran on left the pool (failed or left) before answering. */
export class WorkerLostError extends RpcError {
  constructor(readonly worker: string) {
    super('UNAVAILABLE', `worker ${worker} failed while the call was running`);
  }
}
