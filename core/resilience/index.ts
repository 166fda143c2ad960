export * from './errors.ts';
export * from './circuit-breaker.ts';
export * from './token-bucket.ts';
export * from './backoff.ts';
export * from './latency.ts';
export * from './admission-queue.ts';
