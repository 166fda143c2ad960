import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAddress, type Address, type Connection, type Stream } from '../../core/index.ts';
import {
  FrameDecoder, FrameType, decodeTrailer, defaultLimits, encodeFrame, encodeHeaders, encodeMetadata, encodePreamble, frameHeaderBytes,
} from '../../core/rpc/index.ts';
import { QuicTransport } from '../../net-real/index.ts';

/**
 * Hostile loads against a `shoal node`, one function per finding of issue 11 ("no
 * node-wide limits"), shared by tests/net-real/node-limits.test.ts and
 * scripts/measure-node-limits.ts. Each load holds what it opened until `close()` of the
 * loader; none of them reads what the node sends back.
 */

const repoRoot = join(import.meta.dirname, '..', '..');
const mebibyte = 1024 * 1024;

/** Makes the cluster's dev CA (if new) and certificates for `names` in `dir`, as `--dev-certs` would. */
export function makeDevCerts(dir: string, names: readonly string[]): void {
  execFileSync('bash', [join(repoRoot, 'certs', 'make-dev-certs.sh'), dir, ...names], { stdio: 'ignore' });
}

/** A QUIC endpoint with a certificate of the cluster CA (the node asks for mutual TLS), free of the node's own limits. */
export async function startLoader(certDir: string, name = 'loader'): Promise<QuicTransport> {
  makeDevCerts(certDir, [name]);
  const file = (f: string) => readFileSync(join(certDir, f), 'utf8');
  return QuicTransport.start({
    bind: '127.0.0.1:0',
    tls: { cert: file(`${name}.pem`), key: file(`${name}.key`), ca: file('ca.pem'), mutual: true },
    idleTimeoutMs: 20_000, maxStreams: 1_000, streamBufferBytesMax: 16 * mebibyte, closeFlushTimeoutMs: 200,
  });
}

/** Resolves once `connection` is open (false if it closed first or `boundMs` passed). */
export function opened(connection: Connection, boundMs = 15_000): Promise<boolean> {
  if (connection.state !== 'connecting') return Promise.resolve(connection.state === 'open');
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), boundMs);
    connection.onOpen = () => {
      clearTimeout(timer);
      resolve(true);
    };
    connection.onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
  });
}

/** Opens `count` connections, `perSecond` at most, and returns them (open or not). No stream is opened. */
export async function connectMany(loader: QuicTransport, target: Address, count: number, perSecond: number): Promise<Connection[]> {
  const connections: Connection[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const connection = loader.streams.connect(target);
    connection.onClose = () => undefined;
    connections.push(connection);
    const aheadMs = (i + 1) * 1_000 / perSecond - (performance.now() - started);
    if (aheadMs > 0) await sleep(aheadMs);
  }
  return connections;
}

/** A stream that ignores what arrives, so the loader holds nothing but the stream. */
function quietStream(connection: Connection): Stream {
  const stream = connection.openStream();
  stream.onData = () => undefined;
  stream.onClose = () => undefined;
  return stream;
}

/**
 * Finding 1: on each of `connections` connections, opens up to `streams` streams and writes
 * one byte on each, never the 4 bytes that route a stream. Returns the streams opened.
 */
export async function unroutedStreams(loader: QuicTransport, target: Address, connections: number, streams: number): Promise<number> {
  let openedStreams = 0;
  const all = await connectMany(loader, target, connections, 200);
  for (const connection of all) {
    if (!(await opened(connection))) continue;
    for (let i = 0; i < streams; i++) {
      try {
        quietStream(connection).write(Uint8Array.of(0));
        openedStreams++;
      } catch {
        break; // Out of the node's stream credit: this connection is spent.
      }
    }
  }
  return openedStreams;
}

/** The RPC preamble a client sends, with the default limits. */
function preamble(): Uint8Array {
  return encodePreamble(defaultLimits);
}

function headers(callId: number): Uint8Array {
  return encodeFrame(FrameType.HEADERS, 0, callId, encodeHeaders('shoal.node.v1/status', 0, encodeMetadata(undefined)));
}

