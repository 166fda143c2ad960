import type { RunReport } from '../runner.ts';

/**
 * The figures a run measured, kept per seed by a sweep so a sweep can show their
 * distributions: how long detection and convergence took, and the workload's latency.
 */
export interface RunFigures {
  /** Per crash: ms from the crash until the first member declared it failed. */
  detectionFirstMs: number[];
  /** Per crash: ms until every running member had (absent when some never did). */
  detectionAllMs: number[];
  /** Per `converge-within`: ms from its `after` until every view agreed. */
  convergenceMs: number[];
  /** The workload's calls, when the scenario has one. */
  rpc?: { calls: number; successRatio: number; p50Ms: number; p90Ms: number; p99Ms: number };
}

/** The value at quantile `p` (0..1) of ascending `sorted` (nearest rank), NaN when empty. */
export function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

const round = (ms: number) => Math.round(ms * 1_000) / 1_000;

export function runFigures(report: Pick<RunReport, 'membership' | 'expectations' | 'rpc'>): RunFigures {
  const figures: RunFigures = {
    detectionFirstMs: report.membership.detection.flatMap((d) => (d.firstMs === undefined ? [] : [round(d.firstMs)])),
    detectionAllMs: report.membership.detection.flatMap((d) => (d.allMs === undefined ? [] : [round(d.allMs)])),
    convergenceMs: report.expectations.flatMap((e) => (e.measuredMs === undefined ? [] : [round(e.measuredMs)])),
  };
  const rpc = report.rpc;
  if (rpc !== undefined && rpc.issued > 0) {
    const sorted = [...rpc.latenciesMs].sort((a, b) => a - b);
    figures.rpc = {
      calls: rpc.issued, successRatio: round(rpc.succeeded / rpc.issued),
      p50Ms: round(quantile(sorted, 0.5)), p90Ms: round(quantile(sorted, 0.9)), p99Ms: round(quantile(sorted, 0.99)),
    };
  }
  return figures;
}
