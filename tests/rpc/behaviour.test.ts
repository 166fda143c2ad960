import { describe, expect } from 'vitest';
import { RpcError, RpcServer, type CallEndInfo, type ServerInterceptor } from '../../core/rpc/index.ts';
import { collect, expectRpcError, rig, settle, simTest } from './helpers.ts';

const test = simTest('tests/rpc/behaviour.test.ts');

describe('rpc: flow control and multiplexing', () => {
  test('a stalled reader stops a server stream after about one window', 31, async (seed) => {
    const { sim, calc, probe } = rig({ seed, client: { limits: { initialCallWindowBytes: 16_384 } } });
    const iterator = calc().range({ n: 1_000, bytes: 1_000 })[Symbol.asyncIterator]();
    expect((await settle(sim, iterator.next())).ok).toBe(true);
    await sim.runForAsync(5_000);
    // 16 KiB of ~1 KiB messages: the producer ran at most a window plus a message ahead.
    expect(probe.produced).toBeGreaterThan(5);
    expect(probe.produced).toBeLessThanOrEqual(20);
    const rest = await settle(sim, collect({ [Symbol.asyncIterator]: () => iterator }));
    expect((rest as { value: unknown[] }).value).toHaveLength(999);
    expect(probe.produced).toBe(1_000);
  });

  test('a handler that never reads stops a client stream after about one window', 32, async (seed) => {
    const { sim, calc } = rig({ seed, server: { limits: { initialCallWindowBytes: 8_192 } } });
    let produced = 0;
    async function* forever() {
      for (;;) {
        produced++;
        yield { x: produced };
      }
    }
    const call = calc().stall(forever(), { timeoutMs: 2_000 });
    expectRpcError(await settle(sim, call), 'DEADLINE_EXCEEDED');
    // Each message costs ~12 bytes on the wire: about 8 KiB / 12 of them fit one window.
    expect(produced).toBeGreaterThan(100);
    expect(produced).toBeLessThan(1_000);
  });

  test('many concurrent calls share one connection and each keeps its own order', 33, async (seed) => {
    const { sim, calc, client, serverAddress } = rig({ seed, sim: { network: { latency: { kind: 'uniform', minMs: 1, maxMs: 20 } }, streamChunking: true } });
    const streams = Array.from({ length: 100 }, (_, k) => collect(calc().range({ n: 20 + k })));
    const unaries = Array.from({ length: 100 }, (_, k) => calc().add({ a: k, b: k }));
    await sim.runForAsync(1);
    expect(client().connectedAddresses()).toEqual([serverAddress]);
    const outcome = await settle(sim, Promise.all([Promise.all(streams), Promise.all(unaries)]));
    expect(outcome.ok).toBe(true);
    const [streamed, sums] = (outcome as { value: [{ i: number }[][], { sum: number }[]] }).value;
    streamed.forEach((messages, k) => expect(messages.map((m) => m.i)).toEqual([...Array(20 + k).keys()]));
    expect(sums.map((s) => s.sum)).toEqual(unaries.map((_, k) => 2 * k));
    expect(client().inFlight(serverAddress)).toBe(0);
  });
});

