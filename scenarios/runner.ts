import type { Address } from '../core/index.ts';
import type { ReportedValue } from '../core/app/index.ts';
import type { WorkloadRecord } from '../sim/hosts/workload.ts';
import { EventLimitError, Simulation, WallTimeoutError, type TraceEntry } from '../sim/index.ts';
import { scenarioApps, type ScenarioApps } from './apps.ts';
import { isCheckerExpectation, runChecker } from './checkers.ts';
import { applyFault, asList, refuseUnsupported, type FaultTarget } from './faults.ts';
import { checkExpectations, falseFailures, type ExpectationResult, type RpcRecord, type RunRecord } from './expectations.ts';
import { HistoryRecorder, type HistoryCounts, type RunHistory } from './history.ts';
import { appValuesObject, startMemberApps, type AppValues, type ScenarioMember } from './member.ts';
import { startMembership, type MembershipNode } from './membership.ts';
import { RunObserver } from './observe.ts';
import type { Fault, Scenario } from './schema.ts';
import { operationMappings, startScenarioWorkload } from './workload.ts';

export interface RunScenarioOptions {
  /** Overrides the scenario's seed. */
  seed?: number;
  /** The scenario's apps, loaded with `loadScenarioApps`. @default only the director/worker example, where the scenario expects it */
  apps?: ScenarioApps;
  /** Receives every trace entry (for `--trace`). */
  traceSink?: (entry: TraceEntry) => void;
  /** Trace entries kept in memory (for `--diagram`). @default 0 */
  traceCapacity?: number;
  /** Receives each message's bytes as it is sent (to label messages in `--report` and `--diagram`); see `TraceOptions.payloads`. */
  tracePayloads?: (msg: number, bytes: Uint8Array) => void;
  /** The command line that reproduces this run, printed with failures. */
  reproduce?: string;
  /** Called with the finished simulation (to write diagrams from its trace). */
  onFinished?: (sim: Simulation) => void;
  /** Called with the run's operation history once it has ended (for `--history`), when the scenario has a workload. */
  onHistory?: (history: RunHistory) => void;
  /** Stop with `EventLimitError` after this many events. @default 200_000_000 */
  maxEvents?: number;
  /** Stop with `WallTimeoutError` after this much wall-clock time running the simulation. @default Infinity */
  wallTimeoutMs?: number;
}

/** The command printed with a failure when the caller names none. */
function defaultReproduce(seed: number): string {
  return `npx shoal run <scenario file> --seed ${seed}`;
}

export interface MembershipMetrics {
  events: Record<string, number>;
  falseFailures: number;
  /** Per crashed node: ms from its crash until the first and the last live member marked it failed. */
  detection: { node: string; crashAtMs: number; firstMs: number | undefined; allMs: number | undefined }[];
}

/** What a run's operation history holds (the events themselves: `--history`). */
export interface HistorySummary extends HistoryCounts {
  /** Client processes that made a recorded call (a process gets a fresh id after an unknown outcome). */
  processes: number;
  /** Calls not recorded because the history was full. */
  dropped: number;
}

/** Reported values: member → app → key → the latest value. */
export type ReportedValues = Record<string, Record<string, Record<string, ReportedValue>>>;

export interface RunReport {
  scenario: string;
  seed: number;
  mode: 'sim' | 'real';
  ok: boolean;
  traceHash: string;
  simulatedMs: number;
  wallMs: number;
  events: number;
  expectations: ExpectationResult[];
  membership: MembershipMetrics;
  rpc: RpcRecord | undefined;
  /** The workload's operation history, counted, when the scenario has a workload. */
  history?: HistorySummary;
  /** What the apps reported (`node.report`), per member and app: the latest value of each key. */
  apps?: ReportedValues;
  reproduce: string;
  /** What the run's world could not make the same as the other's (real mode: process start-up, loopback timing). */
  notes?: string[];
}

/** The names of a scenario's nodes: `cluster.nodes`, or n1..nN (a new array: callers may extend it). */
export function nodeNames(scenario: Scenario): string[] {
  return scenario.cluster.nodes !== undefined ? [...scenario.cluster.nodes] : Array.from({ length: scenario.cluster.size! }, (_, i) => `n${i + 1}`);
}

