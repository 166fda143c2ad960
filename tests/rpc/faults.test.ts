import { describe, expect } from 'vitest';
import { RpcError } from '../../core/rpc/index.ts';
import { collect, expectRpcError, rig, settle, simTest } from './helpers.ts';

const test = simTest('tests/rpc/faults.test.ts');
/** Transport idle timeout far above the RPC one, so the RPC layer's own liveness is what is tested. */
const slowTransport = { idleTimeoutMs: 120_000 };

describe('rpc: deadlines and cancellation', () => {
  test('a deadline fails the call with DEADLINE_EXCEEDED and stops the handler', 11, async (seed) => {
    const { sim, calc, probe } = rig({ seed, sim: { network: { latency: { kind: 'constant', ms: 2 } } } });
    const start = sim.nowMs;
    const error = expectRpcError(await settle(sim, calc().slow({ ms: 10_000 }, { timeoutMs: 500 })), 'DEADLINE_EXCEEDED');
    expect(sim.nowMs - start).toBeGreaterThanOrEqual(500);
    expect(sim.nowMs - start).toBeLessThan(520);
    expect(error.unprocessed).toBe(false);
    await sim.runForAsync(100);
    expect(probe.cancelled).toEqual(['DEADLINE_EXCEEDED']);
  });

  test('an aborted signal cancels the call on both sides', 12, async (seed) => {
    const { sim, calc, probe } = rig({ seed, sim: { network: { latency: { kind: 'constant', ms: 2 } } } });
    const controller = new AbortController();
    const pending = calc().slow({ ms: 10_000 }, { signal: controller.signal });
    sim.after(100, () => controller.abort());
    expectRpcError(await settle(sim, pending), 'CANCELLED');
    await sim.runForAsync(50);
    expect(probe.cancelled).toEqual(['CANCELLED']);
    // The connection survives a cancelled call.
    expect(await settle(sim, calc().add({ a: 1, b: 1 }))).toEqual({ ok: true, value: { sum: 2 } });
  });

  test('an already aborted signal fails at once without reaching the server', 13, async (seed) => {
    const { sim, calc, probe } = rig({ seed });
    const error = expectRpcError(await settle(sim, calc().add({ a: 1, b: 1 }, { signal: AbortSignal.abort() })), 'CANCELLED');
    expect(error.unprocessed).toBe(true);
    expect(probe.started).toBe(0);
  });

  test('breaking out of a server stream cancels the producer', 14, async (seed) => {
    const { sim, calc, probe } = rig({ seed, sim: { network: { latency: { kind: 'constant', ms: 1 } } } });
    const read = (async () => {
      const seen: number[] = [];
      for await (const { i } of calc().range({ n: 1_000_000 })) {
        seen.push(i);
        if (i === 9) break;
      }
      return seen;
    })();
    const outcome = await settle(sim, read);
    expect(outcome).toEqual({ ok: true, value: [...Array(10).keys()] });
    await sim.runForAsync(1_000);
    // The server stopped within about one flow-control window of small messages.
    expect(probe.produced).toBeLessThan(10_000);
    expect(sim.app<import('../../core/rpc/index.ts').RpcServer>('server')!.activeCalls).toBe(0);
  });

  test('a server error mid-stream reaches the client with code and details after the earlier messages', 15, async (seed) => {
    const { sim, calc } = rig({ seed });
    const seen: number[] = [];
    const read = (async () => {
      for await (const { i } of calc().boom({ after: 3, code: 'ABORTED' })) seen.push(i);
    })();
    const error = expectRpcError(await settle(sim, read), 'ABORTED');
    expect(seen).toEqual([0, 1, 2]);
    expect(error.details).toEqual({ after: 3 });
    expect(error.message).toBe('boom after 3');
  });
});

