import { RpcError, type Clock, type ServiceImplementation } from '../../core/public.ts';
import { SERVICE_MS_MAX, TOKENS_MAX, WorkerService } from './service.ts';

/** What a worker's handlers did, told as it happens (the app reports each change). */
export interface WorkerEvents {
  /** A `compute` or `tokens` call started. */
  started(): void;
  /** A token was sent. */
  token(): void;
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

/** The worker's handlers: simulated work paced by the member's clock, stopped by cancellation. */
export function workerImplementation(clock: Clock, name: string, events: WorkerEvents): ServiceImplementation<typeof WorkerService.methods> {
  return {
    compute: async ({ n, serviceMs }, call) => {
      events.started();
      const ms = serviceMs ?? 0;
      if (!(ms >= 0 && ms <= SERVICE_MS_MAX)) throw new RpcError('INVALID_ARGUMENT', `serviceMs must be within 0..${SERVICE_MS_MAX}`);
      if (ms > 0) await sleep(clock, ms, call.signal);
      return { worker: name, result: n * n };
    },
    async *tokens({ count, from, intervalMs }, call) {
      events.started();
      if (!(count >= 0 && count <= TOKENS_MAX)) throw new RpcError('INVALID_ARGUMENT', `count must be within 0..${TOKENS_MAX}`);
      for (let i = from ?? 0; i < count; i++) {
        if ((intervalMs ?? 0) > 0) await sleep(clock, intervalMs!, call.signal);
        events.token();
        yield { i, worker: name };
      }
    },
  };
}
