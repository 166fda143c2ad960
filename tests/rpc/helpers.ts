import { expect, it } from 'vitest';
import { Simulation, type SimulationOptions } from '../../sim/index.ts';
import {
  RpcClient, RpcError, RpcServer, bidi, clientStream, defineService, serverStream, unary,
  type RpcClientOptions, type StatusName, type RpcServerOptions, type ServiceClient, type ServerCallContext, type ServiceImplementation,
} from '../../core/rpc/index.ts';
import type { HostContext } from '../../sim/simulation.ts';

export const Calc = defineService('calc.v1', {
  add: unary<{ a: number; b: number }, { sum: number }>(),
  slow: unary<{ ms: number }, { done: boolean }>(),
  range: serverStream<{ n: number; bytes?: number }, { i: number; pad?: Uint8Array }>(),
  sum: clientStream<{ x: number }, { total: number }>(),
  chat: bidi<{ text: string }, { text: string }>(),
  boom: serverStream<{ after: number; code: StatusName }, { i: number }>(),
  stall: clientStream<{ x: number }, { total: number }>(),
});

/** What the server host records, for assertions. */
export interface ServerProbe {
  started: number;
  cancelled: string[];
  produced: number;
}

export function calcImpl(ctx: HostContext, probe: ServerProbe): ServiceImplementation<typeof Calc.methods> {
  const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve, reject) => {
    const timer = ctx.clock.setTimer(ms, resolve);
    signal.addEventListener('abort', () => {
      ctx.clock.cancelTimer(timer);
      probe.cancelled.push((signal.reason as RpcError).code);
      reject(signal.reason);
    }, { once: true });
  });
  return {
    add: ({ a, b }) => {
      probe.started++;
      return { sum: a + b };
    },
    slow: async ({ ms }, call: ServerCallContext) => {
      probe.started++;
      await sleep(ms, call.signal);
      return { done: true };
    },
    async *range({ n, bytes }) {
      probe.started++;
      for (let i = 0; i < n; i++) {
        probe.produced++;
        yield bytes === undefined ? { i } : { i, pad: new Uint8Array(bytes) };
      }
    },
    sum: async (requests) => {
      probe.started++;
      let total = 0;
      for await (const { x } of requests) total += x;
      return { total };
    },
    async *boom({ after, code }) {
      probe.started++;
      for (let i = 0; i < after; i++) yield { i };
      throw new RpcError(code, `boom after ${after}`, { details: { after } });
    },
    stall: async (_requests, call) => {
      probe.started++;
      await sleep(3_600_000, call.signal);
      return { total: 0 };
    },
    async *chat(requests) {
      probe.started++;
      for await (const { text } of requests) yield { text: text.toUpperCase() };
    },
  };
}

export interface Rig {
  sim: Simulation;
  probe: ServerProbe;
  server(): RpcServer;
  client(): RpcClient;
  calc(): ServiceClient<typeof Calc.methods>;
  serverAddress: string;
}

export interface RigOptions {
  seed: number;
  sim?: Omit<SimulationOptions, 'seed'>;
  server?: RpcServerOptions;
  client?: RpcClientOptions;
}

/** Two hosts: `server` serving Calc, `client` with an RpcClient. */
export function rig(options: RigOptions): Rig {
  const sim = new Simulation({ seed: options.seed, ...options.sim });
  const probe: ServerProbe = { started: 0, cancelled: [], produced: 0 };
  const serverAddress = sim.host('server', (ctx) => new RpcServer(ctx, options.server).register(Calc, calcImpl(ctx, probe)).listen());
  sim.host('client', (ctx) => new RpcClient(ctx, options.client));
  const client = () => sim.app<RpcClient>('client')!;
  return {
    sim, probe, serverAddress,
    server: () => sim.app<RpcServer>('server')!,
    client,
    calc: () => client().service(Calc, serverAddress),
  };
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Runs the simulation until `promise` settles (or `limitMs` of simulated time pass). */
export async function settle<T>(sim: Simulation, promise: Promise<T>, limitMs = 60_000): Promise<Outcome<T>> {
  let outcome: Outcome<T> | undefined;
  promise.then((value) => (outcome = { ok: true, value }), (error: unknown) => (outcome = { ok: false, error }));
  const done = await sim.runUntilConditionAsync(() => outcome !== undefined, sim.nowMs + limitMs);
  if (!done) throw new Error(`did not settle within ${limitMs} simulated ms (now ${sim.nowMs})`);
  return outcome!;
}

export async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

export function expectRpcError(outcome: Outcome<unknown>, code: string): RpcError {
  expect(outcome.ok, `expected ${code}, got success`).toBe(false);
  const error = (outcome as { error: unknown }).error;
  expect(error).toBeInstanceOf(RpcError);
  expect((error as RpcError).code, (error as RpcError).message).toBe(code);
  return error as RpcError;
}

/**
 * A simulated test: a failure names its seed and the command that reruns it. The body gets
 * the seed so it can build its simulation from it.
 */
export function simTest(file: string) {
  return (name: string, seed: number, body: (seed: number) => Promise<void>, timeoutMs?: number) =>
    it(name, async () => {
      try {
        await body(seed);
      } catch (error) {
        const hint = `seed ${seed}: reproduce with \`npx vitest run ${file} -t "${name}"\``;
        if (error instanceof Error) error.message = `${error.message}\n${hint}`;
        throw error;
      }
    }, timeoutMs);
}
