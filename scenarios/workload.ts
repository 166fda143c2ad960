import { InvalidArgumentError } from '../core/errors.ts';
import type { WorkloadItem } from '../core/app/index.ts';
import { directorWorkerRequest, directorWorkerResume } from '../sim/hosts/cluster.ts';
import {
  bothFilters, checkWorkloadMethods, startRpcWorkload, type WorkloadListener, type WorkloadMethod, type WorkloadRecord, type WorkloadRequest,
} from '../sim/hosts/workload.ts';
import { latencySampler, type Simulation } from '../sim/index.ts';
import { SeededRandom } from '../sim/random.ts';
import type { ScenarioApps, WorkloadGenerator } from './apps.ts';
import type { OperationMapping } from './history.ts';
import type { Scenario, Workload } from './schema.ts';

/**
 * A scenario's workload over its apps: `workload.method` names `service/method` of a
 * placed app (`compute` and `tokens` are the director/worker example's), called on the
 * members the app is placed on. Request bodies come from the module's `workload` export,
 * from the example's own defaults for `compute` and `tokens`, or are `{}`.
 */

/** The example's short names, from before apps. */
const aliases: Readonly<Record<string, string>> = { compute: 'cluster.worker.v1/compute', tokens: 'cluster.worker.v1/tokens' };

/** The filter of `compute` and `tokens` calls when the scenario gives none: the example's workers. */
const exampleFilter = 'role=worker';

interface Callable extends WorkloadMethod {
  /** The app module's workload generator, if it has one. */
  readonly generator: WorkloadGenerator | undefined;
  /** The app module's mapping of calls to a history's operations, if it has one. */
  readonly operation: OperationMapping | undefined;
}

/** `compute`/`tokens` as the example's full method names; anything else as written. */
export function workloadMethodName(method: string): string {
  return aliases[method] ?? method;
}

/**
 * Every method of every placed app, as the workload calls it: on the members matching
 * the app's `on` filter (and the workload's `filter`). A service placed by entries with
 * different `on` filters is ambiguous (the workload could not tell which members serve
 * it) and left out, named in `ambiguous`.
 */
export function callableMethods(apps: ScenarioApps, workload: Workload): { methods: Map<string, Callable>; ambiguous: Set<string> } {
  const methods = new Map<string, Callable>();
  const ambiguous = new Set<string>();
  const filter = workload.filter ?? (workload.method in aliases ? exampleFilter : undefined);
  for (const placement of apps.placements) {
    for (const service of placement.module.app.services) {
      for (const method of Object.keys(service.methods)) {
        const name = `${service.name}/${method}`;
        const servers = bothFilters(placement.on, filter);
        const known = methods.get(name);
        if (known !== undefined && known.servers !== servers) ambiguous.add(name);
        if (known !== undefined) continue;
        const resume = directorWorkerResume(name);
        const { workload: generator, operation: operationOf, module } = placement.module;
        const operation = operationOf === undefined ? undefined : { operationOf, module };
        methods.set(name, { service, method, servers, generator, operation, ...(resume ? { resume } : {}) });
      }
    }
  }
  for (const name of ambiguous) methods.delete(name);
  return { methods, ambiguous };
}

/** Checks that the scenario's workload calls a method its apps serve; throws `InvalidArgumentError` saying what is wrong. */
export function checkScenarioWorkload(scenario: Scenario, apps: ScenarioApps): void {
  const workload = scenario.workload;
  if (workload === undefined) return;
  const { methods, ambiguous } = callableMethods(apps, workload);
  const name = workloadMethodName(workload.method);
  if (ambiguous.has(name)) throw new InvalidArgumentError(`workload.method ${name}: cluster.apps places its service with different \`on\` filters; place it once`);
  if (!methods.has(name)) {
    const served = [...new Set([...methods.values()].map((m) => m.service.name))];
    throw new InvalidArgumentError(`workload.method ${name}: no app of the scenario serves it (served: ${served.join(', ') || 'none'})`);
  }
  checkWorkloadMethods(new Map([[name, methods.get(name)!]]));
}

/** The module mapping each callable method's calls to a history's operations (the methods of modules with an `operation` export). */
export function operationMappings(apps: ScenarioApps, workload: Workload): Map<string, OperationMapping> {
  const mappings = new Map<string, OperationMapping>();
  for (const [name, callable] of callableMethods(apps, workload).methods) if (callable.operation !== undefined) mappings.set(name, callable.operation);
  return mappings;
}

/** Starts the scenario's workload (see `startRpcWorkload`); `listener` hears of every call (the run's history). */
export function startScenarioWorkload(sim: Simulation, scenario: Scenario, apps: ScenarioApps, listener?: WorkloadListener): WorkloadRecord {
  const workload = scenario.workload!;
  checkScenarioWorkload(scenario, apps);
  const { methods } = callableMethods(apps, workload);
  const method = workloadMethodName(workload.method);
  const serviceTime = latencySampler(workload.serviceTime);
  const generator = methods.get(method)!.generator;
  const requests = new SeededRandom(`${sim.seed}/workload/${workload.client}/requests`);
  return startRpcWorkload(sim, {
    clientHost: workload.client,
    rate: workload.rate,
    methods,
    method,
    request: generator !== undefined
      ? (_random, index) => workloadRequest(generator(requests, index))
      : (random, index) => ({ request: directorWorkerRequest(method, random, index, serviceTime) ?? {} }),
    strategy: workload.strategy,
    filter: workload.filter ?? (workload.method in aliases ? exampleFilter : undefined),
    idempotent: workload.idempotent,
    deadlineMs: workload.deadline,
    retries: workload.retries,
    ...(workload.hedgeAfter !== undefined ? { hedgeAfterMs: workload.hedgeAfter } : {}),
    ...(workload.admission !== undefined ? { client: { admission: { capacity: workload.admission.capacity, timeoutMs: workload.admission.timeout }, inFlightPerWorkerMax: workload.admission.inFlightPerWorker } } : {}),
    startMs: workload.start,
    // Calls stop early enough that every one can reach its outcome before the run ends.
    stopMs: workload.stop ?? Math.max(workload.start, scenario.duration - workload.deadline - 1_000),
    ...(workload.clients !== undefined ? { clients: workload.clients } : {}),
    ...(listener !== undefined ? { listener } : {}),
  });
}

/** A generator's item: `{ method, request }` names its method (short names allowed); anything else is the request. */
function workloadRequest(item: WorkloadItem): WorkloadRequest {
  if (typeof item === 'object' && item !== null && typeof (item as { method?: unknown }).method === 'string' && Object.hasOwn(item, 'request')) {
    const { method, request } = item as { method: string; request: unknown };
    return { method: workloadMethodName(method), request };
  }
  return { request: item };
}
