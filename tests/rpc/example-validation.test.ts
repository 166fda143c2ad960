import { describe, expect } from 'vitest';
import { RpcClient, RpcServer, defineService, serverStream, unary, type ServiceClient } from '../../core/rpc/index.ts';
import { WorkerService, workerImplementation } from '../../examples/director-worker/index.ts';
import { Simulation } from '../../sim/index.ts';
import { expectRpcError, settle, simTest } from './helpers.ts';

const test = simTest('tests/rpc/example-validation.test.ts');

/** The worker's wire contract with the request schemas stripped: a client that can send anything. */
const Untyped = defineService(WorkerService.name, {
  compute: unary<unknown, unknown>(),
  tokens: serverStream<unknown, unknown>(),
});

function workerRig(seed: number): { sim: Simulation; worker: () => ServiceClient<typeof Untyped.methods> } {
  const sim = new Simulation({ seed });
  const address = sim.host('worker', (ctx) => new RpcServer(ctx).register(WorkerService, workerImplementation(ctx.clock, 'worker', { started: () => undefined, token: () => undefined })).listen());
  sim.host('client', (ctx) => new RpcClient(ctx));
  return { sim, worker: () => sim.app<RpcClient>('client')!.service(Untyped, address) };
}

describe('director/worker example: requests are validated (INVALID_ARGUMENT, never UNKNOWN or a null result)', () => {
  for (const [name, request] of [
    ['nil', null],
    ['a string n', { n: 'x' }],
    ['no n', { serviceMs: 1 }],
    ['a negative serviceMs', { n: 2, serviceMs: -1 }],
    ['an array', [1, 2]],
  ] as const) {
    test(`compute with ${name}`, 71, async (seed) => {
      const { sim, worker } = workerRig(seed);
      const error = expectRpcError(await settle(sim, worker().compute(request)), 'INVALID_ARGUMENT');
      expect(error.message).toMatch(/compute|n |serviceMs|map/);
    });
  }

  test('tokens with nil or a string count', 72, async (seed) => {
    const { sim, worker } = workerRig(seed);
    for (const request of [null, { count: 'many' }]) {
      const outcome = await settle(sim, (async () => {
        for await (const _ of worker().tokens(request));
      })());
      expectRpcError(outcome, 'INVALID_ARGUMENT');
    }
  });

  test('valid requests still work, optional fields absent or nil', 73, async (seed) => {
    const { sim, worker } = workerRig(seed);
    expect(await settle(sim, worker().compute({ n: 7 }))).toEqual({ ok: true, value: { worker: 'worker', result: 49 } });
    expect(await settle(sim, worker().compute({ n: 3, serviceMs: null }))).toEqual({ ok: true, value: { worker: 'worker', result: 9 } });
  });
});
