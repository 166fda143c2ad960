import {
  NoWorkerError, RpcError, createStrategy, parseTagFilter, type Clock, type Random, type ServiceImplementation, type StrategyName, type WorkerRegistry,
} from '../../core/public.ts';
import { DirectorService } from './service.ts';

/** Names one `assign` request may exclude. */
export const EXCLUDE_MAX = 64;

/** What the director draws on: the member's clock and random (an `AppNode` is one). */
export interface DirectorSource {
  readonly clock: Clock;
  readonly random: Random;
}

/**
 * The director's handlers: assign a worker from its registry with a strategy. `onAssign`
 * hears of each assignment (the app reports the count).
 */
export function directorImplementation(
  source: DirectorSource, registry: WorkerRegistry, strategyName: StrategyName = 'round-robin', onAssign: (worker: string) => void = () => undefined,
): ServiceImplementation<typeof DirectorService.methods> {
  const strategy = createStrategy(strategyName);
  return {
    assign: ({ filter, key, exclude }) => {
      if ((exclude?.length ?? 0) > EXCLUDE_MAX) throw new RpcError('INVALID_ARGUMENT', `exclude lists at most ${EXCLUDE_MAX} workers`);
      const narrow = filter === undefined ? undefined : parseTagFilter(filter);
      const pool = registry.pool(narrow);
      const allowed = pool.filter((w) => !(exclude ?? []).includes(w.id));
      const worker = strategy.select(allowed.length > 0 ? allowed : pool, { random: source.random, key, nowMs: source.clock.now() });
      if (worker === undefined) throw new NoWorkerError(filter ?? registry.filter.expression);
      onAssign(worker.id);
      return { name: worker.id, address: worker.address };
    },
    workers: () => ({ workers: registry.pool().map((w) => ({ name: w.id, address: w.address, inFlight: w.inFlight })) }),
  };
}
