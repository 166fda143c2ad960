import { type Candidate, createStrategy, STRATEGY_NAMES, type StrategyName } from '../core/balance/index.ts';
import { SeededRandom } from '../sim/index.ts';

export interface BalanceBenchOptions {
  /** Pool sizes to measure. */
  sizes?: readonly number[];
  /** Timed runs per (strategy, size); the median is reported. */
  runs?: number;
  /** Wall time each run aims for, which sets its iteration count. */
  runMs?: number;
}

export interface BalanceBenchRow {
  strategy: StrategyName | 'baseline-index' | 'baseline-random-draw';
  candidates: number;
  nsPerSelect: number;
  runs: number[];
  /** nsPerSelect over the index baseline's at the same size. */
  ratioToBaseline: number;
}

const KEYS = Array.from({ length: 1024 }, (_, i) => `session-${i}`);

function pool(n: number): Candidate[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `worker-${i}`, inFlight: (i * 7) % 5, latencyEwmaMs: 5 + ((i * 13) % 40),
    capacity: 1 + (i % 4), lastReleasedAtMs: (i * 31) % 1000,
  }));
}

type Select = (candidates: readonly Candidate[], context: { random: SeededRandom; nowMs: number; key: string }) => Candidate | undefined;

/** Nanoseconds per call of `select`, one run of `iterations` calls. */
function timeRun(select: Select, candidates: readonly Candidate[], iterations: number): number {
  const context = { random: new SeededRandom('bench'), nowMs: 0, key: KEYS[0]! };
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    context.key = KEYS[i & 1023]!;
    sink += select(candidates, context)!.inFlight;
  }
  const elapsedNs = Number(process.hrtime.bigint() - start);
  if (sink < 0) throw new Error('unreachable: keeps the loop from being optimised away');
  return elapsedNs / iterations;
}

function measure(select: Select, candidates: readonly Candidate[], runs: number, runMs: number): number[] {
  // Calibrate (and warm up the JIT) so each timed run lasts about runMs.
  let iterations = 1_000;
  while (timeRun(select, candidates, iterations) * iterations < runMs * 1e6 / 4 && iterations < 1e8) iterations *= 4;
  iterations = Math.max(1_000, Math.round((runMs * 1e6) / timeRun(select, candidates, iterations)));
  return Array.from({ length: runs }, () => timeRun(select, candidates, iterations));
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number) => Math.round(x * 10) / 10;

/**
 * Selection cost per strategy and pool size, in ns per `select`, median of several runs.
 * Two baselines measured in the same run: indexing the array round-robin style (the loop's
 * own cost) and one draw from the seeded generator (what every randomised strategy pays
 * at least once per call).
 */
export function runBalanceBench(options: BalanceBenchOptions = {}): Record<string, unknown> {
  const sizes = options.sizes ?? [3, 100, 1_000];
  const runs = options.runs ?? 5;
  const runMs = options.runMs ?? 50;
  const rows: BalanceBenchRow[] = [];
  for (const size of sizes) {
    const candidates = pool(size);
    let cursor = 0;
    const baselines: Array<[BalanceBenchRow['strategy'], Select]> = [
      ['baseline-index', (list) => list[cursor++ % list.length]],
      ['baseline-random-draw', (list, context) => list[Math.floor(context.random.next() * list.length)]],
    ];
    const strategies: Array<[BalanceBenchRow['strategy'], Select]> = STRATEGY_NAMES.map((name) => {
      const strategy = createStrategy(name);
      return [name, (list, context) => strategy.select(list, context)];
    });
    let baselineNs = NaN;
    for (const [strategy, select] of [...baselines, ...strategies]) {
      const samples = measure(select, candidates, runs, runMs);
      const nsPerSelect = median(samples);
      if (strategy === 'baseline-index') baselineNs = nsPerSelect;
      rows.push({ strategy, candidates: size, nsPerSelect: round(nsPerSelect), runs: samples.map(round), ratioToBaseline: round(nsPerSelect / baselineNs) });
    }
  }
  return { bench: 'balance', unit: 'ns per select', statistic: 'median', runsPerCell: runs, runMs, node: process.version, rows };
}
