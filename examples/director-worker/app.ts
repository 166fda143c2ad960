import { defineApp, parseTagFilter, type AppNode } from '../../core/public.ts';
import { parseDirectorWorkerConfig, type DirectorWorkerConfig } from './config.ts';
import { directorImplementation } from './director.ts';
import { DirectorService, WorkerService } from './service.ts';
import { workerImplementation } from './worker.ts';

/**
 * The director/worker example (rpcnet's cluster tutorial) as an app. A member whose own
 * tags match `workerFilter` serves `cluster.worker.v1`; a member configured with
 * `director` serves `cluster.director.v1`, assigning workers from a registry of the
 * members that match the filter. It reports:
 * - `worker` (boolean), `director` (its strategy, or false), `workerFilter`;
 * - on a worker, `started` (calls its handlers started) and `tokens` (tokens sent);
 * - on a director, `assignments` (workers assigned) and `workers` (the pool's size now).
 */
export default defineApp<DirectorWorkerConfig>({
  name: 'director-worker',
  services: [WorkerService, DirectorService],
  parseConfig: parseDirectorWorkerConfig,
  start(node) {
    const { workerFilter, director } = node.config;
    const isWorker = parseTagFilter(workerFilter).matches(node.tags);
    node.report('worker', isWorker);
    node.report('director', director ?? false);
    node.report('workerFilter', workerFilter);
    if (isWorker) startWorker(node);
    if (director !== undefined) startDirector(node);
  },
});

function startWorker(node: AppNode<DirectorWorkerConfig>): void {
  let started = 0;
  let tokens = 0;
  node.report('started', started);
  node.report('tokens', tokens);
  node.server.register(WorkerService, workerImplementation(node.clock, node.name, {
    started: () => node.report('started', ++started),
    token: () => node.report('tokens', ++tokens),
  }));
}

function startDirector(node: AppNode<DirectorWorkerConfig>): void {
  const registry = node.workers(node.config.workerFilter);
  let assignments = 0;
  node.report('assignments', assignments);
  node.report('workers', registry.pool().length);
  // Registered after the registry, so the registry has refreshed when this runs.
  node.nodes.subscribe(() => node.report('workers', registry.pool().length));
  node.server.register(DirectorService, directorImplementation(node, registry, node.config.director, () => node.report('assignments', ++assignments)));
}
