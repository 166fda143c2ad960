import { parseTagFilter, type Candidate, type TagFilter } from '../balance/index.ts';
import { CircuitBreaker, PeakEwma, type CircuitBreakerOptions, type CircuitState } from '../resilience/index.ts';
import type { Tags } from '../swim/index.ts';
import type { NodeInfo, NodeRegistry } from './node-registry.ts';

/** Workers tracked at most; beyond it new members are ignored (and counted), never stored. */
export const WORKERS_MAX = 4_096;

export interface WorkerRegistryOptions {
  /** Tag expression a member must match to be a worker. @default 'role=worker' */
  filter?: string;
  /** Per-worker circuit breaker settings. @default CircuitBreaker's defaults */
  breaker?: CircuitBreakerOptions;
  /** Decay of each worker's peak-EWMA latency. @default 10_000 */
  latencyDecayMs?: number;
}

/**
 * One worker as the cluster client tracks it; also a balance `Candidate`, so strategies
 * read its load figures directly. Mutable, owned by the registry and the client.
 */
export class Worker implements Candidate {
  inFlight = 0;
  latencyEwmaMs: number | undefined = undefined;
  capacity: number | undefined;
  lastReleasedAtMs: number | undefined = undefined;
  address: string;
  tags: Tags;
  incarnation: number;
  /** In the pool: alive and matching. A worker that fails leaves at once. */
  live = true;
  breaker: CircuitBreaker;
  /** Successful calls, for load-spread checks. */
  served = 0;
  private readonly latency: PeakEwma;

  constructor(readonly id: string, node: NodeInfo, private readonly breakerOptions: CircuitBreakerOptions | undefined, latencyDecayMs: number) {
    this.address = node.address;
    this.tags = node.tags;
    this.incarnation = node.incarnation;
    this.capacity = capacityOf(node.tags);
    this.breaker = new CircuitBreaker(breakerOptions);
    this.latency = new PeakEwma({ decayMs: latencyDecayMs });
  }

  circuit(nowMs: number): CircuitState {
    return this.breaker.state(nowMs);
  }

  observeLatency(latencyMs: number, nowMs: number): void {
    this.latency.observe(latencyMs, nowMs);
    this.latencyEwmaMs = this.latency.valueAt(nowMs);
  }

  /** Back from failure: a fresh process, so its old circuit and latency say nothing. */
  revive(): void {
    this.breaker = new CircuitBreaker(this.breakerOptions);
  }
}

function capacityOf(tags: Tags): number | undefined {
  const raw = tags['capacity'];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

/**
 * Members that match a tag filter (`role=worker`, `role=worker,zone=eu`, `gpu=true`), each
 * with its in-flight calls, latency EWMA and circuit. Kept current from membership events:
 * a member that fails or leaves is out of the pool at once (and `onLost` listeners hear of
 * it, so calls running on it can fail over); one that is alive again returns with a fresh
 * circuit. Suspect members stay out of the pool until they refute.
 */
export class WorkerRegistry {
  readonly filter: TagFilter;
  /** Members ignored because `WORKERS_MAX` was reached. */
  ignored = 0;
  private readonly workers = new Map<string, Worker>();
  private livePool: Worker[] = [];
  private readonly lostListeners = new Set<(worker: Worker) => void>();
  private readonly latencyDecayMs: number;

  constructor(private readonly nodes: NodeRegistry, private readonly options: WorkerRegistryOptions = {}) {
    this.filter = parseTagFilter(options.filter ?? 'role=worker');
    this.latencyDecayMs = options.latencyDecayMs ?? 10_000;
    nodes.subscribe(() => this.refresh());
    this.refresh();
  }

  /** Live workers, optionally narrowed by a further filter. The array is shared: do not mutate. */
  pool(narrow?: TagFilter): readonly Worker[] {
    if (narrow === undefined || narrow.clauses.length === 0) return this.livePool;
    return this.livePool.filter((worker) => narrow.matches(worker.tags));
  }

  /** Every worker ever seen, live or not. */
  all(): Worker[] {
    return [...this.workers.values()];
  }

  worker(name: string): Worker | undefined {
    return this.workers.get(name);
  }

  /** Called when a live worker leaves the pool (failed, left, suspect or no longer matching). */
  onLost(listener: (worker: Worker) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  /** Re-reads membership; runs on every membership event. */
  refresh(): void {
    const seen = new Set<string>();
    const lost: Worker[] = [];
    for (const node of this.nodes.nodes()) {
      if (!this.filter.matches(node.tags)) continue;
      seen.add(node.name);
      const live = node.state === 'alive';
      let worker = this.workers.get(node.name);
      if (worker === undefined) {
        if (!live) continue;
        if (this.workers.size >= WORKERS_MAX) {
          this.ignored++;
          continue;
        }
        worker = new Worker(node.name, node, this.options.breaker, this.latencyDecayMs);
        this.workers.set(node.name, worker);
      }
      if (worker.live && !live) lost.push(worker);
      if (!worker.live && live) worker.revive();
      worker.live = live;
      worker.address = node.address;
      worker.tags = node.tags;
      worker.incarnation = node.incarnation;
      worker.capacity = capacityOf(node.tags);
    }
    for (const worker of this.workers.values()) {
      if (!seen.has(worker.id) && worker.live) {
        worker.live = false;
        lost.push(worker);
      }
    }
    // Sorted by name so strategies see a stable order whatever the membership order.
    this.livePool = [...this.workers.values()].filter((w) => w.live).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const worker of lost) for (const listener of this.lostListeners) listener(worker);
  }
}
