import { ConfigError } from '../errors.ts';

/** Option checks shared by the resilience pieces; each names the option it refuses. */

export function requireFinite(field: string, value: number, min: number): number {
  if (!Number.isFinite(value) || value < min) throw new ConfigError(field, `must be a finite number ≥ ${min}, got ${value}`);
  return value;
}

export function requirePositive(field: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(field, `must be a finite number > 0, got ${value}`);
  return value;
}

export function requireInteger(field: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) throw new ConfigError(field, `must be an integer ≥ ${min}, got ${value}`);
  return value;
}
