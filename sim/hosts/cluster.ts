import type { Address, Env } from '../../core/index.ts';
import { exponential, type Random } from '../../core/random.ts';
import type { StrategyName } from '../../core/balance/index.ts';
import {
  installExampleMember, type ClusterClient, type ClusterClientOptions, type NodeRegistry, type WorkerCounters, type WorkerRegistry, type WorkerService,
} from '../../core/cluster/index.ts';
import { RpcClient, RpcError, RpcServer, type RpcClientOptions } from '../../core/rpc/index.ts';
import { Swim, type SwimConfigInput, type Tags } from '../../core/swim/index.ts';
import { SeededRandom } from '../random.ts';
import type { HostContext, HostFactory, Simulation } from '../simulation.ts';

/** Everything a cluster host runs besides SWIM. */
export interface ClusterNode {
  readonly name: string;
  readonly swim: Swim;
  readonly rpc: RpcClient;
  readonly server: RpcServer;
  readonly nodes: NodeRegistry;
  readonly workers: WorkerRegistry;
  /** True when this host serves the worker service (its tags match the worker filter). */
  readonly isWorker: boolean;
  readonly isDirector: boolean;
  /** What this host's worker handlers did (zero unless it is a worker). */
  readonly counters: WorkerCounters;
  /** A cluster client for the worker service from this host. */
  client(options?: ClusterClientOptions): ClusterClient<typeof WorkerService.methods>;
  readonly env: Env;
}

export interface ClusterNodeOptions {
  /** Members matching this serve the worker service; the registry's filter too. @default 'role=worker' */
  workerFilter?: string;
  /** Serve the director service (strategy for its assignments). @default false */
  director?: boolean | StrategyName;
  rpc?: RpcClientOptions;
}

const nodesBySwim = new WeakMap<Swim, ClusterNode>();

/**
 * Installs the cluster layer on a host whose SWIM member is already started: an RPC server
 * sharing the host's one address with SWIM (incoming connections routed by their first
 * bytes), the worker service if the member's tags say it is a worker, the director
 * service if asked, and node and worker registries over the member. Call it inside a host
 * factory, so a restart installs it again.
 */
