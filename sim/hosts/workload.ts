import type { Env } from '../../core/env.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import { exponential, type Random } from '../../core/random.ts';
import type { StrategyName } from '../../core/balance/index.ts';
import { ClusterClient, WorkerRegistry, type ClusterCallOptions, type ClusterClientOptions, type NodeRegistry } from '../../core/cluster/index.ts';
import { RpcError, type MethodTable, type RpcClient, type ServiceDefinition } from '../../core/rpc/index.ts';
import { SeededRandom } from '../random.ts';
import type { Simulation } from '../simulation.ts';
import { AttemptTracker, failureType } from './call-outcome.ts';
import { ClientProcesses, type ClientProcess, type WorkloadListener } from './client-processes.ts';

export { WORKLOAD_CLIENTS_MAX, clientLostStatus, type WorkloadCall, type WorkloadCallEnd, type WorkloadListener } from './client-processes.ts';

/**
 * A workload: calls issued from one host at a Poisson rate, each to a method of a service
 * some members serve, through a cluster client over those members (balancing, retries,
 * hedging, deadline budgets, admission), with every outcome recorded. Calls come from
 * client processes (client-processes.ts), each with at most one call outstanding, and a
 * listener hears of every call with its process and how it ended (call-outcome.ts).
 */

/** Latencies a workload record keeps: a bounded sample, the first ones. */
export const WORKLOAD_LATENCIES_MAX = 10_000;
/** Methods a workload record counts separately (a generator choosing methods cannot grow it further). */
export const WORKLOAD_METHODS_MAX = 64;

/** What the workload needs of the host issuing the calls. */
export interface WorkloadHost {
  readonly env: Env;
  readonly rpc: RpcClient;
  /** Membership of the host, which the cluster clients' worker registries follow. */
  readonly nodes: NodeRegistry;
  /**
   * A worker registry the host keeps already (its cluster layer's): a method whose members
   * match its filter uses it, so the host's view of them (circuits, load) is the workload's.
   */
  readonly workers?: WorkerRegistry;
}

/** One method the workload may call. */
export interface WorkloadMethod {
  readonly service: ServiceDefinition;
  readonly method: string;
  /** Tag filter of the members the calls go to (`''`: every member). */
  readonly servers: string;
  /** For a server-streaming method: the request that resumes after `received` messages when a call fails over mid-stream. */
  readonly resume?: (request: unknown, received: number) => unknown;
}

/** One call: its request, and the method (`service/method`) when not the workload's default. */
export interface WorkloadRequest {
  readonly method?: string;
  readonly request: unknown;
}

export interface RpcWorkloadOptions {
  /** Host issuing the calls. */
  clientHost: string;
  /** Calls per second, Poisson arrivals. */
  rate: number;
  /** The methods calls may name, by `service/method`. */
  methods: ReadonlyMap<string, WorkloadMethod>;
  /** The method of a call whose request names none. */
  method: string;
  /** The request of the `index`-th call (from 0); `random` is the workload's own generator. */
  request: (random: Random, index: number) => WorkloadRequest;
  /** @default 'power-of-two' */
  strategy?: StrategyName;
  /** Narrows the members of each call further. */
  filter?: string;
  /** @default true */
  idempotent?: boolean;
  /** Deadline budget per call. @default 1_000 */
  deadlineMs?: number;
  /** Retries per call. @default 3 */
  retries?: number;
  hedgeAfterMs?: number | 'p95';
  /** Extra client options (admission, rate limit, in-flight limit). */
  client?: ClusterClientOptions;
  startMs: number;
  stopMs: number;
  /** How to find what the workload needs on a host. @default the host's app, when it has `env`, `rpc` and `nodes` */
  resolve?: (host: string) => WorkloadHost | undefined;
  /**
   * A closed workload of this many client processes, each with its own Poisson arrivals at
   * `rate / clients` (the rate is the total): an arrival while its process still waits for
   * its previous call is let pass (counted in `busy`).
   * @default undefined: an open workload, every arrival issued at once however many calls are outstanding (an overload needs that), each by a process with none outstanding
   */
  clients?: number;
  /** Hears of every call's start and end, with its client process (for operation histories). */
  listener?: WorkloadListener;
}

/** Calls of one method and how they ended. */
export interface MethodRecord {
  issued: number;
  succeeded: number;
  /** Failed calls by status code name. */
  failed: Record<string, number>;
}