/** A scenario built into a simulation, ready to run (the dashboard drives one of these live). */
export interface ScenarioSim {
  readonly sim: Simulation;
  readonly scenario: Scenario;
  readonly seed: number;
  readonly nodes: readonly string[];
  readonly observer: RunObserver;
  /** The live record of the scenario's RPC workload, if it has one. */
  readonly rpc: WorkloadRecord | undefined;
  /** The workload's operation history as it is recorded, if the scenario has a workload. */
  readonly history: HistoryRecorder | undefined;
  readonly apps: ScenarioApps;
  /** The latest value each app reported on each member (kept across restarts). */
  readonly values: AppValues;
  /**
   * Whether the run lets promise continuations run after each instant: the RPC layer and
   * apps are promise-based, plain membership is not (and runs faster without it).
   */
  readonly async: boolean;
  membership(node: string): MembershipNode | undefined;
  /** What the node runs now (SWIM, RPC, apps), while it is up. */
  member(node: string): ScenarioMember | undefined;
  /** Applies one fault now (also used for interactive faults). */
  apply(fault: Fault): void;
}

export function buildScenarioSim(scenario: Scenario, options: RunScenarioOptions = {}): ScenarioSim {
  const seed = options.seed ?? scenario.seed;
  const apps = options.apps ?? scenarioApps(scenario);
  const workload = scenario.workload;
  const nodes = nodeNames(scenario);
  // The workload's client is a cluster member of its own unless the scenario names a node.
  const clientIsExtra = workload !== undefined && !nodes.includes(workload.client);
  if (clientIsExtra) nodes.push(workload.client);
  const { links: _links, ...defaults } = scenario.network;
  const sim = new Simulation({
    seed,
    network: defaults,
    trace: { capacity: options.traceCapacity ?? 0, ...(options.traceSink ? { sink: options.traceSink } : {}), ...(options.tracePayloads ? { payloads: options.tracePayloads } : {}) },
    reproduce: options.reproduce ?? defaultReproduce(seed),
  });
  // A link applies from the moment both of its ends exist (hosts are created as they start).
  const started = new Set<string>();
  const linkUp = (name: string) => {
    started.add(name);
    for (const { from, to, ...model } of scenario.network.links) {
      const others = (group: string | readonly string[]) => asList(group).filter((n) => n !== name && started.has(n));
      if (asList(from).includes(name) && others(to).length > 0) sim.setLink(name, others(to), model);
      if (asList(to).includes(name) && others(from).length > 0) sim.setLink(others(from), name, model);
    }
  };
  const observer = new RunObserver(nodes);
  const seeds: Address[] = (scenario.cluster.seeds ?? [nodes[0]!]).map((n) => `${n}:7946`);
  const members = new Map<string, ScenarioMember>();
  const values: AppValues = new Map();
  const start = (name: string) => {
    sim.host(name, (ctx) => {
      observer.resetView(name);
      const tagOverride = clientIsExtra && name === workload!.client ? { role: 'client' } : undefined;
      const swim = startMembership(ctx, scenario, seeds.filter((s) => s !== ctx.address), (event) => observer.observe({ ...event, observer: name, timeMs: sim.nowMs }), tagOverride);
      const member = startMemberApps(ctx, swim, { apps, workloadClient: workload?.client === name, values });
      members.set(name, member);
      return member;
    });
    linkUp(name);
  };
  const spread = scenario.cluster.startSpread;
  nodes.forEach((name, i) => {
    const at = spread === 0 ? 0 : (spread * i) / Math.max(1, nodes.length - 1);
    if (at === 0) start(name);
    else sim.at(at, () => start(name));
  });
  const target = simFaultTarget(sim, observer, members);
  refuseUnsupported(target, scenario.faults, 'the simulator');
  const apply = (fault: Fault) => void applyFault(target, fault);
  for (const fault of scenario.faults) sim.at(fault.at, () => apply(fault));
  const mappings = workload === undefined ? undefined : operationMappings(apps, workload);
  const history = mappings === undefined ? undefined : new HistoryRecorder(() => sim.nowMs, (method) => mappings.get(method));
  const rpc = workload === undefined ? undefined : startScenarioWorkload(sim, scenario, apps, history);
  const member = (n: string) => (sim.isUp(n) ? members.get(n) : undefined);
  return {
    sim, scenario, seed, nodes, observer, rpc, history, apps, values,
    async: rpc !== undefined || apps.placements.length > 0,
    membership: (n) => member(n)?.swim, member, apply,
  };
}

/**
 * The simulator as a fault target: every fault kind, applied at the simulation's now. The
 * dashboard's keyboard faults go through it too (`ScenarioSim.apply`).
 */
