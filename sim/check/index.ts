export * from './fault-schedule.ts';
export * from './arbitraries.ts';
export * from './check-app.ts';
