#!/usr/bin/env node
// The `shoal` command. It runs the TypeScript sources directly through tsx's loader, so
// there is no build step between editing the code and running it.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
