export * from './errors.ts';
export * from './stream-mux.ts';
export * from './member-rpc.ts';
export * from './node-registry.ts';
export * from './worker-registry.ts';
export * from './latency-sample.ts';
export * from './cluster-client.ts';
