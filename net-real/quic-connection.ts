import { events, type QUICConnection, type QUICStream } from '@matrixai/quic';
import {
  ConnectionClosedError, StreamLimitError, type Address, type Connection, type ConnectionState, type Stream,
  type TransportError,
} from '../core/index.ts';
import { mapConnectionError } from './quic-errors.ts';
import { QuicStreamAdapter } from './quic-stream.ts';

/**
 * Longest a graceful close waits for what was written to be delivered before the
 * connection is torn down anyway. A cooperating peer (an RPC session) answers the end of
 * its streams within a round trip; the bound is for a peer that never ends its side or a
 * path that died meanwhile. It is below the default idle timeout (10 s), so a dead peer
 * costs no more than it would have anyway.
 */
export const closeFlushTimeoutMsDefault = 2_000;

/** Limits a connection enforces; see `QuicTransportOptions` for the reasons behind each. */
export interface ConnectionLimits {
  readonly maxStreams: number;
  readonly streamBufferBytesMax: number;
  readonly closeFlushTimeoutMs: number;
  /** Told of each stream the peer opened over `maxStreams` (reset at once): a refusal counter. */
  readonly onStreamRefused?: () => void;
}

/**
 * A core `Connection` over one QUIC connection. Created in state `connecting` by
 * `connect()` (the handshake runs in the background and `bind()` attaches the result) or
 * already `open` for a connection a peer made to us.
 *
 * The stream count is tracked here and never allowed past `maxStreams`, which is kept
 * below the QUIC stream credit each endpoint grants: one `ErrorQUICStreamLimit` from the
 * library poisons the connection for good (later `newStream()` calls all fail).
 *
 * CLOSE/FLUSH RULE: `close()` is closed at once for the core, but the library connection
 * lives on until every stream has settled (what was written sent, then the end, and the
 * peer's end received: its FIN shows it read ours), at most `closeFlushTimeoutMs`; a close
 * while connecting finishes the handshake first if bytes wait. `abort()` and failures
 * (peer close, idle timeout, handshake failure) drop everything at once. Tearing down the
 * QUIC connection earlier would lose the tail: CONNECTION_CLOSE discards unsent stream data.
 */
export class QuicConnectionAdapter implements Connection {
  onOpen: (() => void) | undefined;
  onStream: ((stream: Stream) => void) | undefined;
  onClose: ((error?: TransportError) => void) | undefined;
  state: ConnectionState;

  /** Resolves once the library connection is released: after the flush of a graceful close, at once otherwise. */
  readonly released: Promise<void>;
  private resolveReleased: () => void = () => undefined;
  private lib: QUICConnection | undefined;
  /** Streams open as the core sees them. */
  private readonly streams = new Map<number, QuicStreamAdapter>();
  /** Streams not yet settled, open or not: a graceful close waits for these. */
  private readonly unsettled = new Set<QuicStreamAdapter>();
  private nextStreamId = 0;
  /** A graceful close waits for `unsettled` to empty; the timer bounds the wait. */
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private flushing = false;
  private isReleased = false;
  /** Stops the library connection (or abandons the handshake); set by the transport. */
  private release: () => void = () => undefined;

  constructor(
    readonly remoteAddress: Address,
    private readonly limits: ConnectionLimits,
    /** Called once the library connection is released. */
    private readonly ended: (connection: QuicConnectionAdapter) => void,
  ) {
    this.state = 'connecting';
    this.released = new Promise((resolve) => (this.resolveReleased = resolve));
  }

  get maxStreams(): number {
    return this.limits.maxStreams;
  }

  get openStreamCount(): number {
    return this.streams.size;
  }

  /** Attaches the established library connection; `release` tears it down without ceremony. */
  bind(lib: QUICConnection, release: () => void): void {
    this.release = release;
    if (this.isReleased) {
      release();
      return;
    }
    this.lib = lib;
    lib.addEventListener(events.EventQUICConnectionError.name, (event) => {
      this.fail(mapConnectionError((event as events.EventQUICConnectionError).detail, this.remoteAddress));
    });
    lib.addEventListener(events.EventQUICConnectionStream.name, (event) => {
      this.acceptStream((event as events.EventQUICConnectionStream).detail);
    });
    void lib.closedP.then(() => this.fail(new ConnectionClosedError(`connection to ${this.remoteAddress} closed`)));
    // Closed while connecting: only the streams still flushing get their library streams.
    for (const stream of this.unsettled) stream.bind(lib.newStream());
    if (this.state !== 'connecting') return;
    this.state = 'open';
    this.onOpen?.();
  }

  /** Sets how to abandon a handshake still in progress. */
  setRelease(release: () => void): void {
    this.release = release;
  }

  openStream(): Stream {
    if (this.state === 'closed') throw new ConnectionClosedError(`connection to ${this.remoteAddress} is closed`);
    if (this.streams.size >= this.limits.maxStreams) {
      throw new StreamLimitError(`connection to ${this.remoteAddress} already has ${this.streams.size} streams (peer allows ${this.limits.maxStreams})`);
    }
    const stream = this.newAdapter();
    if (this.lib !== undefined) stream.bind(this.lib.newStream());
    return stream;
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    const streamError = this.closedLocally();
    for (const stream of [...this.streams.values()]) stream.closeGracefully(streamError);
    this.onClose?.(undefined);
    if (this.unsettled.size === 0) return this.releaseNow();
    this.flushing = true;
    this.flushTimer = setTimeout(() => this.drop(undefined), this.limits.closeFlushTimeoutMs);
  }

  abort(): void {
    this.drop(undefined);
  }

  /** The connection failed (handshake, idle timeout, peer close). Idempotent. */
  fail(error: TransportError): void {
    this.drop(error);
  }

  /** Drops every unsent byte and releases the library connection now; the core hears of it unless it already closed. */
  private drop(error: TransportError | undefined): void {
    if (this.isReleased) return;
    const wasClosed = this.state === 'closed';
    this.state = 'closed';
    const streamError = error ?? this.closedLocally();
    for (const stream of [...this.streams.values(), ...this.unsettled]) stream.finish(streamError);
    this.releaseNow();
    if (!wasClosed) this.onClose?.(error);
  }

  private releaseNow(): void {
    if (this.isReleased) return;
    this.isReleased = true;
    clearTimeout(this.flushTimer);
    this.release();
    this.ended(this);
    this.resolveReleased();
  }

  private settled(stream: QuicStreamAdapter): void {
    this.unsettled.delete(stream);
    if (this.flushing && this.unsettled.size === 0) this.releaseNow();
  }

  private closedLocally(): ConnectionClosedError {
    return new ConnectionClosedError(`connection to ${this.remoteAddress} closed locally`);
  }

  private acceptStream(lib: QUICStream): void {
    if (this.state === 'closed' || this.streams.size >= this.limits.maxStreams) {
      if (this.state !== 'closed') this.limits.onStreamRefused?.();
      lib.cancel(undefined);
      return;
    }
    const stream = this.newAdapter();
    this.onStream?.(stream);
    stream.bind(lib);
  }

  private newAdapter(): QuicStreamAdapter {
    const stream = new QuicStreamAdapter(this, this.nextStreamId++, this.limits.streamBufferBytesMax,
      (s) => this.streams.delete(s.id), (s) => this.settled(s));
    this.streams.set(stream.id, stream);
    this.unsettled.add(stream);
    return stream;
  }
}
