import { mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSwimConfig, suspicionTimeoutBoundsMs } from '../../core/swim/index.ts';
import { startNode, stateOf, status, waitFor, type NodeProcess } from './node-harness.ts';

// Five real `shoal node` processes on loopback, LOCAL preset with short intervals.
const names = ['n0', 'n1', 'n2', 'n3', 'n4'];
const swimOverrides = { probeIntervalMs: 200, probeTimeoutMs: 100, gossipIntervalMs: 50, pushPullIntervalMs: 2_000, joinRetryIntervalMs: 300 };
const swimFlag = Object.entries(swimOverrides).map(([k, v]) => `${k}=${v}`).join(',');
const config = resolveSwimConfig({ preset: 'local', ...swimOverrides });

/**
 * The detection bound the configuration predicts for a crashed member in an n-member
 * cluster, as seen by every survivor:
 * - some member probes it within one pass of its shuffled probe list; across a reshuffle the
 *   gap is at most 2(n − 1) periods, plus the probe timeout;
 * - the suspicion runs at most its Lifeguard maximum (no confirmations assumed);
 * - the `failed` broadcast then reaches everyone in a few gossip rounds (log(n) rounds of
 *   fan-out 3; we allow retransmitLimit rounds, which is when the sender stops trying);
 * - plus the test's own polling interval and a scheduling slack for 5 processes on 2 cores.
 */
const n = names.length;
const { maxMs: suspicionMaxMs } = suspicionTimeoutBoundsMs(config.suspicionMult, config.suspicionMaxTimeoutMult, n, config.probeIntervalMs);
const retransmitRounds = config.retransmitMult * Math.ceil(Math.log10(n + 1));
const pollMs = 100;
const schedulingSlackMs = 1_000;
const detectionBoundMs = 2 * (n - 1) * config.probeIntervalMs + config.probeTimeoutMs + suspicionMaxMs
  + retransmitRounds * config.gossipIntervalMs + pollMs + schedulingSlackMs;

let certDir = '';
const nodes = new Map<string, NodeProcess>();
const everStarted: NodeProcess[] = [];

function flags(name: string, extra: readonly string[] = []): string[] {
  return ['--preset', 'local', '--swim', swimFlag, '--cert', join(certDir, `${name}.pem`), '--key', join(certDir, `${name}.key`),
    '--ca', join(certDir, 'ca.pem'), '--mtls', '--gossip-key-file', join(certDir, 'gossip.key'), '--rpc-probe-ms', '300', '--log-level', 'info', ...extra];
}

async function launch(name: string, extra: readonly string[]): Promise<NodeProcess> {
  const node = await startNode(name, flags(name, extra));
  everStarted.push(node);
  nodes.set(name, node);
  return node;
}

function others(except: string): NodeProcess[] {
  return [...nodes.values()].filter((p) => p.name !== except);
}

async function views(): Promise<string> {
  const lines = await Promise.all([...nodes.values()].map(async (p) => {
    const s = await status(p);
    return `${p.name}: ${s === undefined ? 'no answer' : s.members.map((m) => `${m.name}=${m.state}/${m.incarnation}`).join(' ')}`;
  }));
  return lines.join('\n');
}

beforeAll(async () => {
  certDir = mkdtempSync(join(tmpdir(), 'shoal-node-'));
  execFileSync(join(import.meta.dirname, '..', '..', 'certs', 'make-dev-certs.sh'), [certDir, ...names], { stdio: 'ignore' });
  const first = await launch('n0', ['--bind', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
  await Promise.all(names.slice(1).map((name) => launch(name, ['--bind', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--seeds', first.address])));
});

afterAll(() => {
  for (const p of everStarted) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  if (certDir !== '') rmSync(certDir, { recursive: true, force: true });
});

describe('a 5-process cluster over QUIC on loopback', () => {
  it('forms: every node sees all five alive and is ready', async () => {
    await waitFor(async () => {
      const all = await Promise.all([...nodes.values()].map((p) => status(p)));
      return all.every((s) => s !== undefined && s.ready && s.members.length === n && s.members.every((m) => m.state === 'alive'));
    }, 15_000, views);
  });

  it('serves shoal.node.v1/status between nodes and counts it in /metrics', async () => {
    const node = nodes.get('n1')!;
    let text = '';
    await waitFor(async () => {
      text = await (await fetch(`http://${node.admin}/metrics`)).text();
      return /shoal_rpc_client_calls_total\{method="shoal\.node\.v1\/status",code="OK"[^}]*\} [1-9]/.test(text)
        && /shoal_rpc_server_calls_total\{method="shoal\.node\.v1\/status",code="OK"[^}]*\} [1-9]/.test(text);
    }, 5_000, () => text);
    expect(text).toMatch(/shoal_members\{state="alive",node="n1"\} 5/);
    expect(text).toMatch(/shoal_gossip_dropped_unauthenticated_total\{node="n1"\} 0/);
    expect(text).toMatch(/shoal_rpc_server_latency_seconds_count\{node="n1",method="shoal\.node\.v1\/status"\} [1-9]/);
  });

  it(`kill -9: every survivor reports it failed within the predicted bound (${detectionBoundMs} ms)`, async () => {
    const victim = nodes.get('n2')!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    const detectedMs = await Promise.all(others('n2').map((observer) =>
      waitFor(async () => (await stateOf(observer, 'n2')) === 'dead', detectionBoundMs, async () => `${observer.name} did not report n2 failed\n${await views()}`, pollMs)));
    expect(Math.max(...detectedMs)).toBeLessThanOrEqual(detectionBoundMs);
  });

  it('restarted on the same address, it rejoins and everyone sees it alive', async () => {
    const old = nodes.get('n2')!;
    const restarted = await launch('n2', ['--bind', old.address, '--admin', old.admin, '--seeds', nodes.get('n0')!.address]);
    await waitFor(async () => {
      const all = await Promise.all([...nodes.values()].map((p) => status(p)));
      return all.every((s) => s !== undefined && s.members.filter((m) => m.state === 'alive').length === n);
    }, 15_000, views);
    expect((await status(restarted))?.ready).toBe(true);
  });

  it('SIGTERM: the node leaves gracefully (others see left, not failed) and exits 0', async () => {
    const leaver = nodes.get('n3')!;
    leaver.child.kill('SIGTERM');
    expect(await leaver.exited).toBe(0);
    nodes.delete('n3');
    await waitFor(async () => (await Promise.all(others('n3').map((p) => stateOf(p, 'n3')))).every((s) => s === 'left'), 5_000, views);
    // Still `left` after a suspicion timeout's worth: nobody later declares it failed.
    await new Promise((resolve) => setTimeout(resolve, suspicionMaxMs / 2));
    const states = await Promise.all(others('n3').map((p) => stateOf(p, 'n3')));
    expect(states).toEqual(states.map(() => 'left'));
    expect(leaver.lines.some((l) => l.includes('"leaving the cluster"'))).toBe(true);
  });
});
