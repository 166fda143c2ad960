import type { Clock } from '../../clock.ts';
import { RpcError, type ServiceImplementation } from '../../rpc/index.ts';
import { SERVICE_MS_MAX, TOKENS_MAX, WorkerService } from './service.ts';

export interface WorkerCounters {
  /** Calls the handlers started (compute and tokens). */
  started: number;
  /** Tokens sent. */
  tokens: number;
}

function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clock.cancelTimer(timer);
      reject(signal.reason);
    };
    const timer = clock.setTimer(ms, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The worker's handlers: simulated work paced by the host's clock, stopped by cancellation. */
export function workerImplementation(clock: Clock, name: string, counters: WorkerCounters): ServiceImplementation<typeof WorkerService.methods> {
  return {
    compute: async ({ n, serviceMs }, call) => {
      counters.started++;
      const ms = serviceMs ?? 0;
      if (!(ms >= 0 && ms <= SERVICE_MS_MAX)) throw new RpcError('INVALID_ARGUMENT', `serviceMs must be within 0..${SERVICE_MS_MAX}`);
      if (ms > 0) await sleep(clock, ms, call.signal);
      return { worker: name, result: n * n };
    },
    async *tokens({ count, from, intervalMs }, call) {
      counters.started++;
      if (!(count >= 0 && count <= TOKENS_MAX)) throw new RpcError('INVALID_ARGUMENT', `count must be within 0..${TOKENS_MAX}`);
      for (let i = from ?? 0; i < count; i++) {
        if ((intervalMs ?? 0) > 0) await sleep(clock, intervalMs!, call.signal);
        counters.tokens++;
        yield { i, worker: name };
      }
    },
  };
}
