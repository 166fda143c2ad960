import { FrameDecoder, RpcClient, RpcServer, defineService, defaultLimits, encodeFrame, encodePreamble, FrameType, serverStream, unary } from '../core/rpc/index.ts';
import { Simulation } from '../sim/index.ts';
import { runRpcMemory } from './rpc-memory.ts';

/**
 * RPC benchmark. The `sim` section measures simulated calls per wall second (how fast the
 * protocol code plus the simulator run), against a baseline measured in the same run: the
 * same request/reply pattern as bare length-prefixed frames on one simulated stream, with
 * no RPC layer. The `quic` section is `shoal bench quic` (bench/quic.ts): shoal's RPC
 * over real QUIC on loopback against the raw library and TCP, measured in the same run.
 * Skip it with `quic: false` in the arguments or SHOAL_BENCH_RPC_QUIC=0 in the environment.
 * The `memory` section is the RPC layer's own CPU per call with no network under it
 * (bench/rpc-memory.ts), at 16 and 256 in flight, median of the runs by CPU µs per call.
 */

const Echo = defineService('bench.v1', {
  echo: unary<{ payload: Uint8Array }, { payload: Uint8Array }>(),
  flood: serverStream<{ n: number; bytes: number }, { payload: Uint8Array }>(),
});

export interface RpcSimBenchOptions {
  /** Unary calls to complete. @default 20_000 */
  calls?: number;
  /** Calls kept in flight at once on the one connection. @default 64 */
  concurrency?: number;
  /** Request and response payload bytes. @default 64 */
  payloadBytes?: number;
  seed?: number;
}

export interface RpcSimFigures {
  calls: number;
  concurrency: number;
  wallMs: number;
  callsPerSec: number;
  simulatedMs: number;
}

function newSim(seed: number): Simulation {
  return new Simulation({ seed, trace: { capacity: 0 }, network: { latency: { kind: 'uniform', minMs: 0.1, maxMs: 0.3 } } });
}

/** Unary echo calls through the full RPC stack. */
export async function runRpcUnary(options: RpcSimBenchOptions = {}): Promise<RpcSimFigures> {
  const calls = options.calls ?? 20_000;
  const concurrency = options.concurrency ?? 64;
  const payload = new Uint8Array(options.payloadBytes ?? 64);
  const sim = newSim(options.seed ?? 1);
  const server = sim.host('server', (ctx) => new RpcServer(ctx).register(Echo, {
    echo: (request) => request,
    // eslint-disable-next-line require-yield
    flood: async function* () {
      throw new Error('unused');
    },
  }).listen());
  sim.host('client', (ctx) => new RpcClient(ctx));
  const echo = sim.app<RpcClient>('client')!.service(Echo, server);
  let started = 0;
  let done = 0;
  const worker = async () => {
    while (started < calls) {
      started++;
      await echo.echo({ payload });
      done++;
    }
  };
  const start = performance.now();
  for (let i = 0; i < concurrency; i++) void worker();
  await sim.runUntilConditionAsync(() => done >= calls, Infinity);
  const wallMs = performance.now() - start;
  return { calls, concurrency, wallMs: round(wallMs), callsPerSec: Math.round(calls / (wallMs / 1000)), simulatedMs: round(sim.nowMs) };
}

/** The baseline: the same request/reply exchange as bare frames on one stream, no RPC layer. */
export async function runRawEcho(options: RpcSimBenchOptions = {}): Promise<RpcSimFigures> {
  const calls = options.calls ?? 20_000;
  const concurrency = options.concurrency ?? 64;
  const payload = new Uint8Array(options.payloadBytes ?? 64);
  const sim = newSim(options.seed ?? 1);
  const server = sim.host('server', (ctx) => {
    ctx.transport.streams.onConnection = (connection) => {
      connection.onStream = (stream) => {
        stream.write(encodePreamble(defaultLimits));
        const decoder = new FrameDecoder(defaultLimits.maxFrameBytes, {
          onPreamble: () => undefined,
          onFrame: (type, flags, callId, body) => stream.write(encodeFrame(FrameType.MESSAGE, flags, callId, body)),
        });
        stream.onData = (data) => decoder.push(data);
      };
    };
  });
  let done = 0;
  let started = 0;
  sim.host('client', (ctx) => {
    const stream = ctx.transport.streams.connect(server).openStream();
    const send = () => {
      started++;
      stream.write(encodeFrame(FrameType.MESSAGE, 0, started, payload));
    };
    const decoder = new FrameDecoder(defaultLimits.maxFrameBytes, {
      onPreamble: () => undefined,
      onFrame: () => {
        done++;
        if (started < calls) send();
      },
    });
    stream.onData = (data) => decoder.push(data);
    stream.write(encodePreamble(defaultLimits));
    for (let i = 0; i < concurrency; i++) send();
  });
  const start = performance.now();
  await sim.runUntilConditionAsync(() => done >= calls, Infinity);
  const wallMs = performance.now() - start;
  return { calls, concurrency, wallMs: round(wallMs), callsPerSec: Math.round(calls / (wallMs / 1000)), simulatedMs: round(sim.nowMs) };
}

