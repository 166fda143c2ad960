import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShoalError } from '../core/index.ts';
import { slowDelayMsMax, slowForMsMax } from '../net-real/node/fault-control.ts';
import { packageFile } from '../net-real/package-files.ts';
import { checkExpectations, type RunRecord } from './expectations.ts';
import { formatDurationMs } from './duration.ts';
import { applyFault, asList, describeFault, refuseUnsupported, type FaultTarget } from './faults.ts';
import { scenarioSwimConfig, scenarioTags } from './membership.ts';
import { RunObserver } from './observe.ts';
import { convergenceSampleMs, membershipMetrics, nodeNames, type RunReport } from './runner.ts';
import { NetnsLab, netemDelay, netemSupport, netnsAdminPort, netnsGossipPort, netnsSupport } from './netns.ts';
import type { FaultKind, Scenario } from './schema.ts';

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

/** A real run that had to stop: a node that did not start, a fault a node or the lab could not apply. */
export class RealRunAbortedError extends ShoalError {
  override readonly code = 'REAL_RUN_ABORTED';
}

/**
 * The timed steps of a real run (a node's start, a fault, a convergence check), each run
 * once its time comes. The first that fails ends the run: `failed` rejects with what failed,
 * so the run stops at once and its processes are cleaned up, instead of an unhandled
 * rejection ending shoal with a stack and leaving the nodes running. `stop` cancels the
 * steps not yet due, so none (a restart) starts a process after the run ended.
 */
export class RunSteps {
  private readonly pending: Promise<void>[] = [];
  /** The steps not yet due, each with what settles it. */
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private fail!: (error: RealRunAbortedError) => void;
  /** Rejects with the first step that failed; never resolves. */
  readonly failed = new Promise<never>((_, reject) => {
    this.fail = reject;
  });

  constructor() {
    this.failed.catch(() => undefined);
  }

  /** Runs `step` `atMs` from now, described as `what` (`the start of n1`, `slow n3 by 2 s for 15 s at 5 s`). */
  at(atMs: number, what: string, step: () => unknown): void {
    this.pending.push(new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        Promise.resolve().then(step).then(() => resolve(), (error: unknown) => {
          this.fail(new RealRunAbortedError(`${what} failed: ${(error as Error)?.message ?? String(error)}`));
          resolve();
        });
      }, atMs);
      this.timers.set(timer, resolve);
    }));
  }

  /** Waits for every step to settle: run (a failed one included) or cancelled by `stop`. */
  settled(): Promise<void> {
    return Promise.all(this.pending).then(() => undefined);
  }

  /** Cancels every step not yet due (each counts as settled). */
  stop(): void {
    for (const [timer, settle] of this.timers) {
      clearTimeout(timer);
      settle();
    }
    this.timers.clear();
  }
}

/** Faults a process can suffer: any real network supports them. */
const processFaults: ReadonlySet<FaultKind> = new Set(['crash', 'restart', 'leave', 'pause', 'slow']);
/** Faults that need the namespace lab. */
const networkFaults: ReadonlySet<FaultKind> = new Set(['partition', 'oneway', 'bridge', 'isolate', 'heal', 'repair', 'loss', 'latency']);

export type RealNetwork = 'loopback' | 'netns';
export const realNetworks = ['auto', 'loopback', 'netns'] as const;

/** Longest a node may take to start (tsx compiles on first load). */
export const realStartTimeoutMs = 60_000;

interface NodeProcess {
  name: string;
  child: ChildProcess;
  address: string;
  admin: string;
  stopped: boolean;
  events: AbortController;
  exited: Promise<void>;
  /** Wall ms from the launch to the node's "node started" line. */
  startupMs: number;
}

/** Whether the scenario shapes or cuts the network (so a real run needs the namespace lab). */
export function needsNetns(scenario: Scenario): boolean {
  const n = scenario.network;
  return scenario.faults.some((f) => networkFaults.has(f.kind)) ||
    n.links.length > 0 || (n.loss ?? 0) > 0 || n.latency !== undefined;
}

/** Why real mode on `network` cannot apply a fault kind (the `cannot` of its fault target). */
export function realCannot(network: RealNetwork): (kind: FaultKind) => string | undefined {
  return (kind) => {
    if (processFaults.has(kind)) return undefined;
    if (networkFaults.has(kind)) return network === 'netns' ? undefined : 'network faults need network namespaces (--network netns)';
    return 'holding messages for inspection, clock skew and drift exist only in the simulator';
  };
}

/**
 * Which real network runs the scenario (`auto`: the lab when it needs one), or a
 * RealModeUnsupportedError that says what cannot be done for real and why.
 */
