import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Gauge, type Registry } from 'prom-client';
import { AppStartError, appConfig, isApp, type App, type ReportedValue, type RunningApps } from '../../core/app/index.ts';
import { directorWorkerApp, type DirectorWorkerConfigInput } from '../../examples/director-worker/index.ts';
import { NodeFlagError } from './flag-error.ts';

// The apps a real node runs (`--app MODULE [--app-config JSON]`): loaded, checked and
// configured before the node binds a port, so every mistake is one line and exit 2.

/** One app a node runs, with where it came from (named in error lines) and its raw configuration. */
export interface NodeAppPlacement {
  /** The `--app` path as given, or `built-in` for the director/worker example. */
  readonly source: string;
  readonly app: App;
  /** The raw configuration; `parseConfig` accepted it (it runs again when the app starts). */
  readonly config: unknown;
}

/** The source of the director/worker example when flags, not `--app`, ask for it. */
export const builtInAppSource = 'built-in';

/** Characters of a cause kept in a one-line start-up error. */
export const appErrorCharsMax = 400;

/** An error's message on one line (a compiler's spans several): its non-empty lines joined, bounded. */
export function oneLine(error: unknown): string {
  const message = (error as Error)?.message ?? String(error);
  const line = message.split('\n').map((part) => part.trim()).filter((part) => part.length > 0).join(' ');
  return line.length > appErrorCharsMax ? `${line.slice(0, appErrorCharsMax)}…` : line;
}

/**
 * Loads `file` (relative to `cwd`) and returns its default export if it is an app.
 * `.js`/`.mjs` load with Node; `.ts` loads where tsx is registered (this repository's
 * `bin/shoal.js`).
 */
export async function loadAppModule(file: string, cwd: string = process.cwd()): Promise<App> {
  const path = resolve(cwd, file);
  const found = await stat(path).catch(() => undefined);
  if (found === undefined) throw new NodeFlagError(`--app ${file}: no such file (${path})`);
  if (!found.isFile()) throw new NodeFlagError(`--app ${file}: not a file (${path})`);
  let module: { default?: unknown };
  try {
    module = await import(pathToFileURL(path).href) as { default?: unknown };
  } catch (error) {
    throw new NodeFlagError(`--app ${file}: cannot load: ${oneLine(error)}`);
  }
  if (!isApp(module.default)) {
    const what = module.default === undefined ? 'it has no default export' : `its default export is a ${typeof module.default}`;
    throw new NodeFlagError(`--app ${file}: not an app: ${what}; export default defineApp({ name, services, start })`);
  }
  return module.default;
}

/** `--app-config` of `file`: JSON. */
export function parseAppConfigFlag(file: string, json: string | undefined): unknown {
  if (json === undefined) return undefined;
  try {
    return JSON.parse(json) as unknown;
  } catch (error) {
    throw new NodeFlagError(`--app-config of ${file}: not JSON: ${oneLine(error)}`);
  }
}

/** Checks `raw` with the app's `parseConfig`, as the node will when it starts the app. */
function checkedPlacement(source: string, app: App, raw: unknown): NodeAppPlacement {
  try {
    appConfig(app, raw);
  } catch (error) {
    throw new NodeFlagError(`--app ${source}: ${oneLine(error)}`);
  }
  return { source, app, config: raw };
}

/**
 * The apps of `--app` (repeatable; each `--app-config`, when given, belongs to the `--app`
 * in the same position) and the director/worker example: it runs with `example` when
 * `--director`/`--worker-filter` asked for it, or when no `--app` is given (every node of
 * the tutorial runs it). Loads, checks and configures every app; throws `NodeFlagError`.
 */
export async function parseAppFlags(
  files: readonly string[], configs: readonly string[], example: DirectorWorkerConfigInput | undefined, cwd: string = process.cwd(),
): Promise<NodeAppPlacement[]> {
  if (configs.length > 0 && configs.length !== files.length) {
    throw new NodeFlagError(`${configs.length} --app-config for ${files.length} --app: give one per --app, in the same order, or none`);
  }
  const placements: NodeAppPlacement[] = [];
  if (example !== undefined || files.length === 0) placements.push(checkedPlacement(builtInAppSource, directorWorkerApp, example ?? {}));
  for (const [i, file] of files.entries()) {
    const app = await loadAppModule(file, cwd);
    const twin = placements.find((p) => p.app.name === app.name);
    if (twin !== undefined) throw new NodeFlagError(`--app ${file}: app ${app.name} is already loaded (from ${twin.source})`);
    placements.push(checkedPlacement(file, app, parseAppConfigFlag(file, configs[i])));
  }
  return placements;
}

/** An app's `start` threw on the node: one line naming its source. */
export function appStartError(placements: readonly NodeAppPlacement[], error: unknown): Error {
  if (!(error instanceof AppStartError)) return error as Error;
  const source = placements.find((p) => p.app.name === error.app)?.source ?? error.app;
  return new NodeFlagError(`--app ${source}: ${oneLine(error)}`);
}

/** The apps' reported values for `/status`: `{ app: { key: value } }`. */
export function appStatus(apps: RunningApps | undefined): Record<string, Record<string, ReportedValue>> {
  const out: Record<string, Record<string, ReportedValue>> = {};
  for (const [app, values] of apps?.reported ?? []) out[app] = Object.fromEntries(values);
  return out;
}

/** `shoal_app_value{app,key}`: the apps' numeric reported values (a boolean as 0 or 1), read at scrape time. */
export function exportAppValues(registry: Registry, apps: () => RunningApps | undefined): void {
  new Gauge({
    name: 'shoal_app_value', help: 'Values the node\'s apps reported (node.report): numbers, and booleans as 0 or 1; the latest of each key.',
    labelNames: ['app', 'key'], registers: [registry],
    collect() {
      this.reset();
      for (const [app, values] of apps()?.reported ?? []) {
        for (const [key, value] of values) {
          if (typeof value === 'number') this.set({ app, key }, value);
          else if (typeof value === 'boolean') this.set({ app, key }, value ? 1 : 0);
        }
      }
    },
  });
}
