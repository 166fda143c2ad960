import { LimitExceededError, ShoalError } from '../errors.ts';

/**
 * Typed failures of the resilience pieces. The cluster client maps them onto RPC status
 * codes: `QueueFullError` and `RateLimitedError` to RESOURCE_EXHAUSTED, `QueueTimeoutError`
 * to DEADLINE_EXCEEDED, `CircuitOpenError` to UNAVAILABLE.
 */

/** The admission queue already holds `capacity` waiters: the call is shed at once. */
export class QueueFullError extends LimitExceededError {
  override readonly code: string = 'QUEUE_FULL';
  constructor(capacity: number) {
    super('admission queue', capacity, `admission queue full (capacity ${capacity})`);
  }
}

/** The call waited in the admission queue until its timeout (or deadline) without a free worker. */
export class QueueTimeoutError extends ShoalError {
  override readonly code: string = 'QUEUE_TIMEOUT';
  constructor(readonly waitedMs: number) {
    super(`timed out after waiting ${waitedMs} ms in the admission queue`);
  }
}

/** The circuit breaker is open (or its half-open probes are all taken): the call is not sent. */
export class CircuitOpenError extends ShoalError {
  override readonly code: string = 'CIRCUIT_OPEN';
  constructor(readonly target: string, readonly retryAfterMs: number) {
    super(`circuit to ${target} is open; retry in ${retryAfterMs} ms`);
  }
}

/** The token bucket is empty: the caller exceeded its configured rate. */
export class RateLimitedError extends ShoalError {
  override readonly code: string = 'RATE_LIMITED';
  constructor(readonly retryAfterMs: number) {
    super(`rate limit exceeded; a token is available in ${retryAfterMs} ms`);
  }
}
