export * from './flags.ts';
export * from './admin.ts';
export * from './metrics.ts';
export * from './demux.ts';
export * from './service.ts';
export * from './node.ts';