describe('rpc: failures of the peer and the path', () => {
  test('a crashed server fails pending calls with UNAVAILABLE within the idle timeout, then reconnects', 21, async (seed) => {
    const { sim, calc } = rig({ seed, sim: slowTransport, server: { limits: { idleTimeoutMs: 3_000 } }, client: { limits: { idleTimeoutMs: 3_000 } } });
    expect((await settle(sim, calc().add({ a: 1, b: 2 }))).ok).toBe(true);
    const pending = [calc().slow({ ms: 60_000 }, { timeoutMs: 100_000 }), calc().slow({ ms: 60_000 }, { timeoutMs: 100_000 })];
    await sim.runForAsync(10);
    sim.crash('server');
    const crashedAt = sim.nowMs;
    const outcomes = await settle(sim, Promise.allSettled(pending));
    for (const outcome of (outcomes as { value: PromiseSettledResult<unknown>[] }).value) {
      const error = expectRpcError(outcome.status === 'rejected' ? { ok: false, error: outcome.reason } : { ok: true, value: undefined }, 'UNAVAILABLE');
      expect(error.unprocessed).toBe(false);
    }
    expect(sim.nowMs - crashedAt).toBeLessThanOrEqual(3_100);
    sim.restart('server');
    expect(await settle(sim, calc().add({ a: 5, b: 5 }))).toEqual({ ok: true, value: { sum: 10 } });
  });

  test('a partition fails calls with UNAVAILABLE; calls succeed again after repair', 22, async (seed) => {
    const { sim, calc, client, serverAddress } = rig({ seed, sim: { ...slowTransport, network: { latency: { kind: 'constant', ms: 5 } } } });
    expect((await settle(sim, calc().add({ a: 1, b: 2 }))).ok).toBe(true);
    sim.partition(['client'], ['server']);
    const start = sim.nowMs;
    expectRpcError(await settle(sim, calc().slow({ ms: 10 }, { timeoutMs: 60_000 })), 'UNAVAILABLE');
    expect(sim.nowMs - start).toBeLessThanOrEqual(6_100);
    expect(client().connectionInfo(serverAddress)).toBeUndefined();
    sim.repair();
    expect(await settle(sim, calc().add({ a: 2, b: 2 }))).toEqual({ ok: true, value: { sum: 4 } });
  });

  test('calls to an address where nothing listens fail with UNAVAILABLE, unprocessed', 23, async (seed) => {
    const { sim, client } = rig({ seed });
    sim.host('empty', () => undefined);
    const { Calc } = await import('./helpers.ts');
    const error = expectRpcError(await settle(sim, client().service(Calc, sim.address('empty')).add({ a: 1, b: 1 })), 'UNAVAILABLE');
    expect(error.unprocessed).toBe(true);
  });

  test('loss and jittery latency on the path slow calls down but lose none', 24, async (seed) => {
    const { sim, calc } = rig({ seed, sim: { network: { latency: { kind: 'uniform', minMs: 5, maxMs: 40 }, loss: 0.2 } } });
    const calls = Array.from({ length: 200 }, (_, i) => calc().add({ a: i, b: 1 }));
    const outcome = await settle(sim, Promise.all(calls));
    expect(outcome.ok).toBe(true);
    expect((outcome as { value: { sum: number }[] }).value.map((r) => r.sum)).toEqual(calls.map((_, i) => i + 1));
    const streamed = await settle(sim, collect(calc().chat(Array.from({ length: 100 }, (_, i) => ({ text: `m${i}` })))));
    expect((streamed as { value: { text: string }[] }).value.map((m) => m.text)).toEqual(Array.from({ length: 100 }, (_, i) => `M${i}`));
  });

  test('ping measures the round-trip time of the connection', 25, async (seed) => {
    const { sim, calc, client, serverAddress } = rig({ seed, sim: { network: { latency: { kind: 'constant', ms: 10 } } } });
    await settle(sim, calc().add({ a: 1, b: 1 }));
    await sim.runForAsync(2_500);
    expect(client().connectionInfo(serverAddress)?.rttMs).toBe(20);
  });

  test('a handler error before any message fails the stream with its code; the connection keeps working', 26, async (seed) => {
    const { sim, calc } = rig({ seed });
    const error = expectRpcError(await settle(sim, collect(calc().boom({ after: 0, code: 'NOT_FOUND' }))), 'NOT_FOUND');
    expect(error).toBeInstanceOf(RpcError);
    expect((await settle(sim, calc().add({ a: 1, b: 1 }))).ok).toBe(true);
  });

  test('pings keep a quiet connection and a long call alive', 27, async (seed) => {
    const { sim, calc, client, serverAddress } = rig({ seed, sim: slowTransport });
    expect((await settle(sim, calc().add({ a: 1, b: 1 }))).ok).toBe(true);
    await sim.runForAsync(30_000);
    expect(client().connectionInfo(serverAddress)?.state).toBe('ready');
    expect(await settle(sim, calc().slow({ ms: 20_000 }))).toEqual({ ok: true, value: { done: true } });
  });

  test('a crashed client frees its calls on the server within the idle timeout', 28, async (seed) => {
    const { sim, calc, server, probe } = rig({ seed, sim: slowTransport, server: { limits: { idleTimeoutMs: 2_000 } } });
    void calc().slow({ ms: 60_000 }, { timeoutMs: 120_000 }).catch(() => undefined);
    await sim.runForAsync(100);
    expect(server().activeCalls).toBe(1);
    sim.crash('client');
    const crashedAt = sim.nowMs;
    expect(await sim.runUntilConditionAsync(() => server().activeCalls === 0, sim.nowMs + 10_000)).toBe(true);
    expect(sim.nowMs - crashedAt).toBeLessThanOrEqual(2_000);
    expect(probe.cancelled).toEqual(['UNAVAILABLE']);
  });
});
