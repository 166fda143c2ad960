import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectorClient, DirectorService } from '../../examples/director-worker/index.ts';
import { RpcClient } from '../../core/rpc/index.ts';
import { createRealEnv, type RealEnv } from '../../net-real/index.ts';
import { AttachSource, ClusterModel } from '../../tui/index.ts';
import { sleep, startNode, status, waitFor, type NodeProcess } from './node-harness.ts';

// The director/worker example over real QUIC: 1 director + 3 workers as `shoal node`
// processes on loopback, and a client in this process calling through the director. The
// nodes load the example as an app (`--app examples/director-worker/app.ts`), except w2,
// which runs it the flag way (no `--app`: every node runs the example by default), so
// both paths are shown to make the same member.
const workerNames = ['w0', 'w1', 'w2'];
const appFile = 'examples/director-worker/app.ts';
const swimFlag = 'probeIntervalMs=200,probeTimeoutMs=100,gossipIntervalMs=50,pushPullIntervalMs=2000,joinRetryIntervalMs=300';
/** Calls issued, one every `issueEveryMs`: a bounded rate, so 2 cores keep up. */
const callsTotal = 160;
const issueEveryMs = 25;
/** The victim is killed after this many calls were issued. */
const killAfterCalls = 50;
/** Silence after which the client gives up on a worker and asks the director for another. */
const silenceMsMax = 300;

/** What the example app reports (`node.report`), as `/status` shows it under `apps`. */
interface ExampleValues {
  worker: boolean;
  director: string | false;
  workerFilter: string;
  started?: number;
  assignments?: number;
  workers?: number;
}

interface RpcStatus {
  rpc: { callsPerSec: number; latencyMsP50: number; latencyMsP99: number; perWorker: Record<string, number>; calls: { server: Record<string, Record<string, number>> } };
  apps: { 'director-worker'?: ExampleValues };
  members: { name: string; state: string }[];
}

let certDir = '';
let director: NodeProcess;
const workers = new Map<string, NodeProcess>();
let client: RealEnv | undefined;

function tlsFlags(name: string): string[] {
  return ['--cert', join(certDir, `${name}.pem`), '--key', join(certDir, `${name}.key`), '--ca', join(certDir, 'ca.pem'),
    '--mtls', '--gossip-key-file', join(certDir, 'gossip.key')];
}

function common(name: string): string[] {
  return ['--preset', 'local', '--swim', swimFlag, ...tlsFlags(name), '--rpc-probe-ms', '0', '--bind', '127.0.0.1:0', '--admin', '127.0.0.1:0'];
}

async function rpcStatus(node: NodeProcess): Promise<RpcStatus | undefined> {
  return await status(node) as unknown as RpcStatus | undefined;
}

async function example(node: NodeProcess): Promise<ExampleValues | undefined> {
  return (await rpcStatus(node))?.apps['director-worker'];
}

async function describeCluster(): Promise<string> {
  const all = [director, ...workers.values()];
  const lines = await Promise.all(all.map(async (p) => `${p.name}: ${JSON.stringify(await example(p) ?? 'no answer')}`));
  return lines.join('\n');
}

beforeAll(async () => {
  certDir = mkdtempSync(join(tmpdir(), 'shoal-dw-'));
  execFileSync(join(import.meta.dirname, '..', '..', 'certs', 'make-dev-certs.sh'), [certDir, 'director', ...workerNames, 'client'], { stdio: 'ignore' });
  director = await startNode('director', [...common('director'), '--tags', 'role=director', '--app', appFile, '--app-config', '{"director":"round-robin"}']);
  const started = await Promise.all(workerNames.map((name) =>
    startNode(name, [...common(name), '--tags', `role=worker,label=${name}`, '--seeds', director.address, ...name === 'w2' ? [] : ['--app', appFile]])));
  for (const w of started) workers.set(w.name, w);
  const read = (file: string) => readFileSync(join(certDir, file), 'utf8');
  client = await createRealEnv({ bind: '127.0.0.1:0', tls: { cert: read('client.pem'), key: read('client.key'), ca: read('ca.pem'), mutual: true }, idleTimeoutMs: 2_000 });
}, 60_000);

