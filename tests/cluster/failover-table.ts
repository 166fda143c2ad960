/**
 * The failover and hedging table of docs/CLUSTER.md: 3 workers running the director/worker
 * app, one client issuing 200 idempotent `compute` calls per second for 5 s (service time
 * uniform in 5–15 ms, deadline 1 000 ms, round robin) through `startWorkload`, with w0
 * crashing at 2 s or answering 200 ms late, under several client settings. The simulator
 * is deterministic: the same seed prints the same table.
 *
 * Print the table: npx tsx tests/cluster/failover-table.ts [seed]
 */
import { pathToFileURL } from 'node:url';
import { Simulation } from '../../sim/index.ts';
import { buildCluster, startWorkload, type ClusterNode, type WorkloadOptions, type WorkloadRecord } from '../../sim/hosts/cluster.ts';

const WORKERS = 3;
const RATE_PER_SEC = 200;
const DURATION_MS = 5_000;
const DEADLINE_MS = 1_000;
/** When w0 crashes, from the start of the calls. */
const CRASH_AT_MS = 2_000;
/** How much later w0's answers reach the client when it is slow. */
const SLOW_BY_MS = 200;

export interface FailoverRun {
  readonly label: string;
  /** What happens to w0, `at` ms after the calls start. */
  readonly fault: 'none' | 'crash' | 'slow';
  readonly client: Partial<WorkloadOptions>;
}

export const RUNS: readonly FailoverRun[] = [
  { label: 'no faults', fault: 'none', client: {} },
  { label: 'w0 crashes at 2 s, retries 0', fault: 'crash', client: { retries: 0 } },
  { label: 'w0 crashes at 2 s, retries 3', fault: 'crash', client: { retries: 3 } },
  { label: 'w0 crashes at 2 s, retries 3, attempt timeout 100 ms', fault: 'crash', client: { retries: 3, client: { attemptTimeoutMs: 100 } } },
  { label: 'w0 200 ms slower, no hedging', fault: 'slow', client: {} },
  { label: 'w0 200 ms slower, hedge after 30 ms', fault: 'slow', client: { hedgeAfterMs: 30 } },
  { label: 'w0 200 ms slower, hedge after p95', fault: 'slow', client: { hedgeAfterMs: 'p95' } },
];

/** Runs one row: a fresh cluster from `seed`, converged, then the calls and the fault. */
export async function runFailover(run: FailoverRun, seed: number): Promise<WorkloadRecord> {
  const sim = new Simulation({ seed });
  buildCluster(sim, { workers: WORKERS });
  const client = () => sim.app<ClusterNode>('client');
  const converged = await sim.runUntilConditionAsync(() => client()?.workers.pool().length === WORKERS, 20_000);
  if (!converged) throw new Error(`seed ${seed}: the client did not see ${WORKERS} workers within 20 s`);
  const t0 = sim.nowMs;
  if (run.fault === 'crash') sim.at(t0 + CRASH_AT_MS, () => sim.crash('w0'));
  if (run.fault === 'slow') sim.setLink('w0', 'client', { latency: { kind: 'constant', ms: SLOW_BY_MS } });
  const record = startWorkload(sim, {
    clientHost: 'client', rate: RATE_PER_SEC, startMs: t0, stopMs: t0 + DURATION_MS, deadlineMs: DEADLINE_MS, strategy: 'round-robin',
    serviceTime: (random) => 5 + random.next() * 10, ...run.client,
  });
  await sim.runUntilAsync(t0 + DURATION_MS + DEADLINE_MS + 100);
  return record;
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

/** One markdown row of the table. */
export function formatRow(label: string, record: WorkloadRecord): string {
  const sorted = [...record.latenciesMs].sort((a, b) => a - b);
  const failed = Object.entries(record.failed).map(([code, n]) => `${n} ${code}`).join(', ') || '—';
  return `| ${label} | ${record.issued} | ${record.succeeded} | ${failed} | ${percentile(sorted, 0.5).toFixed(1)} | ${percentile(sorted, 0.99).toFixed(1)} | ${record.pendingAtEnd} | ${record.duplicated} |`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const seed = Number(process.argv[2] ?? 7);
  console.log('| run | issued | succeeded | failed | p50 | p99 | pending | duplicated |');
  console.log('| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |');
  for (const run of RUNS) console.log(formatRow(run.label, await runFailover(run, seed)));
}