/** A live record of a workload; read it while the run goes on or after it. */
export interface WorkloadRecord {
  issued: number;
  succeeded: number;
  /** Failed calls by status code name. */
  failed: Record<string, number>;
  /** Calls by method (`service/method`), at most `WORKLOAD_METHODS_MAX` methods. */
  byMethod: Record<string, MethodRecord>;
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
  /** Arrivals of a closed workload's process while its previous call had not ended (not issued). */
  busy: number;
  /** Longest time by which an ended call overran its deadline (ms). */
  deadlineOverrunMsMax: number;
  /** Successful calls per member, when responses name the member that served them (a `worker` field). */
  servedBy: Record<string, number>;
}

export function emptyWorkloadRecord(): WorkloadRecord {
  return {
    issued: 0, succeeded: 0, failed: {}, byMethod: {}, pendingAtEnd: 0, duplicated: 0, latenciesMs: [], shed: 0, skipped: 0, busy: 0, deadlineOverrunMsMax: 0, servedBy: {},
  };
}

function isWorkloadHost(value: unknown): value is WorkloadHost {
  const host = value as Partial<WorkloadHost> | undefined;
  return typeof host === 'object' && host !== null && host.env !== undefined && host.rpc !== undefined && host.nodes !== undefined;
}

/** Checks that every method exists with a kind the workload can call; throws `InvalidArgumentError` naming the one that does not. */
export function checkWorkloadMethods(methods: ReadonlyMap<string, WorkloadMethod>): void {
  for (const [name, m] of methods) {
    const kind = m.service.methods[m.method]?.kind;
    if (kind === undefined) throw new InvalidArgumentError(`workload method ${name}: ${m.service.name} has no method ${m.method}`);
    if (kind !== 'unary' && kind !== 'serverStream') throw new InvalidArgumentError(`workload method ${name} is ${kind}: a workload calls unary and server-streaming methods`);
  }
}

/**
 * Issues calls from `clientHost` at `rate` per second between `startMs` and `stopMs`, each
 * through a cluster client (one per service and host instance) over the members serving
 * its method, and records every outcome. Arrivals are drawn from a generator seeded from
 * the simulation's seed, so the workload is part of the reproducible run. A restart of the
 * client host gets fresh clients; calls pending on the crashed host never end and stay in
 * `pendingAtEnd` (the listener hears of them as lost when the workload notices).
 */
export function startRpcWorkload(sim: Simulation, options: RpcWorkloadOptions): WorkloadRecord {
  checkWorkloadMethods(options.methods);
  const record = emptyWorkloadRecord();
  const random = new SeededRandom(`${sim.seed}/workload/${options.clientHost}`);
  const resolve = options.resolve ?? ((host: string) => {
    const app = sim.app<unknown>(host);
    return isWorkloadHost(app) ? app : undefined;
  });
  const deadlineMs = options.deadlineMs ?? 1_000;
  const attempts = new AttemptTracker();
  const clients = new ClientCache(options, attempts);
  const processes = new ClientProcesses(options.listener);
  const issue = (process: ClientProcess | undefined) => {
    const host = sim.isUp(options.clientHost) ? resolve(options.clientHost) : undefined;
    processes.hostIs(host);
    if (host === undefined) {
      record.skipped++;
      return;
    }
    if (process?.outstanding !== undefined) {
      record.busy++;
      return;
    }
    const { method: named, request } = options.request(random, record.issued);
    const method = named ?? options.method;
    const target = options.methods.get(method);
    if (target === undefined) throw new InvalidArgumentError(`the workload's request names method "${method}", which no app of the scenario serves`);
    const finish = track(sim, record, method, deadlineMs);
    const cluster = clients.get(host, target);
    const callOptions: ClusterCallOptions = { deadlineMs, filter: options.filter, idempotent: options.idempotent ?? true };
    const by = process ?? processes.idle();
    const tracked = attempts.begin(request);
    const made = processes.start(by, { method, request }, host, () => attempts.end(tracked, request));
    call(cluster, target, request, callOptions).then(({ response, worker }) => {
      finish(worker, undefined);
      processes.end(by, made, { type: 'ok', response });
    }, (error: unknown) => {
      finish(undefined, error);
      processes.end(by, made, { type: failureType(error, tracked.mayHaveRun), status: error instanceof RpcError ? error.code : 'UNKNOWN' });
    });
  };
  const schedule = (atMs: number, meanGapMs: number, process: ClientProcess | undefined) => {
    if (atMs >= options.stopMs) return;
    sim.at(atMs, () => {
      issue(process);
      schedule(sim.nowMs + exponential(random, meanGapMs), meanGapMs, process);
    });
  };
  const startMs = Math.max(options.startMs, sim.nowMs);
  if (options.clients === undefined) {
    schedule(startMs, 1_000 / options.rate, undefined);
    return record;
  }
  const meanGapMs = (1_000 * options.clients) / options.rate;
  for (const process of processes.fixed(options.clients)) schedule(startMs + exponential(random, meanGapMs), meanGapMs, process);
  return record;
}

