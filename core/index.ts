export * from './errors.ts';
export * from './address.ts';
export * from './clock.ts';
export * from './random.ts';
export * from './transport.ts';
export * from './env.ts';
export * from './intern.ts';
export * from './timers.ts';
