import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShoalError } from '../core/index.ts';
import { packageFile } from '../net-real/package-files.ts';
import { checkExpectations, falseFailures, type RunRecord } from './expectations.ts';
import { scenarioSwimConfig, scenarioTags } from './membership.ts';
import { RunObserver } from './observe.ts';
import { convergenceSampleMs, nodeNames, type RunReport } from './runner.ts';
import { NetnsLab, netemDelay, netemSupport, netnsAdminPort, netnsGossipPort, netnsSupport } from './netns.ts';
import type { Fault, Scenario } from './schema.ts';

/**
 * `shoal run --mode real`: the same scenario with real `shoal node` processes (QUIC +
 * encrypted gossip), faults applied for real, and the same expectations checked against
 * the membership events each node streams from its admin endpoint.
 *
 * Two networks: on loopback the faults a process can suffer are supported (crash =
 * SIGKILL, restart, leave = SIGTERM, pause = SIGSTOP / SIGCONT); in a lab of network
 * namespaces (scenarios/netns.ts: one namespace and address per node, a bridge between
 * them) network faults are applied for real too: partitions, one-way partitions, bridges,
 * isolation, heal and repair as iptables cuts, loss as iptables random drops, latency
 * with tc netem where the kernel has it. `auto` picks the lab when the scenario needs it.
 * What neither can do (hold/release, clock skew and drift, duplication, reordering) is
 * refused with a clear error rather than faked.
 */
export class RealModeUnsupportedError extends ShoalError {
  override readonly code = 'REAL_MODE_UNSUPPORTED';
}

/** Faults a process can suffer: any real network supports them. */
const processFaults: ReadonlySet<string> = new Set(['crash', 'restart', 'leave', 'pause']);
/** Faults that need the namespace lab. */
const networkFaults: ReadonlySet<string> = new Set(['partition', 'oneway', 'bridge', 'isolate', 'heal', 'repair', 'loss', 'latency']);

export type RealNetwork = 'loopback' | 'netns';
export const realNetworks = ['auto', 'loopback', 'netns'] as const;

/** Longest a node may take to start (tsx compiles on first load) and the cluster to form. */
export const realStartTimeoutMs = 60_000;

interface NodeProcess {
  name: string;
  child: ChildProcess;
  address: string;
  admin: string;
  stopped: boolean;
  events: AbortController;
  exited: Promise<void>;
}

function faultKind(fault: Fault): string {
  return Object.keys(fault).find((k) => k !== 'at' && k !== 'for' && k !== 'from' && k !== 'to')!;
}

/** Whether the scenario shapes or cuts the network (so a real run needs the namespace lab). */
export function needsNetns(scenario: Scenario): boolean {
  const n = scenario.network;
  return scenario.faults.some((f) => networkFaults.has(faultKind(f))) ||
    n.links.length > 0 || (n.loss ?? 0) > 0 || n.latency !== undefined;
}

/**
 * Which real network runs the scenario (`auto`: the lab when it needs one), or a
 * RealModeUnsupportedError that says what cannot be done for real and why.
 */
