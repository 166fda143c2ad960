import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QUICClient, QUICServer, events, type QUICConnection, type QUICStream } from '@matrixai/quic';
import { RpcClient, RpcServer, defineService, unary } from '../core/rpc/index.ts';
import { QuicTransport, createRealEnv, packetBytesMax, quicClientCrypto, quicLibraryLogger, quicServerCrypto, type TlsMaterial } from '../net-real/index.ts';
import { packageFile } from '../net-real/package-files.ts';
import { Coalescer, FrameParser, FramedCaller } from './quic-framing.ts';
import { measureStream, streamBenchVariants, type StreamFigures } from './quic-stream.ts';

/**
 * `shoal bench quic`: 64-byte request/reply on loopback at several in-flight levels, for
 * the raw library used two ways, plain TCP with the same framing, and shoal's transport.
 * Every variant is measured in the same run so the ratios compare like with like.
 * Later variants (shoal's RPC over QUIC) are added by appending to `quicBenchVariants`.
 */

export interface BenchClient {
  /** One request/reply; resolves when the reply is in. */
  call(): Promise<void>;
  close(): Promise<void>;
  /** QUIC packets and bytes sent so far by both ends, where the variant can count them without library internals. */
  packets?(): PacketCounts;
}

export interface PacketCounts {
  sent: number;
  bytes: number;
  /** Largest UDP payload sent. */
  bytesMax: number;
  /** The UDP payload limit both ends were configured with. */
  configuredBytesMax: number;
}

function transportPackets(...transports: QuicTransport[]): PacketCounts {
  return {
    sent: transports.reduce((n, t) => n + t.quicPacketsSent, 0),
    bytes: transports.reduce((n, t) => n + t.quicBytesSent, 0),
    bytesMax: Math.max(...transports.map((t) => t.quicPacketBytesMax)),
    configuredBytesMax: Math.min(...transports.map((t) => t.maxPacketBytes)),
  };
}

export interface BenchVariant {
  readonly name: string;
  start(context: BenchContext): Promise<BenchClient>;
}

export interface BenchContext {
  readonly tls: TlsMaterial;
  readonly payload: Uint8Array;
}

export interface QuicBenchOptions {
  /** @default [1, 16, 256] */
  inFlight?: readonly number[];
  /** Measured window of one run. @default 1500 */
  durationMs?: number;
  /** Unmeasured load before each window. @default 300 */
  warmupMs?: number;
  /** Runs per (variant, in flight); the median by calls/s is reported. @default 3 */
  runs?: number;
  /** Names of the variants to run. @default all */
  variants?: readonly string[];
  /** Also measure one-way streaming (RPC server stream against the transport, `streaming` in the report). @default true */
  streaming?: boolean;
}

/** `shoal bench quic` arguments: `--runs N`, `--in-flight 16,256`, `--duration MS`, `--warmup MS`, `--variants a,b`, `--streaming false`. */
export function quicBenchOptionsFromArgs(args: Readonly<Record<string, string | boolean>>): QuicBenchOptions {
  const list = (value: string | boolean | undefined) => (typeof value === 'string' ? value.split(',').map((v) => v.trim()).filter((v) => v !== '') : undefined);
  const inFlight = list(args['in-flight'] ?? args.inFlight)?.map(Number);
  const number = (value: string | boolean | undefined) => (typeof value === 'string' ? Number(value) : undefined);
  const streaming = args.streaming ?? true;
  return {
    runs: number(args.runs) ?? 3,
    ...(inFlight === undefined ? {} : { inFlight }),
    ...(number(args.duration) === undefined ? {} : { durationMs: number(args.duration)! }),
    ...(number(args.warmup) === undefined ? {} : { warmupMs: number(args.warmup)! }),
    ...(list(args.variants) === undefined ? {} : { variants: list(args.variants)! }),
    streaming: !(streaming === false || streaming === '0' || streaming === 'false'),
  };
}

/** A call not answered within this counts as a timeout (a lost FIN can hang a raw stream call forever). */
const callDeadlineMs = 5_000;
/** Calls issued per window at most: bounds the loop even on a machine far faster than expected. */
const callsPerWindowMax = 5_000_000;
const payloadBytes = 64;
const idleTimeoutMs = 10_000;

const libraryLogger = quicLibraryLogger();

const rawConfig = { maxIdleTimeout: idleTimeoutMs, keepAliveIntervalTime: idleTimeoutMs / 3, initialMaxStreamsBidi: 1_000_000 };

