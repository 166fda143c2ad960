import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Env } from '../../core/index.ts';
import {
  FrameFlag, FrameType, RpcServer, RpcSession, decodeTrailer, defaultLimits, defineService, encodeHeaders, encodeMetadata, msgpackCodec,
  statusName, unary, type StatusName, type UnservedCall,
} from '../../core/rpc/index.ts';
import { emptyStats, type Swim } from '../../core/swim/index.ts';
import { createRealEnv } from '../../net-real/env.ts';
import { NodeMetrics, ensureDevCerts, servedCallInterceptor } from '../../net-real/node/index.ts';
import type { QuicTransport } from '../../net-real/quic-transport.ts';
import { loadTlsMaterial } from '../../net-real/tls.ts';
import { Simulation } from '../../sim/index.ts';
import { startNode, status, waitFor, type NodeProcess } from './node-harness.ts';

/**
 * A caller that ignores the limits the server advertises (a flood, or another implementation):
 * it writes HEADERS and requests straight onto the session and collects the trailers.
 */
function rawCaller(env: Env, address: string) {
  const codes = new Map<number, StatusName>();
  let nextCallId = 1;
  let ready = false;
  const connection = env.transport.streams.connect(address);
  const session = new RpcSession(env, connection, { limits: defaultLimits, pingIntervalMs: 1_000 }, {
    onReady: () => (ready = true),
    onFrame: (type, _flags, callId, payload) => {
      if (type === FrameType.TRAILER) codes.set(callId, statusName(decodeTrailer(payload).status));
    },
    onGoaway: () => undefined,
    onClosed: () => undefined,
    highestCallId: () => nextCallId - 1,
  });
  session.attach(connection.openStream());
  return {
    get ready() {
      return ready;
    },
    session,
    /** Starts a unary call; without `request` only HEADERS go out and the request never follows. */
    start(method: string, request?: unknown, timeoutMs = 0): void {
      const id = nextCallId++;
      session.send(FrameType.HEADERS, 0, id, encodeHeaders(method, timeoutMs, encodeMetadata(undefined)));
      if (request !== undefined) session.send(FrameType.MESSAGE, FrameFlag.END, id, msgpackCodec.encode(request));
    },
    /** Trailers received, by status. */
    tally(): Record<string, number> {
      const out: Record<string, number> = {};
      for (const code of codes.values()) out[code] = (out[code] ?? 0) + 1;
      return out;
    },
  };
}

const Probe = defineService('probe.v1', {
  /** Answers after `ms`, ignoring cancellation. */
  wait: unary<{ ms: number }, { done: boolean }>(),
  /** Never answers and ignores cancellation. */
  hang: unary<Record<string, never>, { done: boolean }>(),
});

/** A server of `Probe` in a simulation, reporting every call through the interceptor or `onUnserved`. */
function simRig(seed: number, maxConcurrentCalls = 1_000) {
  const sim = new Simulation({ seed, network: { latency: { kind: 'constant', ms: 1 } } });
  const served: { method: string; code: string; atMs: number }[] = [];
  const unserved: UnservedCall[] = [];
  const serverAddress = sim.host('server', (ctx) => new RpcServer(ctx, {
    limits: { maxConcurrentCalls },
    interceptors: [servedCallInterceptor(() => ctx.clock.now(), {
      started: () => undefined,
      ended: (call, code) => served.push({ method: call.method, code, atMs: ctx.clock.now() }),
    })],
    onUnserved: (call) => unserved.push(call),
  }).register(Probe, {
    wait: ({ ms }) => new Promise((resolve) => ctx.clock.setTimer(ms, () => resolve({ done: true }))),
    hang: () => new Promise(() => undefined),
  }).listen());
  sim.host('client', (ctx) => rawCaller(ctx, serverAddress));
  const caller = () => sim.app<ReturnType<typeof rawCaller>>('client')!;
  return { sim, served, unserved, caller, server: () => sim.app<RpcServer>('server')! };
}

function tallyCodes(items: readonly { code: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { code } of items) out[code] = (out[code] ?? 0) + 1;
  return out;
}

