import type { Address } from './address.ts';
import type { TransportError } from './errors.ts';

/**
 * Sizes and timeouts both worlds use unless told otherwise, so a scenario tells the same
 * story in the simulator and on real nodes. Where a value follows from a real limit, the
 * simulator adopts the real one.
 */
/**
 * Largest gossip datagram: the 1 350-byte QUIC packet limit off loopback less the 37 bytes
 * keyring sealing adds (version, timestamp, nonce, tag: net-real/keyring.ts).
 */
export const datagramBytesMaxDefault = 1_313;
/** A connection whose handshake has not finished in this long fails with `ConnectTimeoutError`. */
export const connectTimeoutMsDefault = 5_000;
/** Bytes written to a stream (real) or connection (simulator) and not yet delivered before `write` throws `LimitExceededError`. */
export const streamBufferBytesMaxDefault = 4 * 1024 * 1024;
/** Inbound datagrams a slow member (the `slow` fault) holds at once; more are dropped. */
export const slowHeldMax = 65_536;

/**
 * The network as the protocols see it: two services, because the protocols need both.
 *
 * Event handlers are plain assignable properties. A transport never invokes a handler
 * synchronously from the call that created the object it belongs to, so a handler set
 * right after `connect()` / `openStream()`, or inside the callback that handed the object
 * over, sees every event.
 */
export interface Transport {
  /** This endpoint's own address, as peers reach it. */
  readonly localAddress: Address;
  readonly datagrams: DatagramService;
  readonly streams: StreamService;
}

/** Unreliable, unordered, size-bounded messages (SWIM probes and gossip). */
export interface DatagramService {
  /** The largest payload `send` accepts, in bytes. */
  readonly maxDatagramBytes: number;
  /**
   * Sends one datagram. It may be lost, duplicated, delayed or reordered; nothing is
   * reported back. Throws `DatagramTooLargeError` above `maxDatagramBytes` and
   * `InvalidArgumentError` for a malformed address. The payload is copied.
   */
  send(to: Address, payload: Uint8Array): void;
  /** Called for every datagram that arrives. */
  onDatagram: ((from: Address, payload: Uint8Array) => void) | undefined;
}

/** Reliable, ordered, bidirectional byte streams over connections (RPC, push-pull). */
export interface StreamService {
  /**
   * Starts a connection to `to` and returns at once in state `connecting`. Streams may be
   * opened and written before it is open; their bytes follow the handshake. If the
   * handshake fails, `onClose` reports `ConnectTimeoutError` or `ConnectionRefusedError`.
   */
  connect(to: Address): Connection;
  /** Called for each connection a peer opens to us. Unset: incoming connections are refused. */
  onConnection: ((connection: Connection) => void) | undefined;
}

export type ConnectionState = 'connecting' | 'open' | 'closed';

export interface Connection {
  /** The peer's address (for an accepted connection, the address the peer connected from). */
  readonly remoteAddress: Address;
  readonly state: ConnectionState;
  /** Most streams open at once that the peer allows (its stream credit). */
  readonly maxStreams: number;
  /** Streams currently open on this connection, in both directions. */
  readonly openStreamCount: number;
  /**
   * Opens a bidirectional stream. Throws `ConnectionClosedError` on a closed connection and
   * `StreamLimitError` when `openStreamCount` would exceed `maxStreams`.
   */
  openStream(): Stream;
  /**
   * Closes the connection gracefully. For this side it is closed at once: open streams
   * close with `ConnectionClosedError` and `onClose` fires with no error. Every byte
   * written before still reaches the peer, ahead of the close (a peer may see its streams
   * end first); the transport waits for that at most a bounded time (QUIC:
   * `closeFlushTimeoutMs`), then tears the connection down anyway. Only a failure of the
   * path or the peer loses such bytes.
   */
  close(): void;
  /**
   * Closes the connection at once, as `close()` does for this side, but gives up bytes not
   * yet sent: for a peer already given up on (silent past a timeout, a broken stream).
   */
  abort(): void;
  /** Called once the handshake completes. */
  onOpen: (() => void) | undefined;
  /** Called for each stream the peer opens. */
  onStream: ((stream: Stream) => void) | undefined;
  /**
   * Called exactly once when the connection ends: with no error after a local `close()`,
   * otherwise with the typed reason (`ConnectionLostError`, `ConnectionResetError`,
   * `ConnectionClosedError` when the peer closed it, or a handshake failure).
   */
  onClose: ((error?: TransportError) => void) | undefined;
}

export interface Stream {
  /** Unique among the streams of its connection. */
  readonly id: number;
  readonly connection: Connection;
  /** True once this side called `end()` or `reset()`, or the stream closed. */
  readonly writeClosed: boolean;
  /**
   * Queues bytes for the peer, in order. Delivery may split or join writes: the peer sees
   * a byte stream, not messages. Throws `StreamClosedError` after `end()`/`reset()` or
   * once the stream closed. The bytes are copied.
   */
  write(data: Uint8Array): void;
  /** Half-close: no more writes from this side; the peer sees `onEnd` after the last byte. */
  end(): void;
  /**
   * Abandons the stream in both directions; the peer's `onClose` gets
   * `StreamResetError(code)`. Does nothing if the stream already closed.
   */
  reset(code: number): void;
  onData: ((data: Uint8Array) => void) | undefined;
  /** The peer half-closed: no more data will arrive. */
  onEnd: (() => void) | undefined;
  /**
   * Called exactly once when the stream is finished: with no error when both sides ended
   * or this side reset it; otherwise with `StreamResetError` or the connection's error.
   */
  onClose: ((error?: TransportError) => void) | undefined;
}