export function checkRealSupport(scenario: Scenario, network: (typeof realNetworks)[number] = 'auto'): RealNetwork {
  const unsupported = [...new Set(scenario.faults.map(faultKind).filter((k) => !processFaults.has(k) && !networkFaults.has(k)))];
  if (unsupported.length > 0) {
    throw new RealModeUnsupportedError(`--mode real cannot apply ${unsupported.join(', ')} faults (holding messages for inspection, clock skew and drift exist only in the simulator)`);
  }
  if (scenario.workload !== undefined) throw new RealModeUnsupportedError('--mode real does not run workloads yet');
  if (scenario.expect.some((e) => 'check' in e || 'linearizable' in e)) {
    throw new RealModeUnsupportedError('--mode real does not run the checkers of histories (check, linearizable) yet: it records no history');
  }
  const models = [scenario.network, ...scenario.network.links];
  if (models.some((m) => (m.duplicate ?? 0) > 0 || (m.reorder ?? 0) > 0)) {
    throw new RealModeUnsupportedError('--mode real cannot duplicate or reorder messages (only the simulator can)');
  }
  const needs = needsNetns(scenario);
  if (network === 'loopback' && needs) {
    const kinds = [...new Set(scenario.faults.map(faultKind).filter((k) => networkFaults.has(k)))];
    throw new RealModeUnsupportedError(`--mode real on loopback supports ${[...processFaults].join(', ')} faults; this scenario also ${kinds.length ? `has ${kinds.join(', ')}` : 'shapes latency or loss'} (network faults need network namespaces: --network netns)`);
  }
  const chosen: RealNetwork = network === 'auto' ? (needs ? 'netns' : 'loopback') : network;
  if (chosen === 'netns') {
    const support = netnsSupport();
    if (!support.ok) throw new RealModeUnsupportedError(`this scenario needs network namespaces for a real run, and they are unavailable: ${support.reason}`);
    const latencies = [
      ...scenario.faults.flatMap((f) => ('latency' in f ? [{ latency: f.latency, to: f.to }] : [])),
      ...(scenario.network.latency ? [{ latency: scenario.network.latency, to: undefined }] : []),
      ...scenario.network.links.flatMap((l) => (l.latency ? [{ latency: l.latency, to: l.to }] : [])),
    ];
    for (const { latency, to } of latencies) {
      if (to !== undefined) throw new RealModeUnsupportedError('--mode real shapes latency per sender (tc netem on its interface): give latency without `to`');
      const delay = netemDelay(latency);
      if (typeof delay === 'string') throw new RealModeUnsupportedError(delay);
    }
    if (latencies.length > 0 && !netemSupport()) {
      throw new RealModeUnsupportedError('this scenario shapes latency, which needs `tc netem`, and this kernel has no sch_netem module (loss and cuts work without it)');
    }
  }
  return chosen;
}