describe('rpc: limits, interceptors, shutdown', () => {
  test('calls over the server concurrency limit fail with RESOURCE_EXHAUSTED, unprocessed', 41, async (seed) => {
    const { sim, calc } = rig({ seed, server: { limits: { maxConcurrentCalls: 2 } } });
    const calls = [calc().slow({ ms: 100 }), calc().slow({ ms: 100 }), calc().slow({ ms: 100 })];
    const outcome = await settle(sim, Promise.allSettled(calls));
    const results = (outcome as { value: PromiseSettledResult<unknown>[] }).value;
    expect(results.slice(0, 2).map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    const error = (results[2] as PromiseRejectedResult).reason as RpcError;
    expect(error.code).toBe('RESOURCE_EXHAUSTED');
    expect(error.unprocessed).toBe(true);
  });

  test('a message over the peer limit fails that call only', 42, async (seed) => {
    const { sim, calc } = rig({ seed, client: { limits: { maxFrameBytes: 4_096 } } });
    expectRpcError(await settle(sim, collect(calc().range({ n: 1, bytes: 10_000 }))), 'RESOURCE_EXHAUSTED');
    expect(await settle(sim, calc().add({ a: 1, b: 2 }))).toEqual({ ok: true, value: { sum: 3 } });
  });

  test('interceptors see metadata and outcomes, and can refuse calls', 43, async (seed) => {
    const seen: string[] = [];
    const auth: ServerInterceptor = async (call, next) => {
      if (call.metadata.token !== 'secret') throw new RpcError('UNAUTHENTICATED', 'no token');
      try {
        await next();
        seen.push(`${call.method} OK`);
      } catch (error) {
        seen.push(`${call.method} ${(error as RpcError).code}`);
        throw error;
      }
    };
    const ended: CallEndInfo[] = [];
    const { sim, calc } = rig({
      seed, server: { interceptors: [auth] },
      client: { onCallEnd: (info) => ended.push(info), interceptors: [async (call, next) => {
        if (call.method.endsWith('/add')) call.metadata.token = 'secret';
        await next();
      }] },
    });
    expect(await settle(sim, calc().add({ a: 1, b: 2 }))).toEqual({ ok: true, value: { sum: 3 } });
    expectRpcError(await settle(sim, calc().slow({ ms: 1 })), 'UNAUTHENTICATED');
    expectRpcError(await settle(sim, collect(calc().boom({ after: 0, code: 'NOT_FOUND' }))), 'UNAUTHENTICATED');
    expect(seen).toEqual(['calc.v1/add OK']);
    expect(ended.map((e) => `${e.method} ${e.code}`)).toEqual(['calc.v1/add OK', 'calc.v1/slow UNAUTHENTICATED', 'calc.v1/boom UNAUTHENTICATED']);
    expect(ended[0]!.latencyMs).toBeGreaterThan(0);
  });

  test('an interceptor that throws synchronously fails only its call', 46, async (seed) => {
    const strict: ServerInterceptor = (call, next) => {
      if (call.method.endsWith('/slow')) throw new RpcError('PERMISSION_DENIED', 'no slow calls');
      return next();
    };
    const { sim, calc } = rig({ seed, server: { interceptors: [strict] } });
    expectRpcError(await settle(sim, calc().slow({ ms: 1 })), 'PERMISSION_DENIED');
    expect(await settle(sim, calc().add({ a: 1, b: 2 }))).toEqual({ ok: true, value: { sum: 3 } });
  });

  test('shutdown drains in-flight calls, refuses new ones, then resolves', 44, async (seed) => {
    const { sim, calc, server } = rig({ seed });
    const running = calc().slow({ ms: 1_000 });
    await sim.runForAsync(100);
    const done = server().shutdown({ deadlineMs: 5_000 });
    await sim.runForAsync(20);
    const late = settle(sim, calc().add({ a: 1, b: 1 }));
    const error = expectRpcError(await late, 'UNAVAILABLE');
    expect(await settle(sim, running)).toEqual({ ok: true, value: { done: true } });
    expect(error.unprocessed).toBe(true);
    expect((await settle(sim, done)).ok).toBe(true);
    expect(sim.nowMs).toBeLessThan(1_500);
  });

  test('shutdown ends calls that outlive its deadline with UNAVAILABLE', 45, async (seed) => {
    const { sim, calc, server, probe } = rig({ seed });
    const running = calc().slow({ ms: 60_000 });
    await sim.runForAsync(100);
    const done = server().shutdown({ deadlineMs: 500 });
    expectRpcError(await settle(sim, running), 'UNAVAILABLE');
    expect((await settle(sim, done)).ok).toBe(true);
    expect(sim.nowMs).toBeLessThan(700);
    expect(probe.cancelled).toEqual(['UNAVAILABLE']);
    expect(server()).toBeInstanceOf(RpcServer);
  });
});
