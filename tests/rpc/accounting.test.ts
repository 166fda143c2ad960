import { describe, expect } from 'vitest';
import type { ServerInterceptor } from '../../core/rpc/index.ts';
import { servedCallInterceptor } from '../../net-real/node/rpc-stats.ts';
import { expectRpcError, rig, settle, simTest } from './helpers.ts';

const test = simTest('tests/rpc/accounting.test.ts');

/** The node's own interceptor (what `/status` and `/metrics` count), recording `method code` per served call. */
function recorder(outcomes: string[]): ServerInterceptor {
  return servedCallInterceptor(() => 0, { started: () => undefined, ended: (call, code) => outcomes.push(`${call.method} ${code}`) });
}

describe('rpc: how served calls are accounted', () => {
  test('a server stream cancelled while it waits for flow-control credit is recorded CANCELLED, not OK', 61, async (seed) => {
    const outcomes: string[] = [];
    const { sim, calc, probe } = rig({ seed, server: { interceptors: [recorder(outcomes)] }, client: { limits: { initialCallWindowBytes: 4_096 } } });
    const stream = calc().range({ n: 1_000, bytes: 1_000 });
    const iterator = stream[Symbol.asyncIterator]();
    expect((await settle(sim, iterator.next())).ok).toBe(true);
    await sim.runForAsync(1_000);
    // The reader stalled: the producer is parked on credit, well short of the 1 000 messages.
    expect(probe.produced).toBeLessThan(20);
    stream.cancel();
    expectRpcError(await settle(sim, iterator.next()), 'CANCELLED');
    await sim.runForAsync(1_000);
    expect(outcomes).toEqual(['calc.v1/range CANCELLED']);
  });

  test('a server stream past its deadline while waiting for credit is recorded DEADLINE_EXCEEDED', 62, async (seed) => {
    const outcomes: string[] = [];
    const { sim, calc } = rig({ seed, server: { interceptors: [recorder(outcomes)] }, client: { limits: { initialCallWindowBytes: 4_096 } } });
    const iterator = calc().range({ n: 1_000, bytes: 1_000 }, { timeoutMs: 500 })[Symbol.asyncIterator]();
    expect((await settle(sim, iterator.next())).ok).toBe(true);
    await sim.runForAsync(2_000);
    expectRpcError(await settle(sim, iterator.next()), 'DEADLINE_EXCEEDED');
    await sim.runForAsync(1_000);
    expect(outcomes).toEqual(['calc.v1/range DEADLINE_EXCEEDED']);
  });

  test('completed calls are recorded OK', 63, async (seed) => {
    const outcomes: string[] = [];
    const { sim, calc } = rig({ seed, server: { interceptors: [recorder(outcomes)] } });
    expect(await settle(sim, calc().add({ a: 1, b: 2 }))).toEqual({ ok: true, value: { sum: 3 } });
    await sim.runForAsync(100);
    expect(outcomes).toEqual(['calc.v1/add OK']);
  });
});
