import { describe, expect, it } from 'vitest';
import { RpcError } from '../../core/rpc/index.ts';
import type { ServerCallContext } from '../../core/rpc/index.ts';
import {
  RpcStats, otherMethodLabel, rpcStatsLatencySamplesMax, rpcStatsMethodsMax, rpcStatsWindowSeconds, servedCallInterceptor,
  unknownMethodLabel, unservedCallRecord,
} from '../../net-real/node/index.ts';

function clock(startMs = 100_000) {
  const c = { nowMs: startMs, now: () => c.nowMs };
  return c;
}

describe('RpcStats (the rpc field of /status)', () => {
  it('counts by side, method and status, and computes the rate, success ratio and percentiles over the window', () => {
    const c = clock();
    const stats = new RpcStats(c.now);
    for (let i = 1; i <= 100; i++) {
      stats.record({ side: 'client', method: 'cluster.worker.v1/compute', code: i % 10 === 0 ? 'UNAVAILABLE' : 'OK', latencyMs: i, peer: i % 2 === 0 ? 'w0' : 'w1' });
    }
    stats.record({ side: 'server', method: 'cluster.director.v1/assign', code: 'OK', latencyMs: 0.5, peer: '127.0.0.1:9' });
    const s = stats.summary({ w0: 3 });
    expect(s.calls.client['cluster.worker.v1/compute']).toEqual({ OK: 90, UNAVAILABLE: 10 });
    expect(s.calls.server['cluster.director.v1/assign']).toEqual({ OK: 1 });
    expect(s.callsPerSec).toBeCloseTo(101 / rpcStatsWindowSeconds);
    expect(s.successRatio).toBeCloseTo(91 / 101);
    expect(s.latencyMsP50).toBe(50);
    expect(s.latencyMsP99).toBe(99);
    expect(s.perWorker).toEqual({ w0: 50, w1: 50, '127.0.0.1:9': 1 });
    expect(s.inFlight.client).toEqual({ w0: 3 });
  });

  it('forgets calls older than the window but keeps the cumulative counts', () => {
    const c = clock();
    const stats = new RpcStats(c.now);
    stats.record({ side: 'client', method: 'm', code: 'OK', latencyMs: 500, peer: 'a' });
    c.nowMs += rpcStatsWindowSeconds * 1000 + 1;
    stats.record({ side: 'client', method: 'm', code: 'OK', latencyMs: 2, peer: 'b' });
    const s = stats.summary({});
    expect(s.perWorker).toEqual({ b: 1 });
    expect(s.latencyMsP99).toBe(2);
    expect(s.calls.client.m).toEqual({ OK: 2 });
    c.nowMs += rpcStatsWindowSeconds * 1000 + 1;
    expect(stats.summary({})).toMatchObject({ callsPerSec: 0, successRatio: 1, latencyMsP50: 0, perWorker: {} });
  });

  it('stays bounded: methods beyond the cap are lumped together, latencies are a fixed ring', () => {
    const c = clock();
    const stats = new RpcStats(c.now);
    for (let i = 0; i < rpcStatsMethodsMax + 10; i++) stats.record({ side: 'server', method: `s/m${i}`, code: 'OK', latencyMs: 1, peer: 'p' });
    const methods = Object.keys(stats.summary({}).calls.server);
    expect(methods).toHaveLength(rpcStatsMethodsMax + 1);
    expect(stats.summary({}).calls.server[otherMethodLabel]).toEqual({ OK: 10 });
    // Only the latest samples count: after a ring's worth of 1 ms calls the old 1 000 ms ones are gone.
    const ring = new RpcStats(c.now);
    for (let i = 0; i < rpcStatsLatencySamplesMax; i++) ring.record({ side: 'client', method: 'm', code: 'OK', latencyMs: 1_000, peer: 'p' });
    for (let i = 0; i < rpcStatsLatencySamplesMax; i++) ring.record({ side: 'client', method: 'm', code: 'OK', latencyMs: 1, peer: 'p' });
    expect(ring.summary({}).latencyMsP99).toBe(1);
  });

  it('counts refused and never-run served calls without a latency: they lower the success ratio, not the percentiles', () => {
    const c = clock();
    const stats = new RpcStats(c.now);
    stats.record({ side: 'server', method: 's/m', code: 'OK', latencyMs: 40, peer: 'a' });
    for (let i = 0; i < 3; i++) stats.record(unservedCallRecord({ method: 's/m', code: 'RESOURCE_EXHAUSTED', peer: '10.0.0.1:1', refused: true }, 'a'));
    stats.record(unservedCallRecord({ method: undefined, code: 'UNIMPLEMENTED', peer: '10.0.0.2:1', refused: true }, 'b'));
    stats.record(unservedCallRecord({ method: 's/m', code: 'UNAVAILABLE', peer: '10.0.0.1:1', refused: false }, 'a'));
    const s = stats.summary({});
    expect(s.calls.server).toEqual({ 's/m': { OK: 1, RESOURCE_EXHAUSTED: 3, UNAVAILABLE: 1 }, [unknownMethodLabel]: { UNIMPLEMENTED: 1 } });
    expect(s.refused).toEqual({ RESOURCE_EXHAUSTED: 3, UNIMPLEMENTED: 1 });
    expect(s.successRatio).toBeCloseTo(1 / 6);
    expect(s.callsPerSec).toBeCloseTo(6 / rpcStatsWindowSeconds);
    // Refusals take no time; counted as 0 ms samples they would pull p50 to 0.
    expect(s.latencyMsP50).toBe(40);
    expect(s.perWorker).toEqual({ a: 5, b: 1 });
  });

  it('the served-call interceptor reports in-flight calls per caller and the final status code', async () => {
    const c = clock();
    const stats = new RpcStats(c.now);
    const ended: string[] = [];
    const interceptor = servedCallInterceptor(c.now, {
      started: (call) => stats.serverStarted(call.peer),
      ended: (call, code, latencyMs) => {
        stats.serverEnded(call.peer);
        ended.push(`${call.method} ${code} ${latencyMs}`);
      },
    });
    const call = { method: 's/m', peer: 'w0' } as ServerCallContext;
    let release: () => void = () => {};
    const running = interceptor(call, () => new Promise<void>((resolve) => (release = resolve)));
    expect(stats.summary({}).inFlight.server).toEqual({ w0: 1 });
    c.nowMs += 7;
    release();
    await running;
    await expect(interceptor(call, () => Promise.reject(new RpcError('UNAVAILABLE', 'down')))).rejects.toThrow('down');
    expect(ended).toEqual(['s/m OK 7', 's/m UNAVAILABLE 0']);
    expect(stats.summary({}).inFlight.server).toEqual({});
  });
});
