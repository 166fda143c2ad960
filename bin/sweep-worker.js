// A worker thread of `shoal sweep`: registers the TypeScript loader, then runs scenarios.
import { register } from 'tsx/esm/api';

register();
await import('../scenarios/sweep-worker.ts');
