/**
 * `shoal/sim`: the deterministic simulator and the scenario runner. One seed makes every
 * decision of a run (latency, loss, timers' order, the apps' `random`), so a run is
 * reproduced exactly from its seed.
 *
 * - `Simulation`: a builder with a seed and options, `host(name, factory)`, faults
 *   (`crash`, `restart`, `partition`, `repair`, `hold`, `release`, `isolate`, per-link
 *   latency and loss, clock skew) and a virtual clock that jumps from event to event
 *   (`runUntil`, `runUntilAsync` for promise-based code such as RPC).
 * - Hosts: `appHost` / `buildAppCluster` run apps (`defineApp` from `shoal`) on SWIM
 *   members with RPC on each member's one address; `swimHost` / `buildSwimCluster` run bare
 *   SWIM members.
 * - Scenarios: `loadScenarioFile` (or `parseScenario`), `loadScenarioApps` (imports the
 *   modules of `cluster.apps`, relative to the scenario file) and `runScenario(scenario,
 *   { apps })` do what `shoal run FILE` does and return its report; `formatReport` prints
 *   it as the command does.
 *
 * @example
 * ```ts
 * import { Simulation, buildAppCluster } from 'shoal/sim';
 * import app from './my-app.ts';
 *
 * const sim = new Simulation({ seed: 1 });
 * const cluster = buildAppCluster(sim, { nodes: ['a', 'b', 'c'], apps: [{ app }] });
 * sim.at(2_000, () => sim.partition(['a'], ['b', 'c']));
 * sim.at(6_000, () => sim.repair());
 * await sim.runUntilAsync(10_000);
 * console.log(cluster.reported('a', app.name));
 * ```
 */

// The simulator.
export { HostPanicError, Simulation } from './simulation.ts';
export type { HeldMessage, HostContext, HostFactory, RunOptions, SimulationOptions } from './simulation.ts';
export { EventLimitError, RunLimitError, WallTimeoutError, maxEventsDefault } from './run-limits.ts';
export type { RunLimits } from './run-limits.ts';
export { defaultLinkModel } from './network.ts';
export type { LinkModel, LinkState } from './network.ts';
export { latencyMeanMs, latencySampler } from './latency.ts';
export type { LatencySampler, LatencySpec } from './latency.ts';
export { dropReasons, traceKinds } from './trace.ts';
export type { DropReason, TraceEntry, TraceKind, TraceOptions } from './trace.ts';
export { SeededRandom } from './random.ts';
export { DeterminismError, checkDeterminism } from './determinism.ts';
export type { DeterminismResult } from './determinism.ts';

// Hosts.
export { appHost, buildAppCluster } from './hosts/app.ts';
export type { AppCluster, AppClusterNode, AppClusterOptions, AppClusterPlacement, AppHostOptions, AppMember, AppReport } from './hosts/app.ts';
export { buildSwimCluster, swimHost } from './hosts/swim.ts';
export type { SwimCluster, SwimClusterOptions, SwimHostOptions } from './hosts/swim.ts';

// Scenarios: what `shoal run FILE` does, as functions.
export { ScenarioError, loadScenarioFile, parseScenario } from '../scenarios/load.ts';
export { AppModuleError, loadScenarioApps } from '../scenarios/apps.ts';
export type { AppModule, ScenarioAppPlacement, ScenarioApps, WorkloadGenerator } from '../scenarios/apps.ts';
export { buildScenarioSim, nodeNames, runScenario } from '../scenarios/runner.ts';
export type { MembershipMetrics, ReportedValues, RunReport, RunScenarioOptions, ScenarioSim } from '../scenarios/runner.ts';
export { formatReport } from '../scenarios/report.ts';
export type { Expectation, Fault, Scenario, ScenarioInput, Workload } from '../scenarios/schema.ts';
export type { ExpectationResult } from '../scenarios/expectations.ts';
