import { ConfigError } from '../errors.ts';

/**
 * Phi-accrual failure detection (Hayashibara et al. 2004): instead of a yes/no verdict,
 * a suspicion level φ = −log10(1 − F(t − t_last)) where F is the distribution of the
 * inter-arrival times of heartbeats seen so far. φ = 1 means a 10 % chance that a
 * heartbeat this late is still normal, φ = 8 one in 10^8.
 */

/** Which distribution models the inter-arrival times. */
export type PhiModel = 'normal' | 'exponential';

export interface PhiOptions {
  /**
   * `normal` (Akka: mean and standard deviation, logistic approximation of the normal CDF)
   * or `exponential` (Cassandra: only the mean, φ grows linearly with silence).
   * @default 'normal'
   */
  model?: PhiModel;
  /** Inter-arrival samples kept; older ones are forgotten. @default 1000 (Akka, Cassandra) */
  windowSize?: number;
  /** Floor on the standard deviation, so a perfectly regular history does not make φ explode on the first jitter. @default 100 (Akka) */
  minStdDevMs?: number;
  /** Added to the mean: a pause this long is considered normal (GC, a busy event loop). @default 0 (Akka uses 3 000 with 1 s heartbeats) */
  acceptablePauseMs?: number;
  /** φ at or above which `isAvailable` says false. @default 8 (Akka, Cassandra) */
  threshold?: number;
  /**
   * The expected interval before any sample exists: the history starts with mean =
   * this and standard deviation = this / 4 (Akka's bootstrap).
   * @default 1000
   */
  firstIntervalMs?: number;
}

/** log10(e): φ = −log10(1 − F) = −ln(1 − F) × log10(e). */
const log10e = Math.LOG10E;

/**
 * φ for the normal model, with Akka's logistic approximation of the normal CDF:
 * F(y) ≈ 1 / (1 + e^(−y(1.5976 + 0.070566 y²))), y = (elapsed − mean) / stdDev.
 */
export function phiNormal(elapsedMs: number, meanMs: number, stdDevMs: number): number {
  const y = (elapsedMs - meanMs) / stdDevMs;
  const z = y * (1.5976 + 0.070566 * y * y);
  // Tail: −log10(e^(−z) / (1 + e^(−z))) = z·log10(e) + log10(1 + e^(−z)), finite for any z.
  if (z > 0) return z * log10e + Math.log10(1 + Math.exp(-z));
  return -Math.log10(1 - 1 / (1 + Math.exp(-z)));
}

/** φ for the exponential model (Cassandra): −log10(e^(−t/mean)) = (t / mean) × log10(e). */
export function phiExponential(elapsedMs: number, meanMs: number): number {
  if (elapsedMs <= 0) return 0;
  return (elapsedMs / meanMs) * log10e;
}

/** Population variance from running sums, clamped at 0 against rounding. */
export function varianceOf(count: number, sum: number, sumOfSquares: number): number {
  if (count === 0) return 0;
  const mean = sum / count;
  return Math.max(0, sumOfSquares / count - mean * mean);
}

interface ResolvedPhiOptions {
  readonly model: PhiModel;
  readonly windowSize: number;
  readonly minStdDevMs: number;
  readonly acceptablePauseMs: number;
  readonly threshold: number;
  readonly firstIntervalMs: number;
}

/** Largest accepted history: bounds memory per monitored peer. */
export const phiWindowSizeMax = 100_000;

export function resolvePhiOptions(options: PhiOptions = {}): ResolvedPhiOptions {
  const resolved = {
    model: options.model ?? 'normal',
    windowSize: options.windowSize ?? 1000,
    minStdDevMs: options.minStdDevMs ?? 100,
    acceptablePauseMs: options.acceptablePauseMs ?? 0,
    threshold: options.threshold ?? 8,
    firstIntervalMs: options.firstIntervalMs ?? 1000,
  };
  if (resolved.model !== 'normal' && resolved.model !== 'exponential') {
    throw new ConfigError('phi.model', `must be 'normal' or 'exponential', got ${String(resolved.model)}`);
  }
  if (!Number.isInteger(resolved.windowSize) || resolved.windowSize < 1 || resolved.windowSize > phiWindowSizeMax) {
    throw new ConfigError('phi.windowSize', `must be an integer in 1..${phiWindowSizeMax}, got ${resolved.windowSize}`);
  }
  for (const field of ['minStdDevMs', 'firstIntervalMs', 'threshold'] as const) {
    if (!(resolved[field] > 0) || !Number.isFinite(resolved[field])) throw new ConfigError(`phi.${field}`, `must be a finite number > 0, got ${resolved[field]}`);
  }
  if (!(resolved.acceptablePauseMs >= 0) || !Number.isFinite(resolved.acceptablePauseMs)) {
    throw new ConfigError('phi.acceptablePauseMs', `must be a finite number ≥ 0, got ${resolved.acceptablePauseMs}`);
  }
  return resolved;
}