export function checkRealSupport(scenario: Scenario, network: (typeof realNetworks)[number] = 'auto'): RealNetwork {
  const simOnly = [...new Set(scenario.faults.map((f) => f.kind).filter((k) => !processFaults.has(k) && !networkFaults.has(k)))];
  if (simOnly.length > 0) {
    throw new RealModeUnsupportedError(`--mode real cannot apply ${simOnly.join(', ')} faults (holding messages for inspection, clock skew and drift exist only in the simulator)`);
  }
  if (scenario.workload !== undefined) throw new RealModeUnsupportedError('--mode real does not run workloads yet');
  if (scenario.expect.some((e) => e.kind === 'check' || e.kind === 'linearizable')) {
    throw new RealModeUnsupportedError('--mode real does not run the checkers of histories (check, linearizable) yet: it records no history');
  }
  const models = [scenario.network, ...scenario.network.links];
  if (models.some((m) => (m.duplicate ?? 0) > 0 || (m.reorder ?? 0) > 0)) {
    throw new RealModeUnsupportedError('--mode real cannot duplicate or reorder messages (only the simulator can)');
  }
  for (const f of scenario.faults) {
    if (f.kind === 'slow' && (f.slow.delay > slowDelayMsMax || f.slow.for > slowForMsMax)) {
      throw new RealModeUnsupportedError(`--mode real: a node's fault control slows by at most ${slowDelayMsMax / 1_000} s for at most ${slowForMsMax / 60_000} min; ${describeFault(f)} is beyond it`);
    }
  }
  const needs = needsNetns(scenario);
  if (network === 'loopback' && needs) {
    const kinds = [...new Set(scenario.faults.map((f) => f.kind).filter((k) => networkFaults.has(k)))];
    throw new RealModeUnsupportedError(`--mode real on loopback supports ${[...processFaults].join(', ')} faults; this scenario also ${kinds.length ? `has ${kinds.join(', ')}` : 'shapes latency or loss'} (network faults need network namespaces: --network netns)`);
  }
  const chosen: RealNetwork = network === 'auto' ? (needs ? 'netns' : 'loopback') : network;
  // The one dispatch's own check, so a kind added later is refused here until real mode learns it.
  try {
    refuseUnsupported({ cannot: realCannot(chosen) }, scenario.faults, '--mode real');
  } catch (error) {
    throw new RealModeUnsupportedError((error as Error).message);
  }
  if (chosen === 'netns') {
    const support = netnsSupport();
    if (!support.ok) throw new RealModeUnsupportedError(`this scenario needs network namespaces for a real run, and they are unavailable: ${support.reason}`);
    const latencies = [
      ...scenario.faults.flatMap((f) => (f.kind === 'latency' ? [{ latency: f.latency, to: f.to }] : [])),
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
  /** Writes each node process's log (JSON lines, debug level) to DIR/NAME.log, a restarted node's appended. @default none */
  nodeLogs?: string;
}

/**
 * Free UDP ports on 127.0.0.1, taken together and released at once, so every node's
 * address (and so the seeds) is known before any node starts, as in the simulator.
 */
async function freeLoopbackPorts(count: number): Promise<number[]> {
  const sockets = await Promise.all(Array.from({ length: count }, () => new Promise<Socket>((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve(socket));
  })));
  const ports = sockets.map((s) => s.address().port);
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

export async function runScenarioReal(scenario: Scenario, options: RealRunOptions): Promise<RunReport> {
  const network = checkRealSupport(scenario, options.network);
  if (options.nodeLogs !== undefined) mkdirSync(options.nodeLogs, { recursive: true });
  const wallStart = performance.now();
  const names = nodeNames(scenario);
  const certDir = mkdtempSync(join(tmpdir(), 'shoal-real-'));
  const observer = new RunObserver(names);
  const nodes = new Map<string, NodeProcess>();
  // Time zero is the first launch: the join is part of the run, as in the simulator.
  let t0 = Infinity;
  const now = () => performance.now() - t0;
  const shoalBin = packageFile('bin', 'shoal.js');
  const faultControl = scenario.faults.some((f) => f.kind === 'slow');
  let lab: NetnsLab | undefined;
  let ended = false;
  const steps = new RunSteps();

  /** Processes loaded and waiting for their start line (`--start-on-stdin`), by node, in the order they will start. */
  const standbys = new Map<string, Standby[]>();
  const waiting = new Set<ChildProcess>();

  /**
   * Spawns a node process that loads everything (the slow part: seconds under tsx on a
   * loaded machine) and waits; `start` then starts it at the instant the scenario says.
   */
  const spawnStandby = async (name: string, bind: string, admin: string, seeds: readonly string[]): Promise<Standby> => {
    const tags = Object.entries(scenarioTags(scenario, name)).map(([k, v]) => `${k}=${v}`).join(',');
    const swim = swimFlag(scenario);
    const args = [shoalBin, 'node', '--name', name, '--bind', bind, '--admin', admin, '--dev-certs', certDir,
      '--preset', scenario.cluster.preset, '--log-level', options.nodeLogs === undefined ? 'info' : 'debug', '--rpc-probe-ms', '60000', '--start-on-stdin',
      ...(faultControl ? ['--fault-control'] : []),
      ...(swim ? ['--swim', swim] : []), ...(tags ? ['--tags', tags] : []), ...(seeds.length ? ['--seeds', seeds.join(',')] : [])];
    const [command, argv] = lab === undefined ? [process.execPath, args] : lab.command(name, [process.execPath, ...args]);
    const child = spawn(command, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    waiting.add(child);
    const lines: string[] = [];
    const collect = (chunk: Buffer) => {
      lines.push(...chunk.toString().split('\n').filter((l) => l.length > 0));
      if (lines.length > 200) lines.splice(0, lines.length - 100);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    if (options.nodeLogs !== undefined) {
      const file = createWriteStream(join(options.nodeLogs, `${name}.log`), { flags: 'a' });
      child.stdout!.pipe(file);
      child.stderr!.pipe(file);
    }
    child.stdin!.on('error', () => undefined);
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const waitFor = async (text: string, since: number) => {
      for (;;) {
        const line = lines.find((l) => l.includes(text));
        if (line !== undefined) return line;
        if (child.exitCode !== null || performance.now() - since > realStartTimeoutMs) {
          child.kill('SIGKILL');
          throw new RealRunAbortedError(`node ${name} did not start:\n${lines.slice(-10).join('\n')}`);
        }
        await sleep(10);
      }
    };
    await waitFor('"node loaded"', performance.now());
    return {
      start: async () => {
        const startedAt = performance.now();
        child.stdin!.end('start\n');
        waiting.delete(child);
        const entry = JSON.parse(await waitFor('"node started"', startedAt)) as { address: string; admin: string };
        const node: NodeProcess = {
          name, child, address: entry.address, admin: entry.admin, stopped: false, events: new AbortController(), exited,
          startupMs: performance.now() - startedAt,
        };
        await follow(node);
        return node;
      },
    };
  };

  /** Starts the next standby process of `name` (or spawns one, if none is waiting). */
  const launch = async (name: string, bind: string, admin: string, seeds: readonly string[]): Promise<NodeProcess> => {
    const standby = standbys.get(name)?.shift() ?? await spawnStandby(name, bind, admin, seeds);
    return standby.start();
  };

  /**
   * Streams a node's membership events (server-sent events) into the observer; resolves once
   * the stream is open and the node's current view (from `/status`) is taken in, so joins
   * made before the stream connected are observed too.
   */
  const follow = async (node: NodeProcess): Promise<void> => {
    let response: Response;
    try {
      response = await fetch(`http://${node.admin}/events`, { signal: node.events.signal });
    } catch {
      return;
    }
    await refreshViews(observer, [node], (member) => observer.observe({ observer: node.name, timeMs: Math.max(0, now()), type: 'joined', member }));
    void (async () => {
      try {
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
    })();
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
    const ports = lab === undefined ? await freeLoopbackPorts(names.length) : [];
    const bindOf = new Map(names.map((n, i) => [n, lab === undefined ? `127.0.0.1:${ports[i]}` : `${lab.addressOf(n)}:${netnsGossipPort}`]));
    const adminOf = (n: string) => (lab === undefined ? '127.0.0.1:0' : `${lab.addressOf(n)}:${netnsAdminPort}`);
    // Every node joins through the scenario's seeds (default the first node), and so does a restarted one.
    const seedNames = scenario.cluster.seeds ?? [names[0]!];
    const seedsOf = (n: string) => seedNames.filter((s) => s !== n).map((s) => bindOf.get(s)!);
    const target = realFaultTarget({ network, lab, names, nodes, observer, now, isUp, stop, launch, bindOf, seedsOf });
    refuseUnsupported(target, scenario.faults, '--mode real');

    // Every process the run will start (one per node, and one per restart) is loaded before time zero.
    const restarts = scenario.faults.flatMap((f) => (f.kind === 'restart' ? asList(f.restart) : []));
    await Promise.all([...names, ...restarts].map(async (n) => {
      const standby = await spawnStandby(n, bindOf.get(n)!, adminOf(n), seedsOf(n));
      standbys.set(n, [...standbys.get(n) ?? [], standby]);
    }));
    const spread = scenario.cluster.startSpread;
    t0 = performance.now();
    names.forEach((name, i) => {
      const at = spread === 0 ? 0 : (spread * i) / Math.max(1, names.length - 1);
      steps.at(at, `the start of ${name}`, async () => {
        nodes.set(name, await launch(name, bindOf.get(name)!, adminOf(name), seedsOf(name)));
      });
    });
    for (const fault of scenario.faults) steps.at(fault.at, describeFault(fault), () => applyFault(target, fault));
    const convergedAt = new Map<number, { atMs: number | undefined; lastDisagreements: string[] }>();
    for (const e of scenario.expect) {
      if (e.kind !== 'converge-within') continue;
      const { after, within } = e['converge-within'];
      const entry = { atMs: undefined as number | undefined, lastDisagreements: [] as string[] };
      convergedAt.set(after, entry);
      steps.at(after, `the convergence check after ${formatDurationMs(after)}`, async () => {
        while (!ended && entry.atMs === undefined && now() <= Math.min(after + within, scenario.duration)) {
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
      });
    }
    await Promise.race([sleep(scenario.duration), steps.failed]);
    ended = true;
    steps.stop();
    await Promise.race([steps.settled(), steps.failed]);
    const record: RunRecord = { nodes: names, endMs: scenario.duration, observer, convergedAt, rpc: undefined };
    const expectations = checkExpectations(scenario.expect, record);
    const startups = [...nodes.values()].map((n) => n.startupMs).sort((a, b) => a - b);
    return {
      scenario: scenario.name, seed: options.seed, mode: 'real', ok: expectations.every((e) => e.ok),
      traceHash: '', simulatedMs: scenario.duration, wallMs: Math.round(performance.now() - wallStart),
      events: observer.observations.length, expectations,
      membership: membershipMetrics(record),
      rpc: undefined, reproduce: `${options.reproduce} --mode real`,
      notes: [
        `time zero is the first node's start, as in the simulator; every process was loaded before it, and took ${Math.round(startups[0] ?? 0)}–${Math.round(startups.at(-1) ?? 0)} ms from its start to listening (a simulated host starts at once)`,
        network === 'loopback'
          ? 'loopback: packets arrive within microseconds and none is lost (the simulator samples the scenario\'s latency model)'
          : 'network namespaces: cuts and loss are iptables rules, in place a few milliseconds after the fault time',
        ...(faultControl ? ['slow on a real node delays its inbound gossip datagrams; the simulator delays stream segments too'] : []),
      ],
    };
  } finally {
    ended = true;
    steps.stop();
    for (const child of waiting) child.kill('SIGKILL');
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

interface Standby {
  /** Sends the start line; resolves once the node listens and its events are followed. */
  start(): Promise<NodeProcess>;
}

interface RealTargetParts {
  network: RealNetwork;
  lab: NetnsLab | undefined;
  names: readonly string[];
  nodes: Map<string, NodeProcess>;
  observer: RunObserver;
  now: () => number;
  isUp: (name: string) => boolean;
  stop: (node: NodeProcess, signal: NodeJS.Signals) => Promise<void>;
  launch: (name: string, bind: string, admin: string, seeds: readonly string[]) => Promise<NodeProcess>;
  bindOf: ReadonlyMap<string, string>;
  seedsOf: (name: string) => string[];
}

/**
 * Real processes as a fault target: crash = SIGKILL, leave = SIGTERM (a graceful leave),
 * restart = a new process on the same address through the scenario's seeds, pause =
 * SIGSTOP / SIGCONT, slow = the node's `/fault` control; network faults as cuts and
 * iptables rules in the namespace lab (the same meaning as the simulator's: a partition
 * cuts both directions between every pair of groups, a one-way partition only from → to,
 * a bridge cuts a from b but not from the bridge node, heal removes every cut).
 */
function realFaultTarget(p: RealTargetParts): FaultTarget {
  const { lab, names, nodes, observer, isUp } = p;
  const inLab = (what: string, step: (lab: NetnsLab) => Promise<unknown>): Promise<void> => {
    if (lab === undefined) throw new RealModeUnsupportedError(`${what} needs the namespace lab`);
    return step(lab).then(() => undefined, (error: unknown) => {
      throw new ShoalError(`the namespace lab could not apply ${what}: ${(error as Error).message}`);
    });
  };
  const others = (group: readonly string[]) => names.filter((n) => !group.includes(n));
  const simulatorOnly = (kind: FaultKind) => {
    throw new RealModeUnsupportedError(`--mode real cannot apply ${kind} faults: ${realCannot(p.network)(kind)}`);
  };
  return {
    cannot: realCannot(p.network),
    nowMs: p.now,
    record: (fault) => observer.fault(fault),
    crash: async (ns) => {
      await Promise.all(ns.filter(isUp).map((n) => p.stop(nodes.get(n)!, 'SIGKILL')));
    },
    leave: (ns) => {
      for (const n of ns) {
        observer.leftAt.set(n, p.now());
        if (isUp(n)) void p.stop(nodes.get(n)!, 'SIGTERM');
      }
    },
    restart: async (ns) => {
      await Promise.all(ns.map(async (n) => {
        const old = nodes.get(n);
        if (old !== undefined && isUp(n)) await p.stop(old, 'SIGKILL');
        observer.leftAt.delete(n);
        observer.resetView(n);
        nodes.set(n, await p.launch(n, p.bindOf.get(n)!, old?.admin ?? '127.0.0.1:0', p.seedsOf(n)));
      }));
    },
    pause: (ns, forMs) => {
      for (const n of ns) {
        const node = nodes.get(n);
        if (node === undefined || !isUp(n)) continue;
        node.child.kill('SIGSTOP');
        setTimeout(() => node.child.kill('SIGCONT'), forMs);
      }
    },
    slow: async (ns, delayMs, forMs) => {
      await Promise.all(ns.filter(isUp).map(async (n) => {
        const response = await fetch(`http://${nodes.get(n)!.admin}/fault`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ slow: { delayMs: Math.round(delayMs), forMs: Math.round(forMs) } }),
          signal: AbortSignal.timeout(2_000),
        });
        if (!response.ok) throw new ShoalError(`node ${n} refused the slow fault: ${(await response.text()).trim()}`);
      }));
    },
    partition: (groups) => inLab('a partition', (l) => Promise.all(groups.map((g) => l.cut(g, groups.flat().filter((n) => !g.includes(n)))))),
    oneway: (from, to) => inLab('a one-way partition', (l) => l.cut(from, to)),
    bridge: (a, _via, b) => inLab('a bridge', (l) => Promise.all([l.cut(a, b), l.cut(b, a)])),
    isolate: (node) => inLab('isolate', (l) => Promise.all([l.cut([node], others([node])), l.cut(others([node]), [node])])),
    heal: () => inLab('heal', (l) => l.repair()),
    repair: (a, b) => inLab('repair', (l) => l.repair(a, b)),
    loss: (loss, from, to) => inLab('loss', (l) => l.setLoss(from ?? names, to ?? names, loss)),
    latency: (latency, from) => inLab('latency', (l) => l.setLatency(from ?? names, latency)),
    hold: () => simulatorOnly('hold'),
    release: () => simulatorOnly('release'),
    skew: () => simulatorOnly('skew'),
    drift: () => simulatorOnly('drift'),
  };
}

/** The scenario's standing network model (loss, per-link loss, sender latency), applied in the lab before the nodes start. */
async function shapeNetwork(lab: NetnsLab, scenario: Scenario): Promise<void> {
  const all = lab.nodes;
  if ((scenario.network.loss ?? 0) > 0) await lab.setLoss(all, all, scenario.network.loss!);
  if (scenario.network.latency !== undefined) await lab.setLatency(all, scenario.network.latency);
  for (const link of scenario.network.links) {
    if (link.loss !== undefined) await lab.setLoss(asList(link.from), asList(link.to), link.loss);
    if (link.latency !== undefined) await lab.setLatency(asList(link.from), link.latency);
  }
}

/** Replaces the observer's views of `nodes` with what their `/status` says now. */
async function refreshViews(observer: RunObserver, nodes: readonly NodeProcess[], joinedUnseen?: (member: string) => void): Promise<void> {
  await Promise.all(nodes.map(async (node) => {
    try {
      const response = await fetch(`http://${node.admin}/status`, { signal: AbortSignal.timeout(1_000) });
      const status = await response.json() as { members: { name: string; state: 'alive' | 'suspect' | 'dead' | 'left' }[] };
      const view = observer.views.get(node.name);
      if (view === undefined) return;
      // A member alive in the node's view that its events never reported joined before the stream connected.
      if (joinedUnseen !== undefined) for (const m of status.members) if (m.name !== node.name && m.state === 'alive' && view.get(m.name) !== 'alive') joinedUnseen(m.name);
      view.clear();
      for (const m of status.members) if (m.name !== node.name) view.set(m.name, m.state);
    } catch {
      // A node that does not answer keeps the view its events built.
    }
  }));
}

