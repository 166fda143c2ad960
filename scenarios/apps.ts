import { existsSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidArgumentError } from '../core/errors.ts';
import type { Random } from '../core/random.ts';
import { appConfig, isApp, type App, type AppPlacement, type WorkloadItem } from '../core/app/index.ts';
import { oneLine } from '../net-real/node/apps.ts';

export { oneLine };
import { parseTagFilter, type TagFilter } from '../core/balance/index.ts';
import type { Tags } from '../core/swim/index.ts';
import directorWorkerApp from '../examples/director-worker/app.ts';
import { loadCheckers, missingCheckers, type UserChecker } from './checkers.ts';
import type { OperationOf } from './history.ts';
import type { Scenario } from './schema.ts';
import { checkScenarioWorkload } from './workload.ts';

/**
 * A scenario's apps (`cluster.apps`): modules loaded before the simulation is built (an
 * import is asynchronous, a host factory is not), each placed on the members whose tags
 * match its `on` filter; and its checker modules (`expect: - check: FILE`), loaded with
 * them. Scenarios written before apps existed keep working: `services:
 * [director-worker]`, or a `compute`/`tokens` workload without apps, place the
 * director/worker example on every member.
 */

/** A workload generator an app module exports: the request of the `index`-th call, or `{ method, request }`. */
export type WorkloadGenerator = (random: Random, index: number) => WorkloadItem;

/** One loaded app module. */
export interface AppModule {
  /** The module as the scenario names it (relative to the working directory when it is a file). */
  readonly module: string;
  readonly app: App;
  /** The module's `workload` export, if it has one. */
  readonly workload: WorkloadGenerator | undefined;
  /** The module's `operation` export (a call as a history's operation), if it has one. */
  readonly operation?: OperationOf | undefined;
}

/** One `cluster.apps` entry, loaded and checked. */
export interface ScenarioAppPlacement {
  readonly module: AppModule;
  /** The tag filter of the members that run it; `''` is every member. */
  readonly on: string;
  readonly filter: TagFilter;
  readonly config: unknown;
}

/** What a scenario's members run, ready for the host factories, and the checkers its expectations name. */
export interface ScenarioApps {
  readonly placements: readonly ScenarioAppPlacement[];
  /** The `check` expectations' modules, by the path as the scenario writes it. @default none */
  readonly checkers?: ReadonlyMap<string, UserChecker>;
}

/** An app of a scenario that cannot be loaded, configured or started: one line naming the module and the cause. */
export class AppModuleError extends InvalidArgumentError {
  override readonly code: string = 'APP_MODULE_INVALID';
  constructor(readonly module: string, reason: string, options?: { cause?: unknown }) {
    super(`${module}: ${reason}`, options);
  }
}

/** The name the built-in example goes by in `services` and in errors. */
export const directorWorkerModule = 'director-worker (built in)';

const directorWorker: AppModule = { module: directorWorkerModule, app: directorWorkerApp, workload: undefined };

/**
 * Loads a scenario's app modules (paths relative to `file`, the scenario file), checks
 * each default export, `workload` and `operation` export, `on` filter and configuration,
 * and adds the director/worker example where older scenarios expect it; checks that the
 * workload calls a method they serve; loads the checker modules its expectations name.
 * Throws `AppModuleError` or `CheckerModuleError`, or `InvalidArgumentError` for the workload.
 */
export async function loadScenarioApps(scenario: Scenario, file: string): Promise<ScenarioApps> {
  const modules = new Map<string, Promise<AppModule>>();
  const placements: ScenarioAppPlacement[] = [];
  for (const [index, entry] of scenario.cluster.apps.entries()) {
    const path = isAbsolute(entry.module) ? entry.module : resolve(dirname(file), entry.module);
    const name = `cluster.apps[${index}] ${relative(process.cwd(), path) || path}`;
    if (!modules.has(path)) modules.set(path, importAppModule(path, name));
    placements.push(place(await modules.get(path)!, entry.on, entry.config, name));
  }
  const apps = scenarioApps(scenario, placements, await loadCheckers(scenario, file));
  checkScenarioWorkload(scenario, apps);
  return apps;
}

