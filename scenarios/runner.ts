import type { Address } from '../core/index.ts';
import { attachCluster, startWorkload, type WorkloadRecord } from '../sim/hosts/cluster.ts';
import { Simulation, latencySampler, type TraceEntry } from '../sim/index.ts';
import { checkExpectations, falseFailures, type ExpectationResult, type RpcRecord, type RunRecord } from './expectations.ts';
import { startMembership, type MembershipNode } from './membership.ts';
import { RunObserver } from './observe.ts';
import type { Fault, Scenario } from './schema.ts';

export interface RunScenarioOptions {
  /** Overrides the scenario's seed. */
  seed?: number;
  /** Receives every trace entry (for `--trace`). */
  traceSink?: (entry: TraceEntry) => void;
  /** Trace entries kept in memory (for `--diagram`). @default 0 */
  traceCapacity?: number;
  /** The command line that reproduces this run, printed with failures. */
  reproduce?: string;
  /** Called with the finished simulation (to write diagrams from its trace). */
  onFinished?: (sim: Simulation) => void;
}

export interface MembershipMetrics {
  events: Record<string, number>;
  falseFailures: number;
  /** Per crashed node: ms from its crash until the first and the last live member marked it failed. */
  detection: { node: string; crashAtMs: number; firstMs: number | undefined; allMs: number | undefined }[];
}

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
  reproduce: string;
}

/** The names of a scenario's nodes: `cluster.nodes`, or n1..nN. */
export function nodeNames(scenario: Scenario): string[] {
  return scenario.cluster.nodes ?? Array.from({ length: scenario.cluster.size! }, (_, i) => `n${i + 1}`);
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
  membership(node: string): MembershipNode | undefined;
  /** Applies one fault now (also used for interactive faults). */
  apply(fault: Fault): void;
}

export function buildScenarioSim(scenario: Scenario, options: RunScenarioOptions = {}): ScenarioSim {
  const seed = options.seed ?? scenario.seed;
  const workload = scenario.workload;
  const nodes = nodeNames(scenario);
  // The workload's client is a cluster member of its own unless the scenario names a node.
  const clientIsExtra = workload !== undefined && !nodes.includes(workload.client);
  if (clientIsExtra) nodes.push(workload.client);
  const { links: _links, ...defaults } = scenario.network;
  const sim = new Simulation({
    seed,
    network: defaults,
    trace: { capacity: options.traceCapacity ?? 0, ...(options.traceSink ? { sink: options.traceSink } : {}) },
  });
  for (const link of scenario.network.links) {
    const { from, to, ...model } = link;
    sim.setLink(from, to, model);
  }
  const observer = new RunObserver(nodes);
  const seeds: Address[] = (scenario.cluster.seeds ?? [nodes[0]!]).map((n) => `${n}:7946`);
  const apps = new Map<string, MembershipNode>();
  const start = (name: string) => {
    sim.host(name, (ctx) => {
      observer.resetView(name);
      const tagOverride = clientIsExtra && name === workload!.client ? { role: 'client' } : undefined;
      const node = startMembership(ctx, scenario, seeds.filter((s) => s !== ctx.address), (event) => observer.observe({ ...event, observer: name, timeMs: sim.nowMs }), tagOverride);
      if (workload !== undefined) attachCluster(ctx, node, { workerFilter: 'role=worker' });
      apps.set(name, node);
      return node;
    });
  };
  const spread = scenario.cluster.startSpread;
  nodes.forEach((name, i) => {
    const at = spread === 0 ? 0 : (spread * i) / Math.max(1, nodes.length - 1);
    if (at === 0) start(name);
    else sim.at(at, () => start(name));
  });
  const apply = (fault: Fault) => applyFault(sim, observer, apps, fault);
  for (const fault of scenario.faults) sim.at(fault.at, () => apply(fault));
  const rpc = workload === undefined ? undefined : startWorkload(sim, {
    clientHost: workload.client,
    rate: workload.rate,
    method: workload.method,
    strategy: workload.strategy,
    filter: workload.filter,
    idempotent: workload.idempotent,
    deadlineMs: workload.deadline,
    retries: workload.retries,
    ...(workload.hedgeAfter !== undefined ? { hedgeAfterMs: workload.hedgeAfter } : {}),
    serviceTime: latencySampler(workload.serviceTime),
    ...(workload.admission !== undefined ? { client: { admission: { capacity: workload.admission.capacity, timeoutMs: workload.admission.timeout }, inFlightPerWorkerMax: workload.admission.inFlightPerWorker } } : {}),
    startMs: workload.start,
    // Calls stop early enough that every one can reach its outcome before the run ends.
    stopMs: workload.stop ?? Math.max(workload.start, scenario.duration - workload.deadline - 1_000),
  });
  return { sim, scenario, seed, nodes, observer, rpc, membership: (n) => (sim.isUp(n) ? apps.get(n) : undefined), apply };
}

const asList = (x: string | readonly string[]) => (typeof x === 'string' ? [x] : [...x]);