/** Counts one issued call and returns what records its end (exactly once, or counts a duplicate). */
function track(sim: Simulation, record: WorkloadRecord, method: string, deadlineMs: number): (worker: string | undefined, error: unknown) => void {
  record.issued++;
  record.pendingAtEnd++;
  const perMethod = methodRecord(record, method);
  if (perMethod !== undefined) perMethod.issued++;
  const startedAtMs = sim.nowMs;
  let ended = false;
  return (worker, error) => {
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
      if (perMethod !== undefined) perMethod.succeeded++;
      if (worker !== undefined) record.servedBy[worker] = (record.servedBy[worker] ?? 0) + 1;
      return;
    }
    const code = error instanceof RpcError ? error.code : 'UNKNOWN';
    record.failed[code] = (record.failed[code] ?? 0) + 1;
    if (perMethod !== undefined) perMethod.failed[code] = (perMethod.failed[code] ?? 0) + 1;
    if (code === 'RESOURCE_EXHAUSTED' && (error as RpcError).unprocessed) record.shed++;
  };
}

function methodRecord(record: WorkloadRecord, method: string): MethodRecord | undefined {
  const existing = record.byMethod[method];
  if (existing !== undefined || Object.keys(record.byMethod).length >= WORKLOAD_METHODS_MAX) return existing;
  return (record.byMethod[method] = { issued: 0, succeeded: 0, failed: {} });
}

/** One call of `target`: its response (a stream's last message), and the member that served it when the response names one. */
async function call(cluster: ClusterClient<MethodTable>, target: WorkloadMethod, request: unknown, options: ClusterCallOptions): Promise<{ response: unknown; worker: string | undefined }> {
  if (target.service.methods[target.method]!.kind === 'unary') {
    const response: unknown = await cluster.call(target.method as never, request as never, options);
    return { response, worker: workerOf(response) };
  }
  let worker: string | undefined;
  let response: unknown;
  const resume = target.resume;
  const stream = cluster.stream(target.method as never, request as never, resume === undefined ? options : { ...options, resume: resume as never });
  for await (const message of stream) {
    response = message;
    worker = workerOf(message) ?? worker;
  }
  return { response, worker };
}

function workerOf(response: unknown): string | undefined {
  const worker = (response as { worker?: unknown } | null | undefined)?.worker;
  return typeof worker === 'string' ? worker : undefined;
}

/** The cluster clients of the current client host instance, one per service and member filter. */
class ClientCache {
  private host: WorkloadHost | undefined;
  private readonly clients = new Map<string, ClusterClient<MethodTable>>();

  constructor(private readonly options: RpcWorkloadOptions, private readonly attempts: AttemptTracker) {}

  get(host: WorkloadHost, target: WorkloadMethod): ClusterClient<MethodTable> {
    if (this.host !== host) {
      this.host = host;
      this.clients.clear();
    }
    const key = `${target.service.name}\u0000${target.servers}`;
    let client = this.clients.get(key);
    if (client === undefined) {
      const { strategy, retries, hedgeAfterMs } = this.options;
      const shared = host.workers?.filter.expression === target.servers ? host.workers : undefined;
      const registry = shared ?? new WorkerRegistry(host.nodes, { filter: target.servers });
      client = new ClusterClient(host.env, this.attempts.wrap(host.rpc), registry, target.service, { strategy, retriesMax: retries, hedgeAfterMs, ...this.options.client });
      this.clients.set(key, client);
    }
    return client;
  }
}

/** `a` and `b` together (both must match); either may be empty. */
export function bothFilters(a: string | undefined, b: string | undefined): string {
  return [a, b].filter((f): f is string => f !== undefined && f.trim() !== '').join(',');
}