/**
 * The apps of a scenario whose `cluster.apps` was loaded into `placements` (none: the
 * scenario has no apps of its own), with the director/worker example added on every member
 * when the scenario lists it in `services`, or has a `compute`/`tokens` workload that no
 * placed app serves; and the checkers of its `check` expectations, loaded into `checkers`.
 */
export function scenarioApps(scenario: Scenario, placements: readonly ScenarioAppPlacement[] = [], checkers: ReadonlyMap<string, UserChecker> = new Map()): ScenarioApps {
  if (placements.length < scenario.cluster.apps.length) {
    throw new InvalidArgumentError(`scenario ${scenario.name} has cluster.apps: load them with loadScenarioApps before building it`);
  }
  const missing = missingCheckers(scenario, checkers);
  if (missing.length > 0) throw new InvalidArgumentError(`scenario ${scenario.name} has check expectations (${missing.join(', ')}): load them with loadScenarioApps before building it`);
  const method = scenario.workload?.method;
  const examplePlaced = placements.some((p) => p.module.app.name === directorWorkerApp.name);
  const workerServed = placements.some((p) => p.module.app.services.some((s) => s.name === 'cluster.worker.v1'));
  const wantsExample = scenario.cluster.services.includes('director-worker') || ((method === 'compute' || method === 'tokens') && !workerServed);
  const withChecks = checkers.size > 0 ? { checkers } : {};
  if (!wantsExample || examplePlaced) return { placements, ...withChecks };
  return { placements: [...placements, place(directorWorker, undefined, { workerFilter: 'role=worker' }, directorWorkerModule)], ...withChecks };
}

/** Loaded apps for a changed version of their scenario (a shrunk one): the example is placed again only if the new one expects it. */
export function appsForChangedScenario(scenario: Scenario, apps: ScenarioApps): ScenarioApps {
  return scenarioApps(scenario, apps.placements.filter((p) => p.module !== directorWorker), apps.checkers);
}

/** The apps a member with `tags` starts, in scenario order. */
export function placementsFor(apps: ScenarioApps, tags: Tags): AppPlacement[] {
  return apps.placements.filter((p) => p.filter.matches(tags)).map((p) => ({ app: p.module.app, config: p.config }));
}

/** The module that placed the app named `app` (for errors raised when it starts). */
export function moduleOfApp(apps: ScenarioApps, app: string): string | undefined {
  return apps.placements.find((p) => p.module.app.name === app)?.module.module;
}

async function importAppModule(path: string, name: string): Promise<AppModule> {
  if (!existsSync(path)) throw new AppModuleError(name, 'cannot load the app: no such file');
  let exports: Record<string, unknown>;
  try {
    exports = await import(pathToFileURL(path).href) as Record<string, unknown>;
  } catch (error) {
    throw new AppModuleError(name, `cannot load the app: ${oneLine(error)}`, { cause: error });
  }
  const app = exports.default;
  if (!isApp(app)) {
    throw new AppModuleError(name, `the default export is not an app (${app === undefined ? 'there is none' : `it is ${describe(app)}`}): write \`export default defineApp({ name, services, start })\``);
  }
  const workload = exports.workload;
  if (workload !== undefined && typeof workload !== 'function') {
    throw new AppModuleError(name, `the \`workload\` export must be a function (random, i) returning the i-th request, got ${describe(workload)}`);
  }
  const operation = exports.operation;
  if (operation !== undefined && typeof operation !== 'function') {
    throw new AppModuleError(name, `the \`operation\` export must be a function ({ method, request, response? }) returning { f, key?, value } or undefined, got ${describe(operation)}`);
  }
  return { module: name, app, workload: workload as WorkloadGenerator | undefined, operation: operation as OperationOf | undefined };
}

function place(module: AppModule, on: string | undefined, config: unknown, name: string): ScenarioAppPlacement {
  let filter: TagFilter;
  try {
    filter = parseTagFilter(on ?? '');
  } catch (error) {
    throw new AppModuleError(name, `on: ${oneLine(error)}`, { cause: error });
  }
  try {
    appConfig(module.app, config);
  } catch (error) {
    throw new AppModuleError(name, oneLine(error), { cause: error });
  }
  return { module, on: on ?? '', filter, config };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object without kind "shoal.app"';
  return `${typeof value} ${JSON.stringify(value)}`;
}
