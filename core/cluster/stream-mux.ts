import type { Connection, Stream, Transport } from '../transport.ts';
import { protocolMagic } from '../rpc/index.ts';

/** Bytes buffered from an unrouted connection's first stream while its first 4 bytes arrive. */
export const MUX_PEEK_BYTES_MAX = protocolMagic.length;

export interface StreamRoutes {
  /** Takes connections whose first stream starts with the RPC preamble magic (`RpcServer.accept`). */
  rpc: (connection: Connection) => void;
  /** Takes every other connection (SWIM push-pull). */
  other: ((connection: Connection) => void) | undefined;
}

/**
 * One host, one address, two stream protocols: SWIM push-pull and RPC both accept incoming
 * connections, but a transport has one `onConnection`. This routes each incoming
 * connection by the first bytes of its first stream (the RPC preamble starts with a fixed
 * magic, push-pull never does), then hands the connection and that stream to the owner and
 * replays the peeked bytes, so the owner sees exactly what a direct accept would have shown.
 * Outgoing connections need no routing: each side knows what it dials.
 */
export function routeIncomingStreams(transport: Transport, routes: StreamRoutes): void {
  transport.streams.onConnection = (connection) => {
    connection.onStream = (stream) => peek(connection, stream, routes);
  };
}

function peek(connection: Connection, stream: Stream, routes: StreamRoutes): void {
  connection.onStream = undefined;
  const chunks: Uint8Array[] = [];
  let length = 0;
  let ended = false;
  let routed = false;
  const route = () => {
    if (routed) return;
    routed = true;
    const head = concat(chunks, length);
    const isRpc = head.length >= protocolMagic.length && protocolMagic.every((b, i) => head[i] === b);
    const owner = isRpc ? routes.rpc : routes.other;
    stream.onData = undefined;
    stream.onEnd = undefined;
    stream.onClose = undefined;
    if (owner === undefined) return connection.close();
    owner(connection);
    // Read back through casts: the owner assigned these handlers, which the compiler cannot see.
    (connection.onStream as Connection['onStream'])?.(stream);
    if (head.length > 0) (stream.onData as Stream['onData'])?.(head);
    if (ended) (stream.onEnd as Stream['onEnd'])?.();
  };
  stream.onData = (data) => {
    chunks.push(data);
    length += data.length;
    if (length >= MUX_PEEK_BYTES_MAX) route();
  };
  // A stream that ends or closes before 4 bytes cannot be RPC; its owner is the other protocol.
  stream.onEnd = () => {
    ended = true;
    route();
  };
  stream.onClose = () => {
    if (!routed) routed = true;
  };
}

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