function applyFault(sim: Simulation, observer: RunObserver, apps: Map<string, MembershipNode>, fault: Fault): void {
  const t = sim.nowMs;
  const record = (kind: string, nodes: string[], detail?: unknown) => observer.fault({ timeMs: t, kind, nodes, detail });
  if ('crash' in fault) {
    for (const n of asList(fault.crash)) sim.crash(n);
    record('crash', asList(fault.crash));
  } else if ('restart' in fault) {
    for (const n of asList(fault.restart)) {
      observer.leftAt.delete(n);
      sim.restart(n);
    }
    record('restart', asList(fault.restart));
  } else if ('partition' in fault) {
    sim.partition(...fault.partition);
    record('partition', fault.partition.flat(), fault.partition);
  } else if ('oneway' in fault) {
    sim.partitionOneway(fault.oneway.from, fault.oneway.to);
    record('oneway', [...asList(fault.oneway.from), ...asList(fault.oneway.to)]);
  } else if ('bridge' in fault) {
    sim.bridge(fault.bridge.a, fault.bridge.via, fault.bridge.b);
    record('partition', [...asList(fault.bridge.a), fault.bridge.via, ...asList(fault.bridge.b)], fault.bridge);
  } else if ('isolate' in fault) {
    sim.isolate(fault.isolate);
    record('isolate', [fault.isolate]);
  } else if ('heal' in fault) {
    sim.repair();
    record('heal', []);
  } else if ('repair' in fault) {
    sim.repair(fault.repair.a, fault.repair.b);
    record('repair', [...asList(fault.repair.a), ...asList(fault.repair.b)]);
  } else if ('hold' in fault) {
    sim.hold(fault.hold.from, fault.hold.to);
    record('hold', [...asList(fault.hold.from), ...asList(fault.hold.to)]);
  } else if ('release' in fault) {
    sim.release(fault.release.from, fault.release.to);
    record('release', [...asList(fault.release.from), ...asList(fault.release.to)]);
  } else if ('pause' in fault) {
    for (const n of asList(fault.pause)) sim.pauseFor(n, fault.for);
    record('pause', asList(fault.pause), { forMs: fault.for });
  } else if ('skew' in fault) {
    sim.skewClock(fault.skew.node, fault.skew.ms);
    record('skew', [fault.skew.node], fault.skew);
  } else if ('drift' in fault) {
    sim.driftClock(fault.drift.node, fault.drift.ppm);
    record('drift', [fault.drift.node], fault.drift);
  } else if ('loss' in fault) {
    if (fault.from !== undefined || fault.to !== undefined) sim.setLink(fault.from ?? sim.hostNames(), fault.to ?? sim.hostNames(), { loss: fault.loss });
    else sim.setDefaultLink({ loss: fault.loss });
    record('loss', [], { loss: fault.loss });
  } else if ('latency' in fault) {
    if (fault.from !== undefined || fault.to !== undefined) sim.setLink(fault.from ?? sim.hostNames(), fault.to ?? sim.hostNames(), { latency: fault.latency });
    else sim.setDefaultLink({ latency: fault.latency });
    record('latency', [], fault.latency);
  } else if ('leave' in fault) {
    for (const n of asList(fault.leave)) {
      apps.get(n)?.leave();
      observer.leftAt.set(n, t);
    }
    record('leave', asList(fault.leave));
  }
}

/** How often convergence is sampled while a `converge-within` window is open. */
export const convergenceSampleMs = 100;

/** Runs a scenario in the simulator and checks its expectations. */
export async function runScenario(scenario: Scenario, options: RunScenarioOptions = {}): Promise<RunReport> {
  const wallStart = performance.now();
  const built = buildScenarioSim(scenario, options);
  const { sim, observer, nodes } = built;
  const convergedAt = new Map<number, { atMs: number | undefined; lastDisagreements: string[] }>();
  for (const e of scenario.expect) {
    if (!('converge-within' in e)) continue;
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
  // The RPC layer is promise-based: with a workload, let continuations run at each instant.
  // A run covers [0, duration): the events of the final instant are not part of it, as a
  // dashboard session saved at that instant has not run them yet either.
  if (built.rpc === undefined) sim.runUntil(scenario.duration, { exclusive: true });
  else await sim.runUntilAsync(scenario.duration, { exclusive: true });
  options.onFinished?.(sim);
  const record: RunRecord = { nodes, endMs: scenario.duration, observer, convergedAt, rpc: built.rpc };
  const expectations = checkExpectations(scenario.expect, record);
  const seed = built.seed;
  return {
    scenario: scenario.name,
    seed,
    mode: 'sim',
    ok: expectations.every((e) => e.ok),
    traceHash: sim.trace.hash,
    simulatedMs: scenario.duration,
    wallMs: Math.round(performance.now() - wallStart),
    events: sim.eventCount,
    expectations,
    membership: membershipMetrics(record),
    rpc: record.rpc,
    reproduce: options.reproduce ?? `npx shoal run <scenario file> --seed ${seed}`,
  };
}

function membershipMetrics(record: RunRecord): MembershipMetrics {
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
