import type { Address, Env } from '../../core/index.ts';
import type { Random } from '../../core/random.ts';
import type { StrategyName } from '../../core/balance/index.ts';
import { startApps, type AppPlacement, type AppReporter, type RunningApps } from '../../core/app/index.ts';
import {
  ClusterClient, NodeRegistry, WorkerRegistry, attachRpc, type ClusterClientOptions,
} from '../../core/cluster/index.ts';
import type { RpcClient, RpcClientOptions, RpcServer, ServiceDefinition } from '../../core/rpc/index.ts';
import { Swim, type SwimConfigInput, type Tags } from '../../core/swim/index.ts';
import { DEFAULT_WORKER_FILTER, WorkerService, directorWorkerApp } from '../../examples/director-worker/index.ts';
import type { HostContext, HostFactory, Simulation } from '../simulation.ts';
import { startRpcWorkload, type RpcWorkloadOptions, type WorkloadRecord } from './workload.ts';

/** Everything a cluster host runs besides SWIM. */
export interface ClusterNode {
  readonly name: string;
  readonly swim: Swim;
  readonly rpc: RpcClient;
  readonly server: RpcServer;
  readonly nodes: NodeRegistry;
  /** The members matching the worker filter, as this host's cluster client sees them. */
  readonly workers: WorkerRegistry;
  /**
   * The apps this host runs: the director/worker example first (`worker`, `director`,
   * `started`, `tokens`, `assignments` and `workers` in its reported values), then `apps`.
   */
  readonly apps: RunningApps;
  /** A cluster client for the worker service from this host. */
  client(options?: ClusterClientOptions): ClusterClient<typeof WorkerService.methods>;
  readonly env: Env;
}

export interface ClusterNodeOptions {
  /** Members matching this serve the worker service; the registry's filter too. @default 'role=worker' */
  workerFilter?: string;
  /** Serve the director service (strategy for its assignments). @default false */
  director?: boolean | StrategyName;
  /** Apps to run beside the director/worker example. @default [] */
  apps?: readonly AppPlacement[];
  /** Where the apps' reported values go. @default nowhere (they stay readable in `apps.reported`) */
  reporter?: AppReporter;
  rpc?: RpcClientOptions;
}

const nodesBySwim = new WeakMap<Swim, ClusterNode>();

/**
 * Installs the cluster layer on a host whose SWIM member is already started, as a real
 * node does: RPC on the host's one address beside SWIM (`attachRpc`), the director/worker
 * example app (a worker if the member's tags match the worker filter, a director if
 * asked) and any further apps (`startApps`), and node and worker registries over the
 * member for the host's cluster client. Call it inside a host factory, so a restart
 * installs it again.
 */
export function attachCluster(ctx: HostContext, swim: Swim, options: ClusterNodeOptions = {}): ClusterNode {
  const workerFilter = options.workerFilter ?? DEFAULT_WORKER_FILTER;
  const { server, client: rpc } = attachRpc(ctx, swim, { client: options.rpc });
  const example: AppPlacement = { app: directorWorkerApp, config: { workerFilter, director: options.director ?? false } };
  const apps = startApps({ env: ctx, swim, server, client: rpc }, [example, ...options.apps ?? []], options.reporter);
  const nodes = new NodeRegistry(swim, ctx.clock);
  const workers = new WorkerRegistry(nodes, { filter: workerFilter });
  const node: ClusterNode = {
    name: ctx.name, swim, rpc, server, nodes, workers, apps, env: ctx,
    client: (clientOptions) => new ClusterClient(ctx, rpc, workers, WorkerService, clientOptions),
  };
  nodesBySwim.set(swim, node);
  return node;
}

/** The cluster node attached to `swim`, if any (for runners whose host apps are bare Swims). */
export function clusterNodeOf(swim: Swim): ClusterNode | undefined {
  return nodesBySwim.get(swim);
}

export interface ClusterHostOptions extends ClusterNodeOptions {
  tags?: Tags;
  seeds?: readonly Address[];
  config?: SwimConfigInput;
}

/** A host factory running SWIM plus the cluster layer. */
export function clusterHost(options: ClusterHostOptions = {}): HostFactory<ClusterNode> {
  return (ctx) => {
    const swim = new Swim(ctx, { name: ctx.name, tags: options.tags, config: options.config, seeds: options.seeds?.filter((s) => s !== ctx.address) });
    swim.start();
    return attachCluster(ctx, swim, options);
  };
}

