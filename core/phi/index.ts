export * from './phi.ts';
export * from './detector.ts';