function swimFlag(scenario: Scenario): string {
  const { preset: _preset, ...overrides } = scenarioSwimConfig(scenario);
  return Object.entries(overrides).map(([k, v]) => `${k}=${v}`).join(',');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface RealRunOptions {
  seed: number;
  reproduce: string;
  /** Loopback, the namespace lab, or whichever the scenario needs. @default 'auto' */
  network?: (typeof realNetworks)[number];
}

export async function runScenarioReal(scenario: Scenario, options: RealRunOptions): Promise<RunReport> {
  const network = checkRealSupport(scenario, options.network);
  const wallStart = performance.now();
  const names = nodeNames(scenario);
  const certDir = mkdtempSync(join(tmpdir(), 'shoal-real-'));
  const observer = new RunObserver(names);
  const nodes = new Map<string, NodeProcess>();
  let t0 = Infinity;
  const now = () => performance.now() - t0;
  const shoalBin = packageFile('bin', 'shoal.js');
  let lab: NetnsLab | undefined;

  const launch = async (name: string, bind: string, admin: string, seeds: string[]): Promise<NodeProcess> => {
    const tags = Object.entries(scenarioTags(scenario, name)).map(([k, v]) => `${k}=${v}`).join(',');
    const swim = swimFlag(scenario);
    const args = [shoalBin, 'node', '--name', name, '--bind', bind, '--admin', admin, '--dev-certs', certDir,
      '--preset', scenario.cluster.preset, '--log-level', 'info', '--rpc-probe-ms', '60000',
      ...(swim ? ['--swim', swim] : []), ...(tags ? ['--tags', tags] : []), ...(seeds.length ? ['--seeds', seeds.join(',')] : [])];
    const [command, argv] = lab === undefined ? [process.execPath, args] : lab.command(name, [process.execPath, ...args]);
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const collect = (chunk: Buffer) => {
      lines.push(...chunk.toString().split('\n').filter((l) => l.length > 0));
      if (lines.length > 200) lines.splice(0, lines.length - 100);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const started = performance.now();
    for (;;) {
      const line = lines.find((l) => l.includes('"node started"'));
      if (line !== undefined) {
        const entry = JSON.parse(line) as { address: string; admin: string };
        const node: NodeProcess = { name, child, address: entry.address, admin: entry.admin, stopped: false, events: new AbortController(), exited };
        void follow(node);
        return node;
      }
      if (child.exitCode !== null || performance.now() - started > realStartTimeoutMs) {
        child.kill('SIGKILL');
        throw new ShoalError(`node ${name} did not start:\n${lines.slice(-10).join('\n')}`);
      }
      await sleep(50);
    }
  };

  /** Streams a node's membership events (server-sent events) into the observer. */
  const follow = async (node: NodeProcess) => {
    try {
      const response = await fetch(`http://${node.admin}/events`, { signal: node.events.signal });
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
          const message = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          if (!/^event: member$/m.test(message)) continue;
          const data = /^data: (.*)$/m.exec(message)?.[1];
          if (data === undefined) continue;
          const event = JSON.parse(data) as { type: string; name: string; incarnation: number };
          const member = event.type === 'refuted' || event.type.startsWith('partition') ? node.name : event.name;
          observer.observe({ observer: node.name, timeMs: Math.max(0, now()), type: event.type, member, incarnation: event.incarnation });
        }
      }
    } catch {
      // The node died or the run ended: its stream ends here.
    }
  };

  const isUp = (name: string) => {
    const node = nodes.get(name);
    return node !== undefined && node.child.exitCode === null && node.child.signalCode === null && !node.stopped;
  };

  const stop = async (node: NodeProcess, signal: NodeJS.Signals) => {
    node.child.kill(signal);
    await Promise.race([node.exited, sleep(15_000)]);
    node.events.abort();
  };

  try {
    // The CA, gossip key and every node's certificate are made once, up front, so nodes start
    // without waiting on each other; with `--dev-certs` each then runs mutual TLS and sealed gossip.
    execFileSync('bash', [packageFile('certs', 'make-dev-certs.sh'), certDir, ...names], { stdio: 'ignore' });
    if (network === 'netns') {
      lab = await NetnsLab.create(names);
      await shapeNetwork(lab, scenario);
    }
    const bindOf = (n: string) => (lab === undefined ? '127.0.0.1:0' : `${lab.addressOf(n)}:${netnsGossipPort}`);
    const adminOf = (n: string) => (lab === undefined ? '127.0.0.1:0' : `${lab.addressOf(n)}:${netnsAdminPort}`);
    const first = await launch(names[0]!, bindOf(names[0]!), adminOf(names[0]!), []);
    nodes.set(first.name, first);
    const seeds = (scenario.cluster.seeds ?? [names[0]!]).map((n) => nodes.get(n)?.address).filter((a): a is string => a !== undefined);
    const rest = await Promise.all(names.slice(1).map((n) => launch(n, bindOf(n), adminOf(n), seeds.length ? seeds : [first.address])));
    for (const node of rest) nodes.set(node.name, node);
    const formed = await waitFormed(nodes, names.length);
    t0 = performance.now();
    // Joins that happened before a node's event stream connected are taken from its /status.
    for (const [name, alive] of formed) {
      const view = observer.views.get(name)!;
      for (const member of alive) if (member !== name && view.get(member) !== 'alive') observer.observe({ observer: name, timeMs: 0, type: 'joined', member });
    }

    const apply = async (fault: Fault) => {
      const networkFault = lab === undefined ? undefined : applyNetworkFault(lab, fault, names, observer, now);
      if (networkFault !== undefined) return networkFault;
      if ('crash' in fault) {
        for (const n of list(fault.crash)) if (nodes.get(n) && isUp(n)) await stop(nodes.get(n)!, 'SIGKILL');
        observer.fault({ timeMs: now(), kind: 'crash', nodes: list(fault.crash) });
      } else if ('leave' in fault) {
        observer.fault({ timeMs: now(), kind: 'leave', nodes: list(fault.leave) });
        for (const n of list(fault.leave)) {
          observer.leftAt.set(n, now());
          if (isUp(n)) void stop(nodes.get(n)!, 'SIGTERM');
        }
      } else if ('restart' in fault) {
        observer.fault({ timeMs: now(), kind: 'restart', nodes: list(fault.restart) });
        await Promise.all(list(fault.restart).map(async (n) => {
          const old = nodes.get(n)!;
          if (isUp(n)) await stop(old, 'SIGKILL');
          observer.leftAt.delete(n);
          observer.resetView(n);
          const seedsNow = [...nodes.values()].filter((p) => p.name !== n && isUp(p.name)).slice(0, 3).map((p) => p.address);
          nodes.set(n, await launch(n, old.address, old.admin, seedsNow));
        }));
      } else if ('pause' in fault) {
        observer.fault({ timeMs: now(), kind: 'pause', nodes: list(fault.pause), detail: { forMs: fault.for } });
        for (const n of list(fault.pause)) {
          const node = nodes.get(n);
          if (node === undefined || !isUp(n)) continue;
          node.child.kill('SIGSTOP');
          setTimeout(() => node.child.kill('SIGCONT'), fault.for);
        }
      }
    };

    const convergedAt = new Map<number, { atMs: number | undefined; lastDisagreements: string[] }>();
    const timers: Promise<void>[] = [];
    for (const fault of scenario.faults) timers.push(sleep(fault.at).then(() => apply(fault)));
    for (const e of scenario.expect) {
      if (!('converge-within' in e)) continue;
      const { after, within } = e['converge-within'];
      const entry = { atMs: undefined as number | undefined, lastDisagreements: [] as string[] };
      convergedAt.set(after, entry);
      timers.push(sleep(after).then(async () => {
        while (entry.atMs === undefined && now() <= Math.min(after + within, scenario.duration)) {
          // Each node's current view, read from its /status: an event stream that connected
          // after a join would otherwise leave a hole in the view built from events.
          await refreshViews(observer, [...nodes.values()].filter((n) => isUp(n.name)));
          const result = observer.converged(isUp);
          if (result.ok) entry.atMs = now();
          else {
            entry.lastDisagreements = result.disagreements;
            await sleep(convergenceSampleMs);
          }
        }
      }));
    }
    await sleep(scenario.duration);
    await Promise.all(timers);
    const record: RunRecord = { nodes: names, endMs: scenario.duration, observer, convergedAt, rpc: undefined };
    const expectations = checkExpectations(scenario.expect, record);
    const events: Record<string, number> = {};
    for (const o of observer.observations) events[o.type] = (events[o.type] ?? 0) + 1;
    return {
      scenario: scenario.name, seed: options.seed, mode: 'real', ok: expectations.every((e) => e.ok),
      traceHash: '', simulatedMs: scenario.duration, wallMs: Math.round(performance.now() - wallStart),
      events: observer.observations.length, expectations,
      membership: { events, falseFailures: falseFailures(record).length, detection: [] },
      rpc: undefined, reproduce: `${options.reproduce} --mode real`,
    };
  } finally {
    await Promise.all([...nodes.values()].map(async (node) => {
      if (node.child.exitCode === null && node.child.signalCode === null) {
        node.child.kill('SIGCONT');
        node.child.kill('SIGKILL');
        await Promise.race([node.exited, sleep(5_000)]);
      }
      node.events.abort();
    }));
    rmSync(certDir, { recursive: true, force: true });
    await lab?.destroy();
  }
}

