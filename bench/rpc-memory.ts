import type { Connection, Env, Stream, StreamService } from '../core/index.ts';
import { RpcClient, RpcServer, defineService, unary } from '../core/rpc/index.ts';
import { RealClock } from '../net-real/clock.ts';
import { CryptoRandom } from '../net-real/random.ts';

/**
 * The RPC layer's own CPU per call, with no network under it: client and server in one
 * process joined by an in-memory stream that delivers each event-loop turn's writes as one
 * chunk on a later turn (what the QUIC transport's coalescing does, without QUIC). What is
 * left is framing, call objects, flow control, deadlines and MessagePack: the part of a
 * call's cost that is shoal's, measured on its own (docs/PROTOCOL.md §12).
 */

export interface RpcMemoryFigures {
  inFlight: number;
  calls: number;
  callsPerSec: number;
  /** CPU time of the process (client and server) per call, in µs. */
  cpuUsPerCall: number;
}

/**
 * One direction of the in-memory pipe: writes of a turn are appended to one batch (as the
 * QUIC transport's coalescing does) and delivered as one chunk on a later turn.
 */
class MemoryStream implements Stream {
  onData: ((data: Uint8Array) => void) | undefined;
  onEnd: (() => void) | undefined;
  onClose: (() => void) | undefined;
  readonly id = 1;
  readonly writeClosed = false;
  peer: MemoryStream | undefined;
  connection!: Connection;
  private batch = new Uint8Array(64 * 1024);
  private batchBytes = 0;

  write(data: Uint8Array): void {
    if (this.batchBytes === 0) setImmediate(() => this.flush());
    if (this.batchBytes + data.length > this.batch.length) {
      const grown = new Uint8Array(Math.max(this.batch.length * 2, this.batchBytes + data.length));
      grown.set(this.batch.subarray(0, this.batchBytes));
      this.batch = grown;
    }
    this.batch.set(data, this.batchBytes);
    this.batchBytes += data.length;
  }

  end(): void {}
  reset(): void {}

  private flush(): void {
    const chunk = this.batch.slice(0, this.batchBytes);
    this.batchBytes = 0;
    setImmediate(() => this.peer?.onData?.(chunk));
  }
}

function memoryConnection(remoteAddress: string, stream: MemoryStream): Connection {
  const connection: Connection = {
    remoteAddress, state: 'open', maxStreams: 1, openStreamCount: 1, openStream: () => stream,
    close() {}, abort() {}, onOpen: undefined, onStream: undefined, onClose: undefined,
  };
  stream.connection = connection;
  return connection;
}

function memoryEnv(clock: RealClock, localAddress: string, streams: StreamService): Env {
  return {
    clock, random: new CryptoRandom(), logger: { log() {} },
    transport: { localAddress, streams, datagrams: { maxDatagramBytes: 0, onDatagram: undefined, send() {} } },
  };
}

const Echo = defineService('bench.v1', { echo: unary<Uint8Array, Uint8Array>() });

/** `calls` unary 64-byte echoes with `inFlight` outstanding, over the in-memory pipe. */
export async function runRpcMemory(inFlight: number, calls: number): Promise<RpcMemoryFigures> {
  const clock = new RealClock();
  const serverStreams: StreamService = { onConnection: undefined, connect: () => { throw new Error('the server dials nobody'); } };
  const clientStreams: StreamService = {
    onConnection: undefined,
    connect: () => {
      const toServer = new MemoryStream();
      const toClient = new MemoryStream();
      toServer.peer = toClient;
      toClient.peer = toServer;
      const accepted = memoryConnection('client', toClient);
      setImmediate(() => {
        serverStreams.onConnection?.(accepted);
        accepted.onStream?.(toClient);
      });
      return memoryConnection('server', toServer);
    },
  };
  new RpcServer(memoryEnv(clock, 'server', serverStreams)).register(Echo, { echo: (request) => request }).listen();
  const client = new RpcClient(memoryEnv(clock, 'client', clientStreams));
  const echo = client.service(Echo, 'server');
  const payload = new Uint8Array(64).fill(0x2a);
  await echo.echo(payload);
  let started = 0;
  const cpuAtStart = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (started < calls) {
      started++;
      await echo.echo(payload);
    }
  }));
  const cpu = process.cpuUsage(cpuAtStart);
  const elapsedMs = performance.now() - start;
  client.close();
  return {
    inFlight, calls, callsPerSec: Math.round(calls / (elapsedMs / 1000)),
    cpuUsPerCall: Math.round(((cpu.user + cpu.system) / calls) * 100) / 100,
  };
}
