#!/usr/bin/env node
// The `shoal` command. In this repository, where the TypeScript sources sit beside this
// file, it runs them directly through tsx's loader: no build step between editing the code
// and running it. An installed package ships no sources, only the compiled JavaScript in
// dist/, and runs that. Either way tsx's loader is registered, so the user's own `.ts`
// modules (apps named by a scenario's `cluster.apps` or `shoal node --app`) load too.
import { existsSync } from 'node:fs';
import { register } from 'tsx/esm/api';

register();
const fromSources = existsSync(new URL('./cli.ts', import.meta.url));
const { main } = await import(fromSources ? './cli.ts' : '../dist/bin/cli.js');
process.exitCode = await main(process.argv.slice(2));
