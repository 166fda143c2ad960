export * from './candidate.ts';
export * from './basic.ts';
export * from './load.ts';
export * from './weighted.ts';
export * from './rendezvous.ts';
export * from './strategy.ts';
export * from './filter.ts';
