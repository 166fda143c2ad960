import type { Env } from '../../env.ts';
import { createStrategy, parseTagFilter, type StrategyName } from '../../balance/index.ts';
import type { RpcClient, RpcServer } from '../../rpc/index.ts';
import type { Swim } from '../../swim/index.ts';
import { ClusterClient, type ClusterClientOptions } from '../cluster-client.ts';
import { NodeRegistry } from '../node-registry.ts';
import { routeIncomingStreams } from '../stream-mux.ts';
import { WorkerRegistry } from '../worker-registry.ts';
import { directorImplementation } from './director.ts';
import { DirectorService, WorkerService } from './service.ts';
import { workerImplementation, type WorkerCounters } from './worker.ts';

/** The worker filter when none is given: rpcnet's tutorial tags its workers `role=worker`. */
export const DEFAULT_WORKER_FILTER = 'role=worker';
/** The director's strategy when `director: true`. */
export const DEFAULT_DIRECTOR_STRATEGY: StrategyName = 'round-robin';

export interface ExampleMemberOptions {
  /** Members matching this serve the worker service; the worker registry's filter too. @default 'role=worker' */
  workerFilter?: string;
  /** Serve the director service; a strategy name picks its assignment strategy. @default false */
  director?: boolean | StrategyName;
}

/** The cluster layer of one member: registries, the example's services, a cluster client factory. */
export interface ExampleMember {
  readonly nodes: NodeRegistry;
  readonly workers: WorkerRegistry;
  /** True when this member serves the worker service (its tags match the worker filter). */
  readonly isWorker: boolean;
  readonly isDirector: boolean;
  /** The director's assignment strategy, when it is one. */
  readonly strategy: StrategyName | undefined;
  /** What this member's worker handlers did (zero unless it is a worker). */
  readonly counters: WorkerCounters;
  /** A cluster client for the worker service from this member. */
  client(options?: ClusterClientOptions): ClusterClient<typeof WorkerService.methods>;
}

/**
 * Installs the director/worker example on a member whose SWIM node is already started, the
 * same way in the simulator and on a real node: RPC shares the member's one address with
 * SWIM push-pull (incoming connections routed by their first bytes), the worker service is
 * served when the member's own tags match the worker filter, the director service when
 * asked, and node and worker registries follow membership. Throws `ConfigError` for an
 * unknown strategy or a malformed filter before anything is installed.
 */
export function installExampleMember(env: Env, swim: Swim, server: RpcServer, rpc: RpcClient, options: ExampleMemberOptions = {}): ExampleMember {
  const filterExpression = options.workerFilter ?? DEFAULT_WORKER_FILTER;
  const filter = parseTagFilter(filterExpression);
  const strategy = options.director === undefined || options.director === false ? undefined
    : options.director === true ? DEFAULT_DIRECTOR_STRATEGY : options.director;
  if (strategy !== undefined) createStrategy(strategy);
  const swimAccept = env.transport.streams.onConnection;
  const isWorker = filter.matches(swim.member(swim.name)?.tags ?? {});
  const nodes = new NodeRegistry(swim, env.clock);
  const workers = new WorkerRegistry(nodes, { filter: filterExpression });
  const counters: WorkerCounters = { started: 0, tokens: 0 };
  if (isWorker) server.register(WorkerService, workerImplementation(env.clock, swim.name, counters));
  if (strategy !== undefined) server.register(DirectorService, directorImplementation(env, workers, strategy));
  routeIncomingStreams(env.transport, { rpc: (connection) => server.accept(connection), other: swimAccept });
  return {
    nodes, workers, isWorker, isDirector: strategy !== undefined, strategy, counters,
    client: (clientOptions) => new ClusterClient(env, rpc, workers, WorkerService, clientOptions),
  };
}
