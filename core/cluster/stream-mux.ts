import type { Clock } from '../clock.ts';
import type { Connection, Stream, Transport } from '../transport.ts';
import { protocolMagic } from '../rpc/index.ts';

/** Bytes buffered from an unrouted connection's first stream while its first 4 bytes arrive. */
export const MUX_PEEK_BYTES_MAX = protocolMagic.length;

/**
 * Time a connection's first stream has to deliver its first 4 bytes. Both protocols write
 * them at once (the RPC preamble, the push-pull state frame), so a healthy peer needs one
 * round trip; a stream still silent after this only holds memory.
 */
export const MUX_ROUTE_TIMEOUT_MS_DEFAULT = 5_000;

/** Application error code of a stream reset by the router (not routed in time, or opened beside the one being routed). */
export const MUX_RESET_CODE = 1;

export interface StreamRoutes {
  /** Takes connections whose first stream starts with the RPC preamble magic (`RpcServer.accept`). */
  rpc: (connection: Connection) => void;
  /** Takes every other connection (SWIM push-pull). */
  other: ((connection: Connection) => void) | undefined;
}

/**
 * What the router turned away: a connection whose first stream was not routed in time
 * (closed), or a stream opened beside the one being routed (reset).
 */
export type RouteRefusal = 'route_timeout' | 'extra_stream';

export interface StreamRouteOptions {
  /**
   * A connection whose first stream has not delivered 4 bytes within this is closed.
   * @default MUX_ROUTE_TIMEOUT_MS_DEFAULT
   */
  routeTimeoutMs?: number;
  /** Told of each refusal (a refusal counter). */
  onRefused?: (refusal: RouteRefusal, connection: Connection) => void;
}

/**
 * One host, one address, two stream protocols: SWIM push-pull and RPC both accept incoming
 * connections, but a transport has one `onConnection`. This routes each incoming
 * connection by the first bytes of its first stream (the RPC preamble starts with a fixed
 * magic, push-pull never does), then hands the connection and that stream to the owner and
 * replays the peeked bytes, so the owner sees exactly what a direct accept would have shown.
 * Outgoing connections need no routing: each side knows what it dials.
 *
 * Unrouted connections are bounded: a first stream silent for `routeTimeoutMs`, or closed
 * before it was routed, closes its connection, and streams opened beside it are reset.
 */
export function routeIncomingStreams(transport: Transport, clock: Clock, routes: StreamRoutes, options: StreamRouteOptions = {}): void {
  const routeTimeoutMs = options.routeTimeoutMs ?? MUX_ROUTE_TIMEOUT_MS_DEFAULT;
  transport.streams.onConnection = (connection) => {
    connection.onStream = (stream) => peek(connection, stream, routes, clock, routeTimeoutMs, options.onRefused);
  };
}

function peek(
  connection: Connection, stream: Stream, routes: StreamRoutes, clock: Clock, routeTimeoutMs: number,
  onRefused: StreamRouteOptions['onRefused'],
): void {
  // Both protocols use one stream per connection: another one before routing is refused.
  connection.onStream = (extra) => {
    extra.reset(MUX_RESET_CODE);
    onRefused?.('extra_stream', connection);
  };
  const chunks: Uint8Array[] = [];
  let length = 0;
  let ended = false;
  let settled = false;
  const settle = (): boolean => {
    if (settled) return false;
    settled = true;
    clock.cancelTimer(timer);
    stream.onData = undefined;
    stream.onEnd = undefined;
    stream.onClose = undefined;
    connection.onStream = undefined;
    return true;
  };
  const route = () => {
    if (!settle()) return;
    const head = concat(chunks, length);
    const isRpc = head.length >= protocolMagic.length && protocolMagic.every((b, i) => head[i] === b);
    const owner = isRpc ? routes.rpc : routes.other;
    if (owner === undefined) return connection.close();
    owner(connection);
    // Read back through casts: the owner assigned these handlers, which the compiler cannot see.
    (connection.onStream as Connection['onStream'])?.(stream);
    if (head.length > 0) (stream.onData as Stream['onData'])?.(head);
    if (ended) (stream.onEnd as Stream['onEnd'])?.();
  };
  const timer = clock.setTimer(routeTimeoutMs, () => {
    if (!settle()) return;
    stream.reset(MUX_RESET_CODE);
    connection.abort();
    onRefused?.('route_timeout', connection);
  });
  stream.onData = (data) => {
    chunks.push(data);
    length += data.length;
    if (length >= MUX_PEEK_BYTES_MAX) route();
  };
  // A stream that ends before 4 bytes cannot be RPC; its owner is the other protocol.
  stream.onEnd = () => {
    ended = true;
    route();
  };
  // Reset or failed before it could be routed: the connection carries nothing else.
  stream.onClose = () => {
    if (settle()) connection.abort();
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
