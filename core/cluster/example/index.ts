export * from './service.ts';
export * from './worker.ts';
export * from './director.ts';
export * from './member.ts';
