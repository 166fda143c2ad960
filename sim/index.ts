export * from './simulation.ts';
export * from './network.ts';
export * from './latency.ts';
export * from './trace.ts';
export * from './queue.ts';
export * from './random.ts';
export * from './clock.ts';
export * from './determinism.ts';
