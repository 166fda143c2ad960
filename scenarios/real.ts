import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShoalError } from '../core/index.ts';
import { checkExpectations, falseFailures, type RunRecord } from './expectations.ts';
import { scenarioSwimConfig, scenarioTags } from './membership.ts';
import { RunObserver } from './observe.ts';
import { convergenceSampleMs, nodeNames, type RunReport } from './runner.ts';
import type { Fault, Scenario } from './schema.ts';

/**
 * `shoal run --mode real`: the same scenario with real `shoal node` processes on loopback
 * (QUIC + encrypted gossip), faults applied for real, and the same expectations checked
 * against the membership events each node streams from its admin endpoint. On loopback
 * the faults a process can suffer are supported: crash (SIGKILL), restart, leave
 * (SIGTERM) and pause (SIGSTOP / SIGCONT). Network faults need network namespaces and are
 * refused with a clear error.
 */
export class RealModeUnsupportedError extends ShoalError {
  override readonly code = 'REAL_MODE_UNSUPPORTED';
}

const supported = ['crash', 'restart', 'leave', 'pause'] as const;

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

export function checkRealSupport(scenario: Scenario): void {
  const bad = scenario.faults.filter((f) => !supported.some((k) => k in f));
  if (bad.length > 0) {
    const kinds = [...new Set(bad.map((f) => Object.keys(f).find((k) => k !== 'at' && k !== 'for' && k !== 'from' && k !== 'to')))];
    throw new RealModeUnsupportedError(`--mode real on loopback supports ${supported.join(', ')} faults; this scenario also has ${kinds.join(', ')} (network faults need network namespaces)`);
  }
  if (scenario.workload !== undefined) throw new RealModeUnsupportedError('--mode real does not run workloads yet');
  if (scenario.network.links.length > 0 || (scenario.network.loss ?? 0) > 0 || scenario.network.latency !== undefined) {
    throw new RealModeUnsupportedError('--mode real on loopback cannot shape latency or loss (that needs tc netem in network namespaces)');
  }
}

function swimFlag(scenario: Scenario): string {
  const { preset: _preset, ...overrides } = scenarioSwimConfig(scenario);
  return Object.entries(overrides).map(([k, v]) => `${k}=${v}`).join(',');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function runScenarioReal(scenario: Scenario, options: { seed: number; reproduce: string }): Promise<RunReport> {
  checkRealSupport(scenario);
  const wallStart = performance.now();
  const names = nodeNames(scenario);
  const certDir = mkdtempSync(join(tmpdir(), 'shoal-real-'));
  const observer = new RunObserver(names);
  const nodes = new Map<string, NodeProcess>();
  let t0 = Infinity;
  const now = () => performance.now() - t0;
  const shoalBin = join(import.meta.dirname, '..', 'bin', 'shoal.js');

  const launch = async (name: string, bind: string, admin: string, seeds: string[]): Promise<NodeProcess> => {
    const tags = Object.entries(scenarioTags(scenario, name)).map(([k, v]) => `${k}=${v}`).join(',');
    const swim = swimFlag(scenario);
    const args = [shoalBin, 'node', '--name', name, '--bind', bind, '--admin', admin, '--dev-certs', certDir,
      '--preset', scenario.cluster.preset, '--log-level', 'info', '--rpc-probe-ms', '60000',
      ...(swim ? ['--swim', swim] : []), ...(tags ? ['--tags', tags] : []), ...(seeds.length ? ['--seeds', seeds.join(',')] : [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
    // Certificates are made once, up front: nodes starting in parallel would race on the CA.
    execFileSync('bash', [join(import.meta.dirname, '..', 'certs', 'make-dev-certs.sh'), certDir, ...names], { stdio: 'ignore' });
    const first = await launch(names[0]!, '127.0.0.1:0', '127.0.0.1:0', []);
    nodes.set(first.name, first);
    const seeds = (scenario.cluster.seeds ?? [names[0]!]).map((n) => nodes.get(n)?.address).filter((a): a is string => a !== undefined);
    const rest = await Promise.all(names.slice(1).map((n) => launch(n, '127.0.0.1:0', '127.0.0.1:0', seeds.length ? seeds : [first.address])));
    for (const node of rest) nodes.set(node.name, node);
    const formed = await waitFormed(nodes, names.length);
    t0 = performance.now();
    // Joins that happened before a node's event stream connected are taken from its /status.
    for (const [name, alive] of formed) {
      const view = observer.views.get(name)!;
      for (const member of alive) if (member !== name && view.get(member) !== 'alive') observer.observe({ observer: name, timeMs: 0, type: 'joined', member });
    }

    const apply = async (fault: Fault) => {
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
  }
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