describe('every call that reaches the server is reported once (simulated)', () => {
  it('calls refused over maxConcurrentCalls and for an unknown method reach onUnserved; the rest the interceptors', async () => {
    const { sim, served, unserved, caller } = simRig(71, 4);
    await sim.runUntilConditionAsync(() => caller().ready, 5_000);
    caller().start('nope.v1/x', {});
    for (let i = 0; i < 10; i++) caller().start('probe.v1/wait', { ms: 1_000 });
    await sim.runUntilConditionAsync(() => Object.values(caller().tally()).reduce((a, b) => a + b, 0) === 11, sim.nowMs + 5_000);
    expect(caller().tally()).toEqual({ UNIMPLEMENTED: 1, RESOURCE_EXHAUSTED: 6, OK: 4 });
    expect(unserved.map((c) => [c.method, c.code, c.refused])).toEqual([
      [undefined, 'UNIMPLEMENTED', true], ...Array.from({ length: 6 }, () => ['probe.v1/wait', 'RESOURCE_EXHAUSTED', true]),
    ]);
    expect(tallyCodes(served)).toEqual({ OK: 4 });
  });

  it('a call whose connection dies mid-call ends its interceptor with UNAVAILABLE, even when the handler ignores its signal', async () => {
    const { sim, served, unserved, caller, server } = simRig(72);
    await sim.runUntilConditionAsync(() => caller().ready, 5_000);
    for (let i = 0; i < 3; i++) caller().start('probe.v1/hang', {});
    caller().start('probe.v1/wait');
    await sim.runUntilConditionAsync(() => server().activeCalls === 4, sim.nowMs + 1_000);
    sim.crash('client');
    // The server learns of the loss within its idle timeout (nothing more is heard from the caller).
    const lostAtMs = sim.nowMs;
    await sim.runUntilConditionAsync(() => served.length === 3 && unserved.length === 1, sim.nowMs + 3 * defaultLimits.idleTimeoutMs);
    expect(tallyCodes(served)).toEqual({ UNAVAILABLE: 3 });
    expect(unserved).toEqual([{ method: 'probe.v1/wait', code: 'UNAVAILABLE', peer: expect.any(String), refused: false }]);
    expect(Math.max(...served.map((s) => s.atMs)) - lostAtMs).toBeLessThanOrEqual(2 * defaultLimits.idleTimeoutMs);
    expect(server().activeCalls).toBe(0);
  });

  it('a call past its deadline ends its interceptor with DEADLINE_EXCEEDED then, not OK when the handler returns later', async () => {
    const { sim, served, caller } = simRig(73);
    await sim.runUntilConditionAsync(() => caller().ready, 5_000);
    const startedAtMs = sim.nowMs;
    caller().start('probe.v1/wait', { ms: 5_000 }, 100);
    await sim.runForAsync(6_000);
    expect(served.map((s) => s.code)).toEqual(['DEADLINE_EXCEEDED']);
    expect(served[0]!.atMs - startedAtMs).toBeLessThan(200);
    expect(caller().tally()).toEqual({ DEADLINE_EXCEEDED: 1 });
  });
});

describe('NodeMetrics exports by rule', () => {
  it('every numeric SwimStats field, the transport refusals by reason, and refused calls', async () => {
    const stats = { ...emptyStats(), probes: 7, pushPulls: 3, membersRefusedTotal: 2, someNewCounter: 5 };
    const swim = { members: () => [], localHealth: 0, incarnation: 0, stats } as unknown as Swim;
    const transport = { connectionCount: 1, droppedUnauthenticated: 0, quicPacketsSent: 9, refusals: { connections: 4, unknown_datagram: 2 } } as unknown as QuicTransport;
    const metrics = new NodeMetrics(swim, transport, { node: 'n1' });
    metrics.onServerCallUnserved({ side: 'server', method: 'a.v1/b', code: 'RESOURCE_EXHAUSTED', latencyMs: undefined, peer: 'p', refused: true });
    metrics.onServerCallUnserved({ side: 'server', method: 'a.v1/b', code: 'UNAVAILABLE', latencyMs: undefined, peer: 'p', refused: false });
    const text = await metrics.text();
    expect(metric(text, 'shoal_swim_probes_total', {})).toBe(7);
    expect(metric(text, 'shoal_swim_pushpulls_total', {})).toBe(3);
    expect(metric(text, 'shoal_swim_members_refused_total', {})).toBe(2);
    expect(metric(text, 'shoal_swim_some_new_counter_total', {})).toBe(5);
    expect(metric(text, 'shoal_transport_refused_total', { reason: 'connections' })).toBe(4);
    expect(metric(text, 'shoal_transport_refused_total', { reason: 'unknown_datagram' })).toBe(2);
    expect(metric(text, 'shoal_rpc_server_calls_total', { method: 'a.v1/b', code: 'RESOURCE_EXHAUSTED' })).toBe(1);
    expect(metric(text, 'shoal_rpc_server_calls_total', { method: 'a.v1/b', code: 'UNAVAILABLE' })).toBe(1);
    expect(metric(text, 'shoal_rpc_server_refused_total', { code: 'RESOURCE_EXHAUSTED' })).toBe(1);
    expect(metric(text, 'shoal_rpc_server_refused_total', { code: 'UNAVAILABLE' })).toBeNaN();
  });
});