export function simFaultTarget(sim: Simulation, observer: RunObserver, members: ReadonlyMap<string, ScenarioMember>): FaultTarget {
  const all = () => sim.hostNames();
  return {
    cannot: () => undefined,
    nowMs: () => sim.nowMs,
    record: (fault) => observer.fault(fault),
    crash: (nodes) => nodes.forEach((n) => sim.crash(n)),
    restart: (nodes) => {
      for (const n of nodes) {
        observer.leftAt.delete(n);
        sim.restart(n);
      }
    },
    leave: (nodes) => {
      for (const n of nodes) {
        members.get(n)?.swim.leave();
        members.get(n)?.apps?.stop();
        observer.leftAt.set(n, sim.nowMs);
      }
    },
    pause: (nodes, forMs) => nodes.forEach((n) => sim.pauseFor(n, forMs)),
    slow: (nodes, delayMs, forMs) => nodes.forEach((n) => sim.slowFor(n, delayMs, forMs)),
    partition: (groups) => sim.partition(...groups),
    oneway: (from, to) => sim.partitionOneway(from, to),
    bridge: (a, via, b) => sim.bridge(a, via, b),
    isolate: (node) => sim.isolate(node),
    heal: () => sim.repair(),
    repair: (a, b) => sim.repair(a, b),
    hold: (from, to) => sim.hold(from, to),
    release: (from, to) => sim.release(from, to),
    skew: (node, ms) => sim.skewClock(node, ms),
    drift: (node, ppm) => sim.driftClock(node, ppm),
    loss: (loss, from, to) => {
      if (from !== undefined || to !== undefined) sim.setLink(from ?? all(), to ?? all(), { loss });
      else sim.setDefaultLink({ loss });
    },
    latency: (latency, from, to) => {
      if (from !== undefined || to !== undefined) sim.setLink(from ?? all(), to ?? all(), { latency });
      else sim.setDefaultLink({ latency });
    },
  };
}

/** How often convergence is sampled while a `converge-within` window is open. */
export const convergenceSampleMs = 100;

/** A scenario run in progress: advanced in steps (the determinism check runs two in lockstep), then reported. */
export interface ScenarioRun {
  readonly built: ScenarioSim;
  /** Runs the events before `untilMs` (at most the scenario's end); the run's limits span every step. */
  advance(untilMs: number): Promise<void>;
  /** Checks the expectations on what happened so far (the checkers of histories are left to `finish`). */
  report(): RunReport;
  /**
   * The run's report with every expectation checked, the checkers of its history included
   * (a user's checker may be asynchronous); call it once the run reached the scenario's end.
   * Throws the `AppModuleError` of an app's `operation` export that failed during the run.
   */
  finish(): Promise<RunReport>;
}

/**
 * Builds a scenario's simulation and schedules what the report needs (convergence
 * samples). A run covers [0, duration): the events of the final instant are not part of
 * it, as a dashboard session saved at that instant has not run them yet either.
 */
export function startScenarioRun(scenario: Scenario, options: RunScenarioOptions = {}): ScenarioRun {
  const wallStart = performance.now();
  const built = buildScenarioSim(scenario, options);
  const { sim } = built;
  const convergedAt = sampleConvergence(built);
  const { maxEvents, wallTimeoutMs } = options;
  let runningWallMs = 0;
  return {
    built,
    async advance(untilMs) {
      // The limits cover the whole run: each step gets what the steps before it left.
      const runOptions = {
        exclusive: true,
        maxEvents: maxEvents === undefined ? undefined : Math.max(0, maxEvents - sim.eventCount),
        wallTimeoutMs: wallTimeoutMs === undefined ? undefined : Math.max(0, wallTimeoutMs - runningWallMs),
      };
      const to = Math.min(untilMs, scenario.duration);
      const started = performance.now();
      try {
        if (built.async) await sim.runUntilAsync(to, runOptions);
        else sim.runUntil(to, runOptions);
      } catch (error) {
        throw wholeRunLimit(error, options);
      } finally {
        runningWallMs += performance.now() - started;
      }
    },
    report: () => scenarioReport(built, convergedAt, Math.round(performance.now() - wallStart)),
    finish: () => finishedReport(built, scenarioReport(built, convergedAt, Math.round(performance.now() - wallStart)), options),
  };
}

/** `report` with the checker expectations checked on the whole history. */
async function finishedReport(built: ScenarioSim, report: RunReport, options: RunScenarioOptions): Promise<RunReport> {
  const recorder = built.history;
  if (recorder?.error !== undefined) throw recorder.error;
  const history = recorder?.history;
  if (history !== undefined) options.onHistory?.(history);
  const { scenario, observer, apps } = built;
  const run = { scenario, history, events: observer.observations, faults: observer.faults, checkers: apps.checkers ?? new Map() };
  const expectations = await Promise.all(scenario.expect.map((e, i) => (isCheckerExpectation(e) ? runChecker(e, run) : report.expectations[i]!)));
  return { ...report, expectations, ok: expectations.every((e) => e.ok) };
}

