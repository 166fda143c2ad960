import type { Clock, ServiceImplementation } from '../../core/public.ts';
import { WorkerService } from './service.ts';

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

/** The worker's handlers (requests already checked by the service's schemas): simulated work paced by the member's clock, stopped by cancellation. */
export function workerImplementation(clock: Clock, name: string, events: WorkerEvents): ServiceImplementation<typeof WorkerService.methods> {
  return {
    compute: async ({ n, serviceMs }, call) => {
      events.started();
      const ms = serviceMs ?? 0;
      if (ms > 0) await sleep(clock, ms, call.signal);
      return { worker: name, result: n * n };
    },
    async *tokens({ count, from, intervalMs }, call) {
      events.started();
      for (let i = from ?? 0; i < count; i++) {
        if ((intervalMs ?? 0) > 0) await sleep(clock, intervalMs!, call.signal);
        events.token();
        yield { i, worker: name };
      }
    },
  };
}
