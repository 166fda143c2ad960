export { default as directorWorkerApp } from './app.ts';
export * from './config.ts';
export * from './service.ts';
export * from './worker.ts';
export * from './director.ts';
export * from './client.ts';
