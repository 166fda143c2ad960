// A worker thread of `shoal sweep`: registers the TypeScript loader (for the sources in
// this repository, and users' `.ts` apps), then runs scenarios from the sources when they
// sit beside bin/, else from the compiled package (see bin/shoal.js).
import { existsSync } from 'node:fs';
import { register } from 'tsx/esm/api';

register();
const fromSources = existsSync(new URL('../scenarios/sweep-worker.ts', import.meta.url));
await import(fromSources ? '../scenarios/sweep-worker.ts' : '../dist/scenarios/sweep-worker.js');