afterAll(async () => {
  await client?.close();
  for (const p of [director, ...workers.values()]) if (p !== undefined && p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  if (certDir !== '') rmSync(certDir, { recursive: true, force: true });
});

describe('director/worker over real QUIC on loopback', () => {
  it('forms: the director lists all three workers, each worker serves the worker service', async () => {
    await waitFor(async () => (await example(director))?.workers === workerNames.length, 15_000, describeCluster);
    expect(await example(director)).toMatchObject({ worker: false, director: 'round-robin', workerFilter: 'role=worker', assignments: 0 });
    for (const w of workers.values()) expect(await example(w)).toEqual({ worker: true, director: false, workerFilter: 'role=worker', started: 0, tokens: 0 });
  });

  it('a worker SIGKILLed under load: every call ends once with success, load spreads before and after, the director drops it', async () => {
    const rpc = new RpcClient(client!.env);
    const directorClient = new DirectorClient(client!.env, rpc, director.address, { silenceMsMax, assignmentsMax: 8 });
    const victim = workers.get('w1')!;
    const outcomes: { n: number; issuedAfterKill: boolean; worker?: string; result?: number; error?: string; settled: number }[] = [];
    let killed = false;
    const pending: Promise<void>[] = [];
    for (let n = 0; n < callsTotal; n++) {
      if (n === killAfterCalls) {
        victim.child.kill('SIGKILL');
        killed = true;
      }
      const outcome: (typeof outcomes)[number] = { n, issuedAfterKill: killed, settled: 0 };
      outcomes.push(outcome);
      pending.push(directorClient.compute(n, 2).then(
        (r) => {
          outcome.settled++;
          outcome.worker = r.worker;
          outcome.result = r.result;
        },
        (error: unknown) => {
          outcome.settled++;
          outcome.error = String(error);
        },
      ));
      await sleep(issueEveryMs);
    }
    await Promise.all(pending);
    await victim.exited;

    const failed = outcomes.filter((o) => o.error !== undefined);
    expect(failed, JSON.stringify(failed.slice(0, 5))).toEqual([]);
    expect(outcomes.every((o) => o.settled === 1 && o.result === o.n * o.n)).toBe(true);
    expect(directorClient.failovers, 'no call was assigned the killed worker: the test did not exercise fail-over').toBeGreaterThan(0);

    const share = (calls: typeof outcomes) => {
      const counts: Record<string, number> = {};
      for (const o of calls) counts[o.worker!] = (counts[o.worker!] ?? 0) + 1;
      return counts;
    };
    const before = share(outcomes.filter((o) => !o.issuedAfterKill));
    expect(Object.keys(before).sort()).toEqual(workerNames);
    for (const name of workerNames) expect(before[name], JSON.stringify(before)).toBeGreaterThanOrEqual(killAfterCalls / 6);
    // After the kill only the survivors serve, and both take a fair share (round robin).
    const afterCalls = outcomes.filter((o) => o.issuedAfterKill);
    const after = share(afterCalls);
    expect(Object.keys(after).sort()).toEqual(['w0', 'w2']);
    for (const name of ['w0', 'w2']) expect(after[name], JSON.stringify(after)).toBeGreaterThanOrEqual(afterCalls.length / 4);

    // The director reports the dead worker gone: failed in membership, out of the pool.
    await waitFor(async () => {
      const d = await rpcStatus(director);
      return d !== undefined && d.members.find((m) => m.name === 'w1')?.state === 'dead' && d.apps['director-worker']?.workers === 2;
    }, 10_000, describeCluster);
    const pool = await rpc.service(DirectorService, director.address).workers({}, { timeoutMs: 2_000 });
    expect(pool.workers.map((w) => w.name).sort()).toEqual(['w0', 'w2']);

    // The director's /status counts the assignments it served.
    const d = (await rpcStatus(director))!;
    expect(d.rpc.calls.server['cluster.director.v1/assign']?.OK).toBeGreaterThanOrEqual(callsTotal);
    // ... and so does the app: one assignment per successful `assign`.
    expect(d.apps['director-worker']?.assignments).toBe(d.rpc.calls.server['cluster.director.v1/assign']?.OK);
    expect(d.rpc.latencyMsP99).toBeGreaterThanOrEqual(d.rpc.latencyMsP50);
    const w0 = (await rpcStatus(workers.get('w0')!))!;
    expect(w0.rpc.calls.server['cluster.worker.v1/compute']?.OK).toBe(before.w0! + after.w0!);
    expect(w0.apps['director-worker']?.started).toBeGreaterThanOrEqual(before.w0! + after.w0!);
    // The dashboard attached to the director fills its RPC panel from that summary.
    const model = new ClusterModel();
    await new AttachSource({ target: director.admin, model }).poll();
    expect(model.rpc()?.callsPerSec).toBeGreaterThan(0);
    expect(model.rpc()?.successRatio).toBe(1);
    rpc.close();
  }, 40_000);
});