export interface ClusterSetupOptions {
  /** Worker hosts `w0..w{n-1}`, tagged `role=worker` and `label=w{i}`. */
  workers: number;
  /** Extra tags per worker index. */
  workerTags?: (index: number) => Tags;
  /** Also start a director host `director` (the seed). @default true */
  director?: boolean | StrategyName;
  /** Client host names (plain members). @default ['client'] */
  clients?: readonly string[];
  /** SWIM configuration. @default preset 'local' */
  config?: SwimConfigInput;
  rpc?: RpcClientOptions;
}

/** Starts a director (the gossip seed), workers and client hosts in `sim`. */
export function buildCluster(sim: Simulation, options: ClusterSetupOptions): { director: string; workers: string[]; clients: string[] } {
  const config = options.config ?? { preset: 'local' };
  const director = 'director';
  const seeds = [`${director}:${sim.options.port}`];
  sim.host(director, clusterHost({ tags: { role: 'director' }, director: options.director ?? true, config, rpc: options.rpc }));
  const workers = Array.from({ length: options.workers }, (_, i) => `w${i}`);
  workers.forEach((name, i) => sim.host(name, clusterHost({ tags: { role: 'worker', label: name, ...options.workerTags?.(i) }, seeds, config, rpc: options.rpc })));
  const clients = [...(options.clients ?? ['client'])];
  for (const name of clients) sim.host(name, clusterHost({ tags: { role: 'client' }, seeds, config, rpc: options.rpc }));
  return { director, workers, clients };
}

// ------------------------------------------------------------------ workload

export { WORKLOAD_LATENCIES_MAX, type WorkloadRecord } from './workload.ts';

/** The director/worker example's workload on cluster hosts (see `startRpcWorkload` for the general one). */
export interface WorkloadOptions extends Omit<RpcWorkloadOptions, 'methods' | 'method' | 'request' | 'resolve'> {
  /** `compute` (unary) or `tokens` (server-streaming, 3 tokens). @default 'compute' */
  method?: 'compute' | 'tokens';
  /** Service time of each call on the worker, drawn from the workload's random. @default () => 5 */
  serviceTime?: (random: Random) => number;
  /** How to find the cluster node of a host. @default the host's app, or the node attached to its Swim */
  resolve?: (host: string) => ClusterNode | undefined;
}

/**
 * The request of the example's `compute` (square `index + 1` after a service time drawn
 * from `random`) or `tokens` (3 tokens spread over it); undefined for any other method.
 */
export function directorWorkerRequest(method: string, random: Random, index: number, serviceTime: (random: Random) => number): unknown {
  if (method === `${WorkerService.name}/compute`) return { n: index + 1, serviceMs: Math.max(0, serviceTime(random)) };
  if (method === `${WorkerService.name}/tokens`) return { count: 3, intervalMs: Math.max(0, serviceTime(random)) / 3 };
  return undefined;
}

/** How a `tokens` call resumes on another worker after `received` tokens: from the next one. */
export function directorWorkerResume(method: string): ((request: unknown, received: number) => unknown) | undefined {
  if (method !== `${WorkerService.name}/tokens`) return undefined;
  return (request, received) => ({ ...(request as object), from: received });
}

function defaultResolve(sim: Simulation): (host: string) => ClusterNode | undefined {
  return (host) => {
    const app = sim.app<unknown>(host);
    if (app instanceof Swim) return clusterNodeOf(app);
    return app as ClusterNode | undefined;
  };
}

/**
 * Issues `compute` or `tokens` calls from `clientHost` to the hosts matching the worker
 * filter, through each host's cluster layer (see `startRpcWorkload`).
 */
export function startWorkload(sim: Simulation, options: WorkloadOptions): WorkloadRecord {
  const { method: short = 'compute', serviceTime = () => 5, resolve = defaultResolve(sim), ...rest } = options;
  const method = `${WorkerService.name}/${short}`;
  const resume = directorWorkerResume(method);
  const target = { service: WorkerService as ServiceDefinition, method: short, servers: DEFAULT_WORKER_FILTER, ...(resume ? { resume } : {}) };
  return startRpcWorkload(sim, {
    ...rest, method, methods: new Map([[method, target]]), resolve,
    request: (random, index) => ({ request: directorWorkerRequest(method, random, index, serviceTime) }),
  });
}