/** A msgpack `bin 32` of `bytes` bytes in all: a request the node decodes without complaint. */
function binRequest(bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  out[0] = 0xc6;
  new DataView(out.buffer).setUint32(1, bytes - 5);
  return out;
}

/** Writes `bytes`, waiting while the loader's own send buffer is full (it refuses past 16 MiB). */
async function writePaced(stream: Stream, bytes: Uint8Array, boundMs = 30_000): Promise<boolean> {
  const deadline = performance.now() + boundMs;
  for (;;) {
    if (stream.writeClosed) return false;
    try {
      stream.write(bytes);
      return true;
    } catch (error) {
      if ((error as Error).name !== 'LimitExceededError' || performance.now() > deadline) return false;
      await sleep(20);
    }
  }
}

/** The status codes of the trailers a stream carries, by call id (a connection's answers as a client sees them). */
function trailerStatuses(stream: Stream): Map<number, number> {
  const statuses = new Map<number, number>();
  const decoder = new FrameDecoder(defaultLimits.maxFrameBytes, {
    onPreamble: () => undefined,
    onFrame: (type, _flags, callId, payload) => {
      if (type === FrameType.TRAILER) statuses.set(callId, decodeTrailer(payload).status);
    },
  });
  stream.onData = (data) => decoder.push(data);
  return statuses;
}

/**
 * Finding 2: on each of `connections` RPC connections, starts `calls` unary calls whose
 * request of `requestBytes` never half-closes, so a node without a bound holds them all.
 * Returns, per connection, the trailers' status codes by call id (filled as they arrive).
 */
export async function unfinishedUnaryCalls(loader: QuicTransport, target: Address, connections: number, calls: number, requestBytes: number): Promise<Map<number, number>[]> {
  const all = await connectMany(loader, target, connections, 200);
  const request = binRequest(requestBytes);
  const answers = all.map(() => new Map<number, number>());
  await Promise.all(all.map(async (connection, i) => {
    if (!(await opened(connection))) return;
    const stream = quietStream(connection);
    answers[i] = trailerStatuses(stream);
    stream.write(preamble());
    for (let callId = 1; callId <= calls; callId++) {
      if (!(await writePaced(stream, headers(callId)))) return;
      if (!(await writePaced(stream, encodeFrame(FrameType.MESSAGE, 0, callId, request)))) return;
    }
  }));
  return answers;
}

/**
 * Finding 3: on each of `connections` RPC connections, starts one frame of `frameBytes`
 * (the node's largest is 1 MiB) and sends all of it but the last byte.
 */
export async function unfinishedFrames(loader: QuicTransport, target: Address, connections: number, frameBytes: number): Promise<Connection[]> {
  const all = await connectMany(loader, target, connections, 200);
  const header = new Uint8Array(frameHeaderBytes);
  new DataView(header.buffer).setUint32(0, frameBytes);
  header[4] = FrameType.MESSAGE;
  const body = new Uint8Array(frameBytes - 1);
  await Promise.all(all.map(async (connection) => {
    if (!(await opened(connection))) return;
    const stream = quietStream(connection);
    stream.write(preamble());
    stream.write(headers(1));
    stream.write(header);
    await writePaced(stream, body);
  }));
  return all;
}

/** Finding 8: sends `count` UDP datagrams that are neither gossip (version 1–3) nor QUIC (fixed bit 0x40 clear). */
export async function garbageDatagrams(target: Address, count: number): Promise<void> {
  const { host, port } = parseAddress(target);
  const socket = createSocket('udp4');
  try {
    for (let i = 0; i < count; i++) {
      const packet = randomBytes(64 + (i % 512));
      packet[0] = 0x80 | (packet[0]! & 0x3c) | 0x04;
      await new Promise<void>((resolve) => socket.send(packet, port, host, () => resolve()));
    }
  } finally {
    socket.close();
  }
}

/** VmRSS of a process, in MiB (Linux). */
export function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) / 1024;
}

/** Samples a process's RSS every `everyMs` while running; `stop()` returns the peak in MiB. */
export function samplePeakRss(pid: number, everyMs = 50): { stop(): number } {
  let peak = rssMiB(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMiB(pid));
    } catch {
      // The process ended: the peak so far stands.
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssMiB(pid));
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