/** Server-streaming throughput: messages per wall second on one call. */
export async function runRpcStream(messages = 50_000, bytes = 64, seed = 1): Promise<{ messages: number; wallMs: number; messagesPerSec: number }> {
  const sim = newSim(seed);
  const server = sim.host('server', (ctx) => new RpcServer(ctx).register(Echo, {
    echo: (request) => request,
    flood: async function* ({ n, bytes: size }) {
      const payload = new Uint8Array(size);
      for (let i = 0; i < n; i++) yield { payload };
    },
  }).listen());
  sim.host('client', (ctx) => new RpcClient(ctx));
  const echo = sim.app<RpcClient>('client')!.service(Echo, server);
  let received = 0;
  let finished = false;
  const start = performance.now();
  void (async () => {
    for await (const _ of echo.flood({ n: messages, bytes }, { timeoutMs: 3_600_000 })) received++;
    finished = true;
  })();
  await sim.runUntilConditionAsync(() => finished, Infinity);
  const wallMs = performance.now() - start;
  return { messages: received, wallMs: round(wallMs), messagesPerSec: Math.round(received / (wallMs / 1000)) };
}

function median<T>(items: T[], key: (t: T) => number): T {
  return [...items].sort((a, b) => key(a) - key(b))[Math.floor(items.length / 2)]!;
}

/** The quic part runs unless `args.quic` is false/"0"/"false" or SHOAL_BENCH_RPC_QUIC is "0"/"false". */
export function rpcBenchIncludesQuic(args: Readonly<Record<string, string | boolean>>, environment: Readonly<Record<string, string | undefined>> = process.env): boolean {
  const off = (value: string | boolean | undefined) => value === false || value === '0' || value === 'false';
  return !off(args.quic) && !off(environment.SHOAL_BENCH_RPC_QUIC);
}

export async function runRpcBench(args: Readonly<Record<string, string | boolean>>): Promise<Record<string, unknown>> {
  const runs = Number(args.runs ?? 3);
  const quic = rpcBenchIncludesQuic(args)
    ? await (await import('./quic.ts')).runQuicBench({ runs })
    : { skipped: 'quic: false or SHOAL_BENCH_RPC_QUIC=0' };
  const unaryRuns: RpcSimFigures[] = [];
  const rawRuns: RpcSimFigures[] = [];
  const singleRuns: RpcSimFigures[] = [];
  const streamRuns: Awaited<ReturnType<typeof runRpcStream>>[] = [];
  for (let i = 0; i < runs; i++) {
    unaryRuns.push(await runRpcUnary({ seed: i + 1 }));
    rawRuns.push(await runRawEcho({ seed: i + 1 }));
    singleRuns.push(await runRpcUnary({ seed: i + 1, concurrency: 1, calls: 5_000 }));
    streamRuns.push(await runRpcStream(50_000, 64, i + 1));
  }
  const memoryRuns: Awaited<ReturnType<typeof runRpcMemory>>[][] = [];
  for (let i = 0; i < runs; i++) memoryRuns.push([await runRpcMemory(16, 50_000), await runRpcMemory(256, 100_000)]);
  const unaryMedian = median(unaryRuns, (r) => r.callsPerSec);
  const rawMedian = median(rawRuns, (r) => r.callsPerSec);
  return {
    statistic: 'median',
    runs,
    sim: {
      unary: { ...unaryMedian, runs: unaryRuns.map((r) => r.callsPerSec) },
      unarySequential: { ...median(singleRuns, (r) => r.callsPerSec), runs: singleRuns.map((r) => r.callsPerSec) },
      serverStream: { ...median(streamRuns, (r) => r.messagesPerSec), runs: streamRuns.map((r) => r.messagesPerSec) },
      baselineRawFrames: { ...rawMedian, runs: rawRuns.map((r) => r.callsPerSec) },
      ratioUnaryToRawFrames: Math.round((unaryMedian.callsPerSec / rawMedian.callsPerSec) * 1000) / 1000,
    },
    quic,
    memory: Object.fromEntries([16, 256].map((inFlight, k) => {
      const ofLevel = memoryRuns.map((r) => r[k]!);
      return [String(inFlight), { ...median(ofLevel, (r) => r.cpuUsPerCall), runs: ofLevel.map((r) => r.cpuUsPerCall) }];
    })),
  };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
