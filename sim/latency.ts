import { ConfigError, standardNormal, type Random } from '../core/index.ts';

/**
 * Latency distributions for one direction of a link, as plain data (so scenario files can
 * name them). Every sample is clamped to [minMs, maxMs] (`maxMs` defaults to
 * `latencyMsCeiling`), so no message is ever delayed without bound.
 */
export type LatencySpec =
  | { kind: 'constant'; ms: number }
  | { kind: 'uniform'; minMs: number; maxMs: number }
  | { kind: 'normal'; meanMs: number; stdDevMs: number; minMs?: number; maxMs?: number }
  | { kind: 'exponential'; meanMs: number; minMs?: number; maxMs?: number }
  | { kind: 'pareto'; scaleMs: number; shape: number; maxMs?: number }
  | { kind: 'lognormal'; medianMs: number; sigma: number; minMs?: number; maxMs?: number };

/** No sample exceeds this unless a spec sets its own `maxMs`. */
export const latencyMsCeiling = 60_000;

export type LatencySampler = (random: Random) => number;

function nonNegative(field: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new ConfigError(field, `must be a finite number ≥ 0, got ${value}`);
  return value;
}

function positive(field: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(field, `must be a finite number > 0, got ${value}`);
  return value;
}

/** Validates a spec and compiles it into a fast sampler. */
export function latencySampler(spec: LatencySpec): LatencySampler {
  const clampTo = (minMs: number, maxMs: number, f: LatencySampler): LatencySampler => {
    if (maxMs < minMs) throw new ConfigError('latency.maxMs', `must be ≥ minMs (${minMs}), got ${maxMs}`);
    return (random) => {
      const x = f(random);
      return x < minMs ? minMs : x > maxMs ? maxMs : x;
    };
  };
  switch (spec.kind) {
    case 'constant': {
      const ms = nonNegative('latency.ms', spec.ms);
      return () => ms;
    }
    case 'uniform': {
      const min = nonNegative('latency.minMs', spec.minMs);
      const max = nonNegative('latency.maxMs', spec.maxMs);
      if (max < min) throw new ConfigError('latency.maxMs', `must be ≥ minMs (${min}), got ${max}`);
      const span = max - min;
      return (random) => min + random.next() * span;
    }
    case 'normal': {
      const mean = nonNegative('latency.meanMs', spec.meanMs);
      const sd = nonNegative('latency.stdDevMs', spec.stdDevMs);
      return clampTo(nonNegative('latency.minMs', spec.minMs ?? 0), spec.maxMs ?? latencyMsCeiling,
        (random) => mean + sd * standardNormal(random));
    }
    case 'exponential': {
      const mean = positive('latency.meanMs', spec.meanMs);
      const min = nonNegative('latency.minMs', spec.minMs ?? 0);
      return clampTo(min, spec.maxMs ?? latencyMsCeiling, (random) => min - mean * Math.log(1 - random.next()));
    }
    case 'pareto': {
      const scale = positive('latency.scaleMs', spec.scaleMs);
      const shape = positive('latency.shape', spec.shape);
      const inverse = -1 / shape;
      return clampTo(scale, spec.maxMs ?? latencyMsCeiling, (random) => scale * Math.pow(1 - random.next(), inverse));
    }
    case 'lognormal': {
      const mu = Math.log(positive('latency.medianMs', spec.medianMs));
      const sigma = nonNegative('latency.sigma', spec.sigma);
      return clampTo(nonNegative('latency.minMs', spec.minMs ?? 0), spec.maxMs ?? latencyMsCeiling,
        (random) => Math.exp(mu + sigma * standardNormal(random)));
    }
    default: {
      const kind = (spec as { kind?: unknown }).kind;
      throw new ConfigError('latency.kind', `unknown distribution ${JSON.stringify(kind)}; expected constant, uniform, normal, exponential, pareto or lognormal`);
    }
  }
}

/** The mean of a distribution before clamping, used to size retransmission timeouts. */
export function latencyMeanMs(spec: LatencySpec): number {
  switch (spec.kind) {
    case 'constant': return spec.ms;
    case 'uniform': return (spec.minMs + spec.maxMs) / 2;
    case 'normal': return spec.meanMs;
    case 'exponential': return (spec.minMs ?? 0) + spec.meanMs;
    case 'pareto': return spec.shape > 1 ? (spec.shape * spec.scaleMs) / (spec.shape - 1) : spec.maxMs ?? latencyMsCeiling;
    case 'lognormal': return spec.medianMs * Math.exp((spec.sigma * spec.sigma) / 2);
  }
}