/** The scenario's standing network model (loss, per-link loss, sender latency), applied in the lab before the nodes start. */
async function shapeNetwork(lab: NetnsLab, scenario: Scenario): Promise<void> {
  const all = lab.nodes;
  if ((scenario.network.loss ?? 0) > 0) await lab.setLoss(all, all, scenario.network.loss!);
  if (scenario.network.latency !== undefined) await lab.setLatency(all, scenario.network.latency);
  for (const link of scenario.network.links) {
    if (link.loss !== undefined) await lab.setLoss(list(link.from), list(link.to), link.loss);
    if (link.latency !== undefined) await lab.setLatency(list(link.from), link.latency);
  }
}

/**
 * Applies a network fault in the lab (the same meaning as the simulator's: a partition
 * cuts both directions between every pair of groups, a one-way partition only from → to,
 * a bridge cuts a from b but not from the bridge node, heal removes every cut). Records
 * it at the time it was asked for. Returns undefined for faults that are not network faults.
 */
function applyNetworkFault(lab: NetnsLab, fault: Fault, names: readonly string[], observer: RunObserver, now: () => number): Promise<void> | undefined {
  const record = (kind: string, nodes: readonly string[], detail?: unknown) => observer.fault({ timeMs: now(), kind, nodes, detail });
  const others = (group: readonly string[]) => names.filter((n) => !group.includes(n));
  let done: Promise<void>;
  if ('partition' in fault) {
    record('partition', fault.partition.flat(), fault.partition);
    done = Promise.all(fault.partition.map((group) => lab.cut(group, fault.partition.flat().filter((n) => !group.includes(n))))).then(() => undefined);
  } else if ('oneway' in fault) {
    record('oneway', [...list(fault.oneway.from), ...list(fault.oneway.to)]);
    done = lab.cut(list(fault.oneway.from), list(fault.oneway.to));
  } else if ('bridge' in fault) {
    record('partition', [...list(fault.bridge.a), fault.bridge.via, ...list(fault.bridge.b)], fault.bridge);
    done = Promise.all([lab.cut(list(fault.bridge.a), list(fault.bridge.b)), lab.cut(list(fault.bridge.b), list(fault.bridge.a))]).then(() => undefined);
  } else if ('isolate' in fault) {
    record('isolate', [fault.isolate]);
    done = Promise.all([lab.cut([fault.isolate], others([fault.isolate])), lab.cut(others([fault.isolate]), [fault.isolate])]).then(() => undefined);
  } else if ('heal' in fault) {
    record('heal', []);
    done = lab.repair();
  } else if ('repair' in fault) {
    record('repair', [...list(fault.repair.a), ...list(fault.repair.b)]);
    done = lab.repair(list(fault.repair.a), list(fault.repair.b));
  } else if ('loss' in fault) {
    record('loss', [], { loss: fault.loss });
    done = lab.setLoss(fault.from === undefined ? names : list(fault.from), fault.to === undefined ? names : list(fault.to), fault.loss);
  } else if ('latency' in fault) {
    record('latency', [], fault.latency);
    done = lab.setLatency(fault.from === undefined ? names : list(fault.from), fault.latency);
  } else {
    return undefined;
  }
  return done.catch((error: unknown) => {
    throw new ShoalError(`the namespace lab could not apply ${JSON.stringify(fault)}: ${(error as Error).message}`);
  });
}

