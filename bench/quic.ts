import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QUICClient, QUICServer, events, type QUICConnection, type QUICStream } from '@matrixai/quic';
import { QuicTransport, quicClientCrypto, quicLibraryLogger, quicServerCrypto, type TlsMaterial } from '../net-real/index.ts';
import { Coalescer, FrameParser, FramedCaller } from './quic-framing.ts';

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
    };
  },
};

export const quicBenchVariants: BenchVariant[] = [rawStreamPerCall, rawMultiplexed, tcp, shoalTransport];

export interface LoadResult {
  calls: number;
  timeouts: number;
  callsPerSec: number;
  p50Ms: number;
  p99Ms: number;
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
  const elapsed = Math.max(performance.now(), stopAt) - measureFrom;
  const sorted = Float64Array.from(latencies).sort();
  return {
    calls: latencies.length, timeouts,
    callsPerSec: Math.round(latencies.length / (elapsed / 1000)),
    p50Ms: round(percentile(sorted, 0.5)), p99Ms: round(percentile(sorted, 0.99)),
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

export interface VariantFigures extends LoadResult {
  runs: number[];
}

export async function runQuicBench(options: QuicBenchOptions = {}): Promise<Record<string, unknown>> {
  const inFlightLevels = options.inFlight ?? [1, 16, 256];
  const runs = options.runs ?? 3;
  const durationMs = options.durationMs ?? 1_500;
  const warmupMs = options.warmupMs ?? 300;
  const variants = quicBenchVariants.filter((v) => options.variants === undefined || options.variants.includes(v.name));
  const certDir = mkdtempSync(join(tmpdir(), 'shoal-bench-certs-'));
  try {
    execFileSync(join(import.meta.dirname, '..', 'certs', 'make-dev-certs.sh'), [certDir, 'node'], { stdio: 'ignore' });
    const tls: TlsMaterial = {
      cert: readFileSync(join(certDir, 'node.pem'), 'utf8'), key: readFileSync(join(certDir, 'node.key'), 'utf8'),
      ca: readFileSync(join(certDir, 'ca.pem'), 'utf8'),
    };
    const context: BenchContext = { tls, payload: new Uint8Array(payloadBytes).fill(0x2a) };
    const results: Record<string, Record<string, VariantFigures>> = {};
    for (const variant of variants) {
      results[variant.name] = {};
      for (const inFlight of inFlightLevels) {
        const samples: LoadResult[] = [];
        for (let r = 0; r < runs; r++) {
          const client = await variant.start(context);
          try {
            samples.push(await closedLoop(client, inFlight, warmupMs, durationMs));
          } finally {
            await client.close();
          }
        }
        const sorted = [...samples].sort((a, b) => a.callsPerSec - b.callsPerSec);
        results[variant.name]![String(inFlight)] = { ...sorted[Math.floor(sorted.length / 2)]!, runs: samples.map((s) => s.callsPerSec) };
      }
    }
    return {
      payloadBytes, durationMs, warmupMs, statistic: `median of ${runs} runs by calls/s`,
      results, ratios: ratios(results, inFlightLevels),
    };
  } finally {
    rmSync(certDir, { recursive: true, force: true });
  }
}

/** shoal's transport against each baseline, per in-flight level (calls/s over calls/s). */
function ratios(results: Record<string, Record<string, VariantFigures>>, levels: readonly number[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  const subject = results[shoalTransport.name];
  if (subject === undefined) return out;
  for (const [name, byLevel] of Object.entries(results)) {
    if (name === shoalTransport.name) continue;
    out[`${shoalTransport.name}/${name}`] = Object.fromEntries(levels.map((level) => {
      const base = byLevel[String(level)]?.callsPerSec ?? 0;
      return [String(level), base > 0 ? round(subject[String(level)]!.callsPerSec / base) : Number.NaN];
    }));
  }
  return out;
}