async function rawPair(tls: TlsMaterial, onStream: (stream: QUICStream) => void): Promise<{ client: QUICClient; close(): Promise<void> }> {
  const server = new QUICServer({
    crypto: quicServerCrypto(), config: { ...rawConfig, key: tls.key, cert: tls.cert, verifyPeer: false }, logger: libraryLogger,
  });
  server.addEventListener(events.EventQUICServerConnection.name, (event) => {
    const conn = (event as events.EventQUICServerConnection).detail as QUICConnection;
    conn.addEventListener(events.EventQUICConnectionStream.name, (e) => onStream((e as events.EventQUICConnectionStream).detail));
  });
  await server.start({ host: '127.0.0.1', port: 0 });
  const client = await QUICClient.createQUICClient({
    host: '127.0.0.1', port: server.port, localHost: '127.0.0.1', crypto: quicClientCrypto,
    config: { ...rawConfig, verifyPeer: false }, logger: libraryLogger,
  });
  return {
    client,
    async close() {
      await client.destroy({ force: true }).catch(() => undefined);
      await server.stop({ force: true }).catch(() => undefined);
    },
  };
}

async function drain(stream: QUICStream, onData: (data: Uint8Array) => void): Promise<void> {
  const reader = stream.readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    onData(value);
  }
}

/** A new bidirectional stream per call: request, FIN, reply, FIN. */
const rawStreamPerCall: BenchVariant = {
  name: 'raw-stream-per-call',
  async start({ tls, payload }) {
    const pair = await rawPair(tls, (stream) => {
      const chunks: Uint8Array[] = [];
      drain(stream, (d) => chunks.push(d)).then(async () => {
        const writer = stream.writable.getWriter();
        await writer.write(Buffer.concat(chunks));
        await writer.close();
      }).catch(() => undefined);
    });
    return {
      async call() {
        const stream = pair.client.connection.newStream();
        const writer = stream.writable.getWriter();
        await writer.write(payload);
        await writer.close();
        await drain(stream, () => undefined);
      },
      close: () => pair.close(),
    };
  },
};

/** One long-lived stream, frames with a call id, writes of one tick coalesced. */
const rawMultiplexed: BenchVariant = {
  name: 'raw-multiplexed-coalesced',
  async start({ tls, payload }) {
    const pair = await rawPair(tls, (stream) => {
      const writer = stream.writable.getWriter();
      const out = new Coalescer((batch) => void writer.write(batch).catch(() => undefined));
      const parser = new FrameParser((_id, frame) => out.push(Buffer.from(frame)));
      void drain(stream, (d) => parser.push(d)).catch(() => undefined);
    });
    const stream = pair.client.connection.newStream();
    const writer = stream.writable.getWriter();
    const out = new Coalescer((batch) => void writer.write(batch).catch(() => undefined));
    const caller = new FramedCaller((frame) => out.push(frame), payload);
    void drain(stream, (d) => caller.parser.push(d)).catch(() => undefined);
    return { call: () => caller.call(), close: () => pair.close() };
  },
};

