import { PhiAccrualDetector, type PhiModel } from '../core/phi/index.ts';

export interface PhiBenchResult {
  /** Nanoseconds per heartbeat + phi evaluation, median of the runs, per model. */
  normalNs: number;
  exponentialNs: number;
  /** Baseline measured in the same run: the same loop doing only the arithmetic of a mean update. */
  baselineNs: number;
  targetNs: 500;
  windowSize: number;
  iterations: number;
  runs: { normal: number[]; exponential: number[] };
}

function measure(model: PhiModel, iterations: number, windowSize: number): number {
  const d = new PhiAccrualDetector({ model, windowSize, firstIntervalMs: 1000 });
  let t = 0;
  let sink = 0;
  const start = performance.now();
  for (let i = 0; i < iterations; i++) {
    t += 900 + (i % 200);
    d.heartbeat(t);
    sink += d.phi(t + 500);
  }
  const ns = ((performance.now() - start) * 1e6) / iterations;
  if (sink < 0) throw new Error('unreachable: phi is never negative');
  return ns;
}

function baseline(iterations: number): number {
  let t = 0;
  let sum = 0;
  const start = performance.now();
  for (let i = 0; i < iterations; i++) {
    t += 900 + (i % 200);
    sum += t / (i + 1);
  }
  const ns = ((performance.now() - start) * 1e6) / iterations;
  if (sum < 0) throw new Error('unreachable');
  return ns;
}

export function runPhiBench(options: { runs?: number; iterations?: number; windowSize?: number } = {}): PhiBenchResult {
  const runs = options.runs ?? 5;
  const iterations = options.iterations ?? 2_000_000;
  const windowSize = options.windowSize ?? 1000;
  const normal: number[] = [];
  const exponential: number[] = [];
  const base: number[] = [];
  measure('normal', iterations / 10, windowSize);
  for (let r = 0; r < runs; r++) {
    normal.push(measure('normal', iterations, windowSize));
    exponential.push(measure('exponential', iterations, windowSize));
    base.push(baseline(iterations));
  }
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    normalNs: round(median(normal)), exponentialNs: round(median(exponential)), baselineNs: round(median(base)), targetNs: 500,
    windowSize, iterations, runs: { normal: normal.map(round), exponential: exponential.map(round) },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