/** A step's run limit error, restated with the whole run's limit (a later step had only what was left of it). */
function wholeRunLimit(error: unknown, options: RunScenarioOptions): unknown {
  let restated: EventLimitError | WallTimeoutError | undefined;
  if (error instanceof EventLimitError && options.maxEvents !== undefined && error.limit !== `${options.maxEvents} events`) {
    restated = new EventLimitError(`${options.maxEvents} events`, error.seed, error.timeMs, error.reproduce);
  }
  const budget = `its wall-clock budget of ${(options.wallTimeoutMs ?? 0) / 1_000} s`;
  if (error instanceof WallTimeoutError && options.wallTimeoutMs !== undefined && error.limit !== budget) {
    restated = new WallTimeoutError(budget, error.seed, error.timeMs, error.reproduce);
  }
  if (restated === undefined) return error;
  // Where the run stopped is the original's stack.
  restated.stack = `${restated.name}: ${restated.message}\n${(error as Error).stack?.split('\n').slice(1).join('\n') ?? ''}`;
  return restated;
}

/** Runs a scenario in the simulator and checks its expectations. */
export async function runScenario(scenario: Scenario, options: RunScenarioOptions = {}): Promise<RunReport> {
  const run = startScenarioRun(scenario, options);
  await run.advance(scenario.duration);
  options.onFinished?.(run.built.sim);
  return run.finish();
}

type ConvergenceSamples = RunRecord['convergedAt'];

/** Samples convergence every `convergenceSampleMs` within each `converge-within` window, until views agree. */
function sampleConvergence({ sim, scenario, observer }: ScenarioSim): ConvergenceSamples {
  const convergedAt = new Map<number, { atMs: number | undefined; lastDisagreements: string[] }>();
  for (const e of scenario.expect) {
    if (e.kind !== 'converge-within') continue;
    const { after, within } = e['converge-within'];
    const entry = { atMs: undefined as number | undefined, lastDisagreements: [] as string[] };
    convergedAt.set(after, entry);
    const sample = () => {
      if (entry.atMs !== undefined) return;
      const result = observer.converged((n) => sim.isUp(n));
      if (result.ok) entry.atMs = sim.nowMs;
      else {
        entry.lastDisagreements = result.disagreements;
        if (sim.nowMs + convergenceSampleMs <= Math.min(after + within, scenario.duration)) sim.after(convergenceSampleMs, sample);
      }
    };
    if (after <= scenario.duration) sim.at(after, sample);
  }
  return convergedAt;
}

function scenarioReport(built: ScenarioSim, convergedAt: ConvergenceSamples, wallMs: number): RunReport {
  const { sim, scenario, observer, nodes } = built;
  const record: RunRecord = { nodes, endMs: scenario.duration, observer, convergedAt, rpc: built.rpc };
  const expectations = checkExpectations(scenario.expect, record);
  return {
    scenario: scenario.name,
    seed: built.seed,
    mode: 'sim',
    ok: expectations.every((e) => e.ok),
    traceHash: sim.trace.hash,
    simulatedMs: scenario.duration,
    wallMs,
    events: sim.eventCount,
    expectations,
    membership: membershipMetrics(record),
    rpc: record.rpc,
    ...(built.history === undefined ? {} : { history: historySummary(built.history.history) }),
    apps: appValuesObject(built.values, nodes),
    reproduce: sim.reproduce,
  };
}

function historySummary(history: RunHistory): HistorySummary {
  const processes = new Set<number | string>();
  for (const event of history.events) processes.add(event.process);
  return { ...history.counts, processes: processes.size, dropped: history.dropped };
}

export function membershipMetrics(record: RunRecord): MembershipMetrics {
  const events: Record<string, number> = {};
  for (const o of record.observer.observations) events[o.type] = (events[o.type] ?? 0) + 1;
  const detection = record.observer.faults.filter((f) => f.kind === 'crash').flatMap((f) => f.nodes.map((node) => {
    const times = record.observer.observations.filter((o) => o.member === node && o.type === 'failed' && o.timeMs >= f.timeMs).map((o) => o.timeMs - f.timeMs);
    const observers = new Set(record.observer.observations.filter((o) => o.member === node && o.type === 'failed' && o.timeMs >= f.timeMs).map((o) => o.observer));
    return {
      node, crashAtMs: f.timeMs,
      firstMs: times.length ? Math.min(...times) : undefined,
      allMs: observers.size >= record.nodes.length - 1 ? Math.max(...times) : undefined,
    };
  }));
  return { events, falseFailures: falseFailures(record).length, detection };
}
