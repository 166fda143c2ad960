import { RpcClient, RpcServer, defaultLimits, defineService, serverStream } from '../core/rpc/index.ts';
import { QuicTransport, createRealEnv, type TlsMaterial } from '../net-real/index.ts';
import { FrameParser, encodeFrame } from './quic-framing.ts';

/**
 * One-way throughput of one stream of small messages, server to client, over QUIC on
 * loopback: shoal's RPC (one server-streaming call) against shoal's transport carrying the
 * same messages as bare `length | id | payload` frames. Both sides run the same credit
 * scheme, so neither can queue without bound: the sender may have one window
 * (`defaultLimits.initialCallWindowBytes`) unacknowledged and the receiver returns credit
 * every half window, as RPC flow control does.
 */

export interface StreamFigures {
  messages: number;
  messagesPerSec: number;
  /** CPU time of this process (both ends) per message received in the window, in µs. */
  cpuUsPerMessage: number;
}

export interface StreamBenchVariant {
  readonly name: string;
  /** Starts the stream; `onMessage` is told of each message received. */
  start(tls: TlsMaterial, payload: Uint8Array, onMessage: () => void): Promise<{ close(): Promise<void> }>;
}

const idleTimeoutMs = 10_000;
const windowBytes = defaultLimits.initialCallWindowBytes;
/** Credit frames use this call id; messages use 1. */
const creditFrameId = 0;

/** shoal's transport: the server writes frames while it has credit; the client grants more every half window. */
const transportStream: StreamBenchVariant = {
  name: 'shoal-transport',
  async start(tls, payload, onMessage) {
    const server = await QuicTransport.start({ bind: '127.0.0.1:0', tls, idleTimeoutMs });
    const client = await QuicTransport.start({ bind: '127.0.0.1:0', tls, idleTimeoutMs });
    const frame = encodeFrame(1, payload);
    server.streams.onConnection = (conn) => {
      conn.onStream = (stream) => {
        let credit = windowBytes;
        let open = true;
        const pump = () => {
          while (open && credit > 0) {
            stream.write(frame);
            credit -= frame.length;
          }
        };
        const parser = new FrameParser((_id, granted) => {
          credit += granted.readUInt32BE(8);
          pump();
        });
        stream.onData = (data) => parser.push(data);
        stream.onEnd = () => {
          open = false;
          stream.end();
        };
        stream.onClose = () => (open = false);
        pump();
      };
    };
    const conn = client.streams.connect(server.localAddress);
    const stream = conn.openStream();
    let consumed = 0;
    const parser = new FrameParser((_id, received) => {
      onMessage();
      consumed += received.length;
      if (consumed >= windowBytes / 2) {
        stream.write(encodeFrame(creditFrameId, u32(consumed)));
        consumed = 0;
      }
    });
    stream.onData = (data) => parser.push(data);
    // The server learns of the stream from its first bytes.
    stream.write(encodeFrame(creditFrameId, u32(0)));
    return {
      async close() {
        await client.close();
        await server.close();
      },
    };
  },
};

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

const Flood = defineService('bench.stream.v1', { flood: serverStream<Record<string, never>, Uint8Array>() });

/** shoal's RPC: one server-streaming call whose handler yields the payload until the client cancels. */
const rpcStream: StreamBenchVariant = {
  name: 'shoal-rpc',
  async start(tls, payload, onMessage) {
    const server = await createRealEnv({ bind: '127.0.0.1:0', tls, idleTimeoutMs });
    const client = await createRealEnv({ bind: '127.0.0.1:0', tls, idleTimeoutMs });
    new RpcServer(server.env).register(Flood, {
      *flood() {
        for (;;) yield payload;
      },
    }).listen();
    const rpc = new RpcClient(client.env);
    const stream = rpc.service(Flood, server.transport.localAddress).flood({}, { timeoutMs: 3_600_000 });
    const reading = (async () => {
      for await (const _ of stream) onMessage();
    })().catch(() => undefined);
    return {
      async close() {
        stream.cancel();
        await reading;
        rpc.close();
        await client.close();
        await server.close();
      },
    };
  },
};

export const streamBenchVariants: readonly StreamBenchVariant[] = [transportStream, rpcStream];

/** Messages received over `durationMs` after `warmupMs`, and the process's CPU time per message. */
export async function measureStream(variant: StreamBenchVariant, tls: TlsMaterial, payload: Uint8Array, warmupMs: number, durationMs: number): Promise<StreamFigures> {
  let received = 0;
  const running = await variant.start(tls, payload, () => received++);
  try {
    await sleep(warmupMs);
    const before = received;
    const cpu = process.cpuUsage();
    const start = performance.now();
    await sleep(durationMs);
    const messages = received - before;
    const used = process.cpuUsage(cpu);
    const elapsedMs = performance.now() - start;
    return {
      messages,
      messagesPerSec: Math.round(messages / (elapsedMs / 1000)),
      cpuUsPerMessage: messages === 0 ? Number.NaN : Math.round(((used.user + used.system) / messages) * 100) / 100,
    };
  } finally {
    await running.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
