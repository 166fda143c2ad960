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