/** Replaces the observer's views of `nodes` with what their `/status` says now. */
async function refreshViews(observer: RunObserver, nodes: readonly NodeProcess[]): Promise<void> {
  await Promise.all(nodes.map(async (node) => {
    try {
      const response = await fetch(`http://${node.admin}/status`, { signal: AbortSignal.timeout(1_000) });
      const status = await response.json() as { members: { name: string; state: 'alive' | 'suspect' | 'dead' | 'left' }[] };
      const view = observer.views.get(node.name);
      if (view === undefined) return;
      view.clear();
      for (const m of status.members) if (m.name !== node.name) view.set(m.name, m.state);
    } catch {
      // A node that does not answer keeps the view its events built.
    }
  }));
}

function list(x: string | readonly string[]): string[] {
  return typeof x === 'string' ? [x] : [...x];
}

/** Waits until every node's `/status` shows every node alive; returns who each sees alive. */
async function waitFormed(nodes: Map<string, NodeProcess>, size: number): Promise<Map<string, string[]>> {
  const started = performance.now();
  for (;;) {
    const views = await Promise.all([...nodes.values()].map(async (node) => {
      try {
        const response = await fetch(`http://${node.admin}/status`, { signal: AbortSignal.timeout(1_000) });
        const status = await response.json() as { members: { name: string; state: string }[] };
        return [node.name, status.members.filter((m) => m.state === 'alive').map((m) => m.name)] as const;
      } catch {
        return [node.name, [] as string[]] as const;
      }
    }));
    if (views.every(([self, alive]) => alive.filter((m) => m !== self).length >= size - 1)) return new Map(views.map(([n, a]) => [n, [...a]]));
    if (performance.now() - started > realStartTimeoutMs) throw new ShoalError(`the real cluster did not form within ${realStartTimeoutMs} ms (alive counts: ${views.map(([, a]) => a.length).join(', ')})`);
    await sleep(200);
  }
}
