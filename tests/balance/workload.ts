/**
 * A deterministic workload for the distribution tests and the table in docs/CLUSTER.md:
 * requests arrive as a Poisson process and go to one of three single-server FIFO workers
 * whose exponential service times differ (fast, medium, slow). Each strategy sees what a
 * real worker registry would give it: calls in flight, the peak-EWMA latency of finished
 * calls, the `capacity` tag and when each worker last finished a call.
 *
 * Print the table: npx tsx tests/balance/workload.ts [seed] [arrivalMsMean]
 */
import { pathToFileURL } from 'node:url';
import { exponential } from '../../core/index.ts';
import { createStrategy, STRATEGY_NAMES, type StrategyName } from '../../core/balance/index.ts';
import { PeakEwma } from '../../core/resilience/index.ts';
import { SeededRandom } from '../../sim/index.ts';

export interface WorkerSpec {
  readonly id: string;
  readonly serviceMsMean: number;
  readonly capacity: number;
}

export const WORKERS: readonly WorkerSpec[] = [
  { id: 'fast', serviceMsMean: 10, capacity: 4 },
  { id: 'medium', serviceMsMean: 20, capacity: 2 },
  { id: 'slow', serviceMsMean: 40, capacity: 1 },
];

export interface WorkloadOptions {
  seed?: string;
  requests?: number;
  /** Mean time between arrivals; 8 ms is about 70 % of the three workers' joint capacity. */
  arrivalMsMean?: number;
  /** Distinct affinity keys the requests carry (rendezvous uses them). */
  keys?: number;
}

export interface WorkloadResult {
  readonly strategy: StrategyName;
  /** Requests sent to each worker, in `WORKERS` order. */
  readonly counts: readonly number[];
  readonly latencyMsMean: number;
  readonly latencyMsP99: number;
  /** Requests sent to the same worker as the request before: the locality LIFO is for. */
  readonly sameAsPrevious: number;
  /** The worker each affinity key went to, per request, for affinity checks. */
  readonly keyToWorkers: ReadonlyMap<string, ReadonlySet<string>>;
}

interface Pending {
  readonly worker: number;
  readonly startedAtMs: number;
  readonly doneAtMs: number;
}

export function runWorkload(strategyName: StrategyName, options: WorkloadOptions = {}): WorkloadResult {
  const root = new SeededRandom(options.seed ?? 'balance-workload');
  const arrivals = root.fork('arrivals');
  const service = root.fork('service');
  const context = { random: root.fork('strategy'), nowMs: 0, key: undefined as string | undefined };
  const requests = options.requests ?? 1_000;
  const keys = options.keys ?? 100;
  const strategy = createStrategy(strategyName);
  const candidates = WORKERS.map((w) => ({
    id: w.id, inFlight: 0, capacity: w.capacity,
    latencyEwmaMs: undefined as number | undefined, lastReleasedAtMs: undefined as number | undefined,
  }));
  const ewmas = WORKERS.map(() => new PeakEwma({ decayMs: 1_000 }));
  const busyUntilMs = WORKERS.map(() => 0);
  const counts = WORKERS.map(() => 0);
  const latencies: number[] = [];
  const keyToWorkers = new Map<string, Set<string>>();
  let pending: Pending[] = [];
  let previous = -1;
  let sameAsPrevious = 0;

  const finishUpTo = (nowMs: number) => {
    const done = pending.filter((p) => p.doneAtMs <= nowMs).sort((a, b) => a.doneAtMs - b.doneAtMs);
    pending = pending.filter((p) => p.doneAtMs > nowMs);
    for (const p of done) {
      const candidate = candidates[p.worker]!;
      const latencyMs = p.doneAtMs - p.startedAtMs;
      candidate.inFlight--;
      candidate.lastReleasedAtMs = p.doneAtMs;
      ewmas[p.worker]!.observe(latencyMs, p.doneAtMs);
      candidate.latencyEwmaMs = ewmas[p.worker]!.value;
      latencies.push(latencyMs);
    }
  };

  let nowMs = 0;
  for (let i = 0; i < requests; i++) {
    nowMs += exponential(arrivals, options.arrivalMsMean ?? 8);
    finishUpTo(nowMs);
    context.nowMs = nowMs;
    context.key = `user-${i % keys}`;
    const chosen = strategy.select(candidates, context);
    if (chosen === undefined) throw new Error('a strategy returned nothing for a non-empty pool');
    const worker = candidates.indexOf(chosen);
    const startMs = Math.max(nowMs, busyUntilMs[worker]!);
    busyUntilMs[worker] = startMs + exponential(service, WORKERS[worker]!.serviceMsMean);
    pending.push({ worker, startedAtMs: nowMs, doneAtMs: busyUntilMs[worker]! });
    chosen.inFlight++;
    if (worker === previous) sameAsPrevious++;
    previous = worker;
    counts[worker]!++;
    const seen = keyToWorkers.get(context.key) ?? new Set<string>();
    seen.add(chosen.id);
    keyToWorkers.set(context.key, seen);
  }
  finishUpTo(Infinity);
  latencies.sort((a, b) => a - b);
  return {
    strategy: strategyName,
    counts,
    latencyMsMean: latencies.reduce((sum, x) => sum + x, 0) / latencies.length,
    latencyMsP99: latencies[Math.ceil(latencies.length * 0.99) - 1]!,
    sameAsPrevious,
    keyToWorkers,
  };
}

/** The markdown table docs/CLUSTER.md publishes. */
export function formatTable(results: readonly WorkloadResult[]): string {
  const header = `| strategy | ${WORKERS.map((w) => `${w.id} (${w.serviceMsMean} ms)`).join(' | ')} | mean latency | p99 latency | same worker as previous |`;
  const rule = `| --- | ${WORKERS.map(() => '---:').join(' | ')} | ---: | ---: | ---: |`;
  const rows = results.map((r) =>
    `| ${r.strategy} | ${r.counts.join(' | ')} | ${r.latencyMsMean.toFixed(1)} ms | ${r.latencyMsP99.toFixed(1)} ms | ${r.sameAsPrevious} |`);
  return [header, rule, ...rows].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const seed = process.argv[2] ?? 'balance-workload';
  const arrivalMsMean = Number(process.argv[3] ?? 8);
  console.log(formatTable(STRATEGY_NAMES.map((name) => runWorkload(name, { seed, arrivalMsMean }))));
}
