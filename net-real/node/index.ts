export * from './flags.ts';
export * from './admin.ts';
export * from './metrics.ts';
export * from './service.ts';
export * from './node.ts';
export * from './rpc-stats.ts';
export * from './call.ts';