export function attachCluster(ctx: HostContext, swim: Swim, options: ClusterNodeOptions = {}): ClusterNode {
  const server = new RpcServer(ctx);
  const rpc = new RpcClient(ctx, options.rpc);
  const member = installExampleMember(ctx, swim, server, rpc, options);
  const node: ClusterNode = {
    name: ctx.name, swim, rpc, server, nodes: member.nodes, workers: member.workers, isWorker: member.isWorker,
    isDirector: member.isDirector, counters: member.counters, env: ctx, client: member.client,
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

/** Latencies a workload record keeps: a bounded sample, the first ones. */
export const WORKLOAD_LATENCIES_MAX = 10_000;

export interface WorkloadOptions {
  /** Host issuing the calls; it must run the cluster layer. */
  clientHost: string;
  /** Calls per second, Poisson arrivals. */
  rate: number;
  /** `compute` (unary) or `tokens` (server-streaming, 3 tokens). @default 'compute' */
  method?: 'compute' | 'tokens';
  /** @default 'power-of-two' */
  strategy?: StrategyName;
  /** Narrows the worker pool. */
  filter?: string;
  /** @default true */
  idempotent?: boolean;
  /** Deadline budget per call. @default 1_000 */
  deadlineMs?: number;
  /** Retries per call. @default 3 */
  retries?: number;
  hedgeAfterMs?: number | 'p95';
  /** Service time of each call on the worker, drawn from the workload's random. @default () => 5 */
  serviceTime?: (random: Random) => number;
  /** Extra client options (admission, rate limit, in-flight limit). */
  client?: ClusterClientOptions;
  startMs: number;
  stopMs: number;
  /** How to find the cluster node of a host. @default the host's app, or the node attached to its Swim */
  resolve?: (host: string) => ClusterNode | undefined;
}

/** A live record of a workload; read it while the run goes on or after it. */
export interface WorkloadRecord {
  issued: number;
  succeeded: number;
  /** Failed calls by status code name. */
  failed: Record<string, number>;
  /** Calls issued and not yet ended (at the end of the run: the ones that never ended). */
  pendingAtEnd: number;
  /** Calls that ended more than once: must stay 0. */
  duplicated: number;
  /** Latency of ended calls (first `WORKLOAD_LATENCIES_MAX`). */
  latenciesMs: number[];
  /** Calls shed by admission or rate limit (RESOURCE_EXHAUSTED from the client itself). */
  shed: number;
  /** Arrivals while the client host was down (not issued). */
  skipped: number;
  /** Longest time by which an ended call overran its deadline (ms). */
  deadlineOverrunMsMax: number;
  /** Successful calls per worker name. */
  servedBy: Record<string, number>;
}

function defaultResolve(sim: Simulation): (host: string) => ClusterNode | undefined {
  return (host) => {
    const app = sim.app<unknown>(host);
    if (app instanceof Swim) return clusterNodeOf(app);
    return app as ClusterNode | undefined;
  };
}

/**
 * Issues calls from `clientHost` at `rate` per second between `startMs` and `stopMs`
 * through a cluster client, and records every outcome. Arrivals are drawn from a generator
 * seeded from the simulation's seed, so the workload is part of the reproducible run. A
 * restart of the client host gets a fresh client; calls pending on the crashed host never
 * end and stay in `pendingAtEnd`.
 */
export function startWorkload(sim: Simulation, options: WorkloadOptions): WorkloadRecord {
  const record: WorkloadRecord = {
    issued: 0, succeeded: 0, failed: {}, pendingAtEnd: 0, duplicated: 0, latenciesMs: [], shed: 0, skipped: 0, deadlineOverrunMsMax: 0, servedBy: {},
  };
  const random = new SeededRandom(`${sim.seed}/workload/${options.clientHost}`);
  const resolve = options.resolve ?? defaultResolve(sim);
  const deadlineMs = options.deadlineMs ?? 1_000;
  const serviceTime = options.serviceTime ?? (() => 5);
  let client: { node: ClusterNode; client: ClusterClient<typeof WorkerService.methods> } | undefined;
  const clientFor = (node: ClusterNode) => {
    if (client?.node !== node) {
      client = { node, client: node.client({ strategy: options.strategy, retriesMax: options.retries, hedgeAfterMs: options.hedgeAfterMs, ...options.client }) };
    }
    return client.client;
  };
  const issue = () => {
    const node = sim.isUp(options.clientHost) ? resolve(options.clientHost) : undefined;
    if (node === undefined) {
      record.skipped++;
      return;
    }
    const cluster = clientFor(node);
    record.issued++;
    record.pendingAtEnd++;
    const startedAtMs = sim.nowMs;
    let ended = false;
    const finish = (worker: string | undefined, error: unknown) => {
      if (ended) {
        record.duplicated++;
        return;
      }
      ended = true;
      record.pendingAtEnd--;
      const latencyMs = sim.nowMs - startedAtMs;
      if (record.latenciesMs.length < WORKLOAD_LATENCIES_MAX) record.latenciesMs.push(latencyMs);
      record.deadlineOverrunMsMax = Math.max(record.deadlineOverrunMsMax, latencyMs - deadlineMs);
      if (error === undefined) {
        record.succeeded++;
        record.servedBy[worker!] = (record.servedBy[worker!] ?? 0) + 1;
        return;
      }
      const code = error instanceof RpcError ? error.code : 'UNKNOWN';
      record.failed[code] = (record.failed[code] ?? 0) + 1;
      if (code === 'RESOURCE_EXHAUSTED' && (error as RpcError).unprocessed) record.shed++;
    };
    const callOptions = { deadlineMs, filter: options.filter, idempotent: options.idempotent ?? true };
    const serviceMs = Math.max(0, serviceTime(random));
    if ((options.method ?? 'compute') === 'compute') {
      cluster.call('compute', { n: record.issued, serviceMs }, callOptions).then((r) => finish(r.worker, undefined), (e: unknown) => finish(undefined, e));
    } else {
      const intervalMs = serviceMs / 3;
      void (async () => {
        let worker: string | undefined;
        for await (const token of cluster.stream('tokens', { count: 3, intervalMs }, { ...callOptions, resume: (r, received) => ({ ...r, from: received }) })) worker = token.worker;
        return worker;
      })().then((w) => finish(w, undefined), (e: unknown) => finish(undefined, e));
    }
  };
  const schedule = (atMs: number) => {
    if (atMs >= options.stopMs) return;
    sim.at(atMs, () => {
      issue();
      schedule(sim.nowMs + exponential(random, 1_000 / options.rate));
    });
  };
  schedule(Math.max(options.startMs, sim.nowMs));
  return record;
}