/** Plain TCP, the same framing and coalescing: the ceiling of the machine. */
const tcp: BenchVariant = {
  name: 'tcp',
  async start({ payload }) {
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      const out = new Coalescer((batch) => socket.write(batch));
      const parser = new FrameParser((_id, frame) => out.push(Buffer.from(frame)));
      socket.on('data', (d) => parser.push(d));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.setNoDelay(true);
    const out = new Coalescer((batch) => socket.write(batch));
    const caller = new FramedCaller((frame) => out.push(frame), payload);
    socket.on('data', (d) => caller.parser.push(d));
    return {
      call: () => caller.call(),
      async close() {
        socket.destroy();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  },
};

/** shoal's `QuicTransport`: one stream, coalescing done by the transport, an echo of framed calls. */
const shoalTransport: BenchVariant = {
  name: 'shoal-transport',
  async start({ tls, payload }) {
    const server = await QuicTransport.start({ bind: '127.0.0.1:0', tls, idleTimeoutMs });
    const client = await QuicTransport.start({ bind: '127.0.0.1:0', tls, idleTimeoutMs });
    server.streams.onConnection = (conn) => {
      conn.onStream = (stream) => {
        const parser = new FrameParser((_id, frame) => stream.write(frame));
        stream.onData = (d) => parser.push(d);
        // Ending in turn lets the client's graceful close finish without waiting out its flush bound.
        stream.onEnd = () => stream.end();
      };
    };
    const conn = client.streams.connect(server.localAddress);
    const stream = conn.openStream();
    const caller = new FramedCaller((frame) => stream.write(frame), payload);
    stream.onData = (d) => caller.parser.push(d);
    await new Promise<void>((resolve, reject) => {
      conn.onOpen = resolve;
      conn.onClose = (error) => reject(error ?? new Error('closed'));
    });
    return {
      call: () => caller.call(),
      async close() {
        await client.close();
        await server.close();
      },
      packets: () => transportPackets(client, server),
    };
  },
};

/** The message is the 64-byte payload itself (a msgpack bin, 66 bytes), as the other variants send it bare. */
const Echo = defineService('bench.v1', { echo: unary<Uint8Array, Uint8Array>() });

/** shoal's RPC client and server (unary echo, msgpack codec) over `QuicTransport`: the full stack. */
const shoalRpc: BenchVariant = {
  name: 'shoal-rpc',
  async start({ tls, payload }) {
    const server = await createRealEnv({ bind: '127.0.0.1:0', tls, idleTimeoutMs });
    const client = await createRealEnv({ bind: '127.0.0.1:0', tls, idleTimeoutMs });
    new RpcServer(server.env).register(Echo, { echo: (request) => request }).listen();
    const rpc = new RpcClient(client.env);
    const echo = rpc.service(Echo, server.transport.localAddress);
    // The first call waits for the handshake: it belongs to set-up, not to the measurement.
    await echo.echo(payload);
    return {
      // The call's own promise, as the other variants return theirs (no extra async wrapper).
      call: () => echo.echo(payload) as Promise<unknown> as Promise<void>,
      async close() {
        rpc.close();
        await client.close();
        await server.close();
      },
      packets: () => transportPackets(client.transport, server.transport),
    };
  },
};

export const quicBenchVariants: BenchVariant[] = [rawStreamPerCall, rawMultiplexed, tcp, shoalTransport, shoalRpc];

export interface LoadResult {
  calls: number;
  timeouts: number;
  callsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /**
   * CPU time of this process (client and server together) per completed call in the
   * measured window, in µs: steadier than calls/s on a shared machine.
   */
  cpuUsPerCall: number;
  /** QUIC packets per completed call in the measured window (both directions), where counted. */
  packetsPerCall?: number;
  /** Mean UDP payload of those packets. */
  packetBytesMean?: number;
  /** Largest UDP payload sent during the run, and the configured limit. */
  packetBytesMax?: number;
  packetBytesLimit?: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Keeps `inFlight` calls outstanding for warm-up then the measured window; bounded by time and call count. */
async function closedLoop(client: BenchClient, inFlight: number, warmupMs: number, durationMs: number): Promise<LoadResult> {
  const latencies: number[] = [];
  let timeouts = 0;
  let issued = 0;
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const stopAt = measureFrom + durationMs;
  let packetsAtStart: PacketCounts | undefined;
  let cpuAtStart = process.cpuUsage();
  const snapshot = setTimeout(() => {
    packetsAtStart = client.packets?.();
    cpuAtStart = process.cpuUsage();
  }, warmupMs);
  const worker = async () => {
    while (performance.now() < stopAt && issued < callsPerWindowMax) {
      issued++;
      const t0 = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        client.call().then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), callDeadlineMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        timeouts++;
        return;
      }
      if (t0 >= measureFrom) latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  clearTimeout(snapshot);
  const cpu = process.cpuUsage(cpuAtStart);
  const elapsed = Math.max(performance.now(), stopAt) - measureFrom;
  const sorted = Float64Array.from(latencies).sort();
  return {
    calls: latencies.length, timeouts,
    callsPerSec: Math.round(latencies.length / (elapsed / 1000)),
    p50Ms: round(percentile(sorted, 0.5)), p99Ms: round(percentile(sorted, 0.99)),
    cpuUsPerCall: latencies.length === 0 ? Number.NaN : round((cpu.user + cpu.system) / latencies.length),
    ...packetFigures(packetsAtStart, client.packets?.(), latencies.length),
  };
}

function packetFigures(before: PacketCounts | undefined, after: PacketCounts | undefined, calls: number): Partial<LoadResult> {
  if (before === undefined || after === undefined || calls === 0) return {};
  const sent = after.sent - before.sent;
  return {
    packetsPerCall: round(sent / calls), packetBytesMean: sent > 0 ? Math.round((after.bytes - before.bytes) / sent) : 0,
    packetBytesMax: after.bytesMax, packetBytesLimit: after.configuredBytesMax,
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

export interface VariantFigures extends LoadResult {
  /** calls/s of every run, in run order. */
  runs: number[];
}

/** A ratio of calls/s, or null with the reason when the baseline completed no call. */
export type Ratio = number | { value: null; reason: string };

/** The comparisons the issue asks for: subject over baseline, per in-flight level. */
const ratioPairs: readonly (readonly [subject: string, baseline: string])[] = [
  ['shoal-rpc', rawMultiplexed.name],
  ['shoal-rpc', rawStreamPerCall.name],
  ['shoal-rpc', tcp.name],
  ['shoal-rpc', shoalTransport.name],
  [shoalTransport.name, rawMultiplexed.name],
];

export async function runQuicBench(options: QuicBenchOptions = {}): Promise<Record<string, unknown>> {
  const inFlightLevels = options.inFlight ?? [1, 16, 256];
  const runs = options.runs ?? 3;
  const durationMs = options.durationMs ?? 1_500;
  const warmupMs = options.warmupMs ?? 300;
  const variants = quicBenchVariants.filter((v) => options.variants === undefined || options.variants.includes(v.name));
  const certDir = mkdtempSync(join(tmpdir(), 'shoal-bench-certs-'));
  try {
    execFileSync(packageFile('certs', 'make-dev-certs.sh'), [certDir, 'node'], { stdio: 'ignore' });
    const tls: TlsMaterial = {
      cert: readFileSync(join(certDir, 'node.pem'), 'utf8'), key: readFileSync(join(certDir, 'node.key'), 'utf8'),
      ca: readFileSync(join(certDir, 'ca.pem'), 'utf8'),
    };
    const context: BenchContext = { tls, payload: new Uint8Array(payloadBytes).fill(0x2a) };
    const samples = new Map<string, LoadResult[]>();
    const streamSamples = new Map<string, StreamFigures[]>();
    // Runs are interleaved (run 1 of every variant, then run 2...) so that load from other
    // processes on a shared machine falls on every variant alike and the ratios stay fair.
    for (let r = 0; r < runs; r++) {
      for (const variant of options.streaming === false ? [] : streamBenchVariants) {
        const figures = await measureStream(variant, tls, context.payload, warmupMs, durationMs);
        streamSamples.set(variant.name, [...(streamSamples.get(variant.name) ?? []), figures]);
      }
      for (const variant of variants) {
        for (const inFlight of inFlightLevels) {
          const client = await variant.start(context);
          try {
            const key = `${variant.name}@${inFlight}`;
            samples.set(key, [...(samples.get(key) ?? []), await closedLoop(client, inFlight, warmupMs, durationMs)]);
          } finally {
            await client.close();
          }
        }
      }
    }
    const results: Record<string, Record<string, VariantFigures>> = {};
    for (const variant of variants) {
      results[variant.name] = Object.fromEntries(inFlightLevels.map((inFlight) => {
        const runsOf = samples.get(`${variant.name}@${inFlight}`)!;
        const sorted = [...runsOf].sort((a, b) => a.callsPerSec - b.callsPerSec);
        return [String(inFlight), { ...sorted[Math.floor(sorted.length / 2)]!, runs: runsOf.map((s) => s.callsPerSec) }];
      }));
    }
    return {
      payloadBytes, durationMs, warmupMs, statistic: `median of ${runs} interleaved runs by calls/s`,
      packetBytesLimit: packetBytesMax, packetBytesMaxSeen: largestPacket(results),
      results, ratios: ratios(results, inFlightLevels),
      pairedRatios: pairedRatios(samples, inFlightLevels),
      ...(streamSamples.size === 0 ? {} : { streaming: streamingReport(streamSamples) }),
    };
  } finally {
    rmSync(certDir, { recursive: true, force: true });
  }
}

/**
 * One-way messages per second over one stream (`payloadBytes` each), the median of the
 * runs, and shoal-rpc over shoal-transport: RPC server streaming against the transport
 * carrying the same messages as bare frames under the same credit scheme.
 */
function streamingReport(samples: Map<string, StreamFigures[]>): Record<string, unknown> {
  const results: Record<string, StreamFigures & { runs: number[] }> = {};
  for (const [name, runsOf] of samples) {
    const sorted = [...runsOf].sort((a, b) => a.messagesPerSec - b.messagesPerSec);
    results[name] = { ...sorted[Math.floor(sorted.length / 2)]!, runs: runsOf.map((s) => s.messagesPerSec) };
  }
  const rpc = results['shoal-rpc'];
  const transport = results['shoal-transport'];
  const ratio = rpc !== undefined && transport !== undefined && transport.messagesPerSec > 0 ? round(rpc.messagesPerSec / transport.messagesPerSec) : null;
  const rpcRuns = samples.get('shoal-rpc') ?? [];
  const transportRuns = samples.get('shoal-transport') ?? [];
  const pairs = rpcRuns.map((r, i) => [r, transportRuns[i]] as const).filter((p): p is readonly [StreamFigures, StreamFigures] => p[1] !== undefined);
  return {
    payloadBytes, direction: 'server to client, one stream', results, ratios: { 'shoal-rpc/shoal-transport': ratio },
    pairedRatios: {
      'shoal-rpc/shoal-transport': {
        messagesPerSec: medianOf(pairs.map(([r, t]) => r.messagesPerSec / t.messagesPerSec)),
        cpuUsPerMessage: medianOf(pairs.map(([r, t]) => r.cpuUsPerMessage / t.cpuUsPerMessage)),
      },
    },
  };
}

/** The largest QUIC packet any counted variant sent, over all its runs' medians. */
function largestPacket(results: Record<string, Record<string, VariantFigures>>): number | null {
  const seen = Object.values(results).flatMap((byLevel) => Object.values(byLevel).map((f) => f.packetBytesMax ?? 0));
  const max = Math.max(0, ...seen);
  return max > 0 ? max : null;
}

/** Run-by-run ratios of one pair at one in-flight level (medians over the runs). */
export interface PairedRatio {
  callsPerSec: number | null;
  cpuUsPerCall: number | null;
  /**
   * p99 latency over p99 latency. A 1.5 s window's p99 is set by the few pipeline stalls
   * that fall in it, so one run's p99 moves a lot between runs of the same variant (p99 of the
   * transport over the raw library's: 1.1–2.2 across five invocations, docs/PROTOCOL.md §12); pairing
   * run i with run i and taking the median is the steadiest comparison this bench has.
   */
  p99Ms: number | null;
}

/**
 * The same pairs, taken run by run: run i of the subject and run i of the baseline ran
 * minutes apart at most (runs are interleaved), so their ratio is less exposed to load that
 * comes and goes on a shared machine than the ratio of two medians. For each in-flight
 * level: the median over runs of calls/s over calls/s, and of CPU µs per call over CPU µs
 * per call (the "CPU per call at most 1.15× the transport's").
 */
export function pairedRatios(samples: ReadonlyMap<string, readonly LoadResult[]>, levels: readonly number[]): Record<string, Record<string, PairedRatio>> {
  const out: Record<string, Record<string, PairedRatio>> = {};
  for (const [subjectName, baselineName] of ratioPairs) {
    const byLevel: Record<string, PairedRatio> = {};
    for (const level of levels) {
      const subject = samples.get(`${subjectName}@${level}`);
      const baseline = samples.get(`${baselineName}@${level}`);
      if (subject === undefined || baseline === undefined) continue;
      const pairs = subject.map((s, i) => [s, baseline[i]!] as const);
      byLevel[String(level)] = {
        callsPerSec: medianOf(pairs.map(([s, b]) => s.callsPerSec / b.callsPerSec)),
        cpuUsPerCall: medianOf(pairs.map(([s, b]) => s.cpuUsPerCall / b.cpuUsPerCall)),
        p99Ms: medianOf(pairs.map(([s, b]) => s.p99Ms / b.p99Ms)),
      };
    }
    if (Object.keys(byLevel).length > 0) out[`${subjectName}/${baselineName}`] = byLevel;
  }
  return out;
}

/** The median of the finite values, rounded to 2 decimals; null when there are none. */
export function medianOf(values: readonly number[]): number | null {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return null;
  const mid = finite.length / 2;
  return round(finite.length % 2 === 1 ? finite[Math.floor(mid)]! : (finite[mid - 1]! + finite[mid]!) / 2);
}

/** Subject over baseline (calls/s over calls/s), for every pair whose two variants ran. */
export function ratios(results: Record<string, Record<string, VariantFigures>>, levels: readonly number[]): Record<string, Record<string, Ratio>> {
  const out: Record<string, Record<string, Ratio>> = {};
  for (const [subjectName, baselineName] of ratioPairs) {
    const subject = results[subjectName];
    const baseline = results[baselineName];
    if (subject === undefined || baseline === undefined) continue;
    out[`${subjectName}/${baselineName}`] = Object.fromEntries(levels.map((level): [string, Ratio] => {
      const base = baseline[String(level)]!;
      if (base.callsPerSec > 0) return [String(level), round(subject[String(level)]!.callsPerSec / base.callsPerSec)];
      const reason = base.timeouts > 0
        ? `${baselineName} completed no call in the window (${base.timeouts} timed out: a lost FIN hangs a stream-per-call call)`
        : `${baselineName} completed no call in the window`;
      return [String(level), { value: null, reason }];
    }));
  }
  return out;
}