interface NodeStatus {
  transport: { refused: Record<string, number> };
  rpc: { refused: Record<string, number>; calls: { server: Record<string, Record<string, number>> }; inFlight: { server: Record<string, number> } };
}

describe('a call flood against a real node', () => {
  let certDir = '';
  let node: NodeProcess | undefined;

  afterAll(() => {
    if (node !== undefined && node.child.exitCode === null) node.child.kill('SIGKILL');
    if (certDir !== '') rmSync(certDir, { recursive: true, force: true });
  });

  it('calls refused over maxConcurrentCalls and calls abandoned by a lost connection show in /metrics and /status', async () => {
    certDir = mkdtempSync(join(tmpdir(), 'shoal-refusals-'));
    node = await startNode('solo', ['--bind', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--dev-certs', certDir, '--preset', 'local',
      '--tags', 'role=worker', '--rpc-probe-ms', '0']);
    const tls = await loadTlsMaterial({ ...await ensureDevCerts(certDir, 'flooder'), mutual: true }, ['clientAuth']);
    const real = await createRealEnv({ bind: '127.0.0.1:0', tls });
    const compute = 'cluster.worker.v1/compute';
    const limit = defaultLimits.maxConcurrentCalls;
    const flood = limit + 500;
    try {
      const caller = rawCaller(real.env, node.address);
      await waitFor(async () => caller.ready, 10_000, () => 'the flooding caller never connected', 20);
      for (let i = 0; i < flood; i++) caller.start(compute, { n: 2, serviceMs: 30_000 });
      await waitFor(async () => (caller.tally().RESOURCE_EXHAUSTED ?? 0) === flood - limit, 10_000, () => JSON.stringify(caller.tally()), 50);
      const during = await status(node) as unknown as NodeStatus;
      expect(during.rpc.refused).toEqual({ RESOURCE_EXHAUSTED: flood - limit });
      expect(during.rpc.calls.server[compute]).toEqual({ RESOURCE_EXHAUSTED: flood - limit });
      expect(Object.values(during.rpc.inFlight.server).reduce((a, b) => a + b, 0)).toBe(limit);
      const text = await (await fetch(`http://${node.admin}/metrics`)).text();
      expect(metric(text, 'shoal_rpc_server_calls_total', { method: compute, code: 'RESOURCE_EXHAUSTED' })).toBe(flood - limit);
      expect(metric(text, 'shoal_rpc_server_refused_total', { code: 'RESOURCE_EXHAUSTED' })).toBe(flood - limit);
      for (const [reason, n] of Object.entries(during.transport.refused)) expect(metric(text, 'shoal_transport_refused_total', { reason })).toBe(n);
    } finally {
      // The caller goes away with its calls running: the node must count them as they end.
      await real.close();
    }
    const calls = async () => ((await status(node!)) as unknown as NodeStatus | undefined)?.rpc.calls.server[compute];
    await waitFor(async () => (await calls())?.UNAVAILABLE === limit, 3 * defaultLimits.idleTimeoutMs, async () => JSON.stringify(await calls()));
    const after = await status(node) as unknown as NodeStatus;
    expect(after.rpc.inFlight.server).toEqual({});
    const text = await (await fetch(`http://${node.admin}/metrics`)).text();
    expect(metric(text, 'shoal_rpc_server_calls_total', { method: compute, code: 'UNAVAILABLE' })).toBe(limit);
  }, 60_000);
});

/** The value of one series in Prometheus text, matched on the given labels; NaN when absent. */
function metric(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
  }
  return Number.NaN;
}
