import { describe, expect } from 'vitest';
import { Calc, collect, expectRpcError, rig, settle, simTest } from './helpers.ts';

const test = simTest('tests/rpc/calls.test.ts');

describe('rpc: the four call kinds in the simulator', () => {
  test('unary returns the typed response', 1, async (seed) => {
    const { sim, calc } = rig({ seed, sim: { network: { latency: { kind: 'constant', ms: 5 } } } });
    const outcome = await settle(sim, calc().add({ a: 2, b: 40 }));
    expect(outcome).toEqual({ ok: true, value: { sum: 42 } });
  });

  test('server streaming delivers every message in order', 2, async (seed) => {
    const { sim, calc } = rig({ seed, sim: { streamChunking: true } });
    const outcome = await settle(sim, collect(calc().range({ n: 50 })));
    expect(outcome.ok).toBe(true);
    expect((outcome as { value: { i: number }[] }).value.map((m) => m.i)).toEqual([...Array(50).keys()]);
  });

  test('client streaming sums an async iterable of requests', 3, async (seed) => {
    const { sim, calc } = rig({ seed });
    async function* numbers() {
      for (let x = 1; x <= 100; x++) yield { x };
    }
    const outcome = await settle(sim, calc().sum(numbers()));
    expect(outcome).toEqual({ ok: true, value: { total: 5050 } });
  });

  test('bidi echoes each message back', 4, async (seed) => {
    const { sim, calc } = rig({ seed, sim: { network: { latency: { kind: 'constant', ms: 3 } }, streamChunking: true } });
    const outcome = await settle(sim, collect(calc().chat([{ text: 'a' }, { text: 'b' }, { text: 'c' }])));
    expect(outcome).toEqual({ ok: true, value: [{ text: 'A' }, { text: 'B' }, { text: 'C' }] });
  });

  test('an unknown method fails with UNIMPLEMENTED and marks the call unprocessed', 5, async (seed) => {
    const { sim, client, serverAddress } = rig({ seed });
    const Other = (await import('../../core/rpc/index.ts')).defineService('calc.v1', { missing: Calc.methods.add });
    const error = expectRpcError(await settle(sim, client().service(Other, serverAddress).missing({ a: 1, b: 2 })), 'UNIMPLEMENTED');
    expect(error.unprocessed).toBe(true);
  });
});

describe('rpc: schemas and determinism', () => {
  test('a request schema rejects bad input with INVALID_ARGUMENT before the handler runs', 6, async (seed) => {
    const { z } = await import('zod');
    const { RpcServer, RpcClient, defineService, unary } = await import('../../core/rpc/index.ts');
    const { Simulation } = await import('../../sim/index.ts');
    const Strict = defineService('strict.v1', {
      add: unary({ request: z.object({ a: z.number(), b: z.number() }), response: z.object({ sum: z.number() }) }),
    });
    let ran = 0;
    const sim = new Simulation({ seed });
    const address = sim.host('server', (ctx) => new RpcServer(ctx).register(Strict, {
      add: ({ a, b }) => {
        ran++;
        return { sum: a + b };
      },
    }).listen());
    sim.host('client', (ctx) => new RpcClient(ctx));
    const strict = sim.app<InstanceType<typeof RpcClient>>('client')!.service(Strict, address);
    expect(await settle(sim, strict.add({ a: 1, b: 2 }))).toEqual({ ok: true, value: { sum: 3 } });
    expectRpcError(await settle(sim, strict.add({ a: 1, b: 'two' } as unknown as { a: number; b: number })), 'INVALID_ARGUMENT');
    expect(ran).toBe(1);
  });

  test('the same seed gives the same trace', 7, async (seed) => {
    async function run(): Promise<string> {
      const { sim, calc } = rig({ seed, sim: { network: { latency: { kind: 'uniform', minMs: 1, maxMs: 30 }, loss: 0.1 }, streamChunking: true } });
      const work = Promise.all([
        ...Array.from({ length: 20 }, (_, i) => calc().add({ a: i, b: i })),
        collect(calc().range({ n: 30 })),
        collect(calc().chat([{ text: 'x' }, { text: 'y' }])),
      ]);
      expect((await settle(sim, work)).ok).toBe(true);
      return sim.trace.hash;
    }
    expect(await run()).toBe(await run());
  });
});
