import { events, type QUICConnection, type QUICStream } from '@matrixai/quic';
import {
  ConnectionClosedError, StreamLimitError, type Address, type Connection, type ConnectionState, type Stream,
  type TransportError,
} from '../core/index.ts';
import { mapConnectionError } from './quic-errors.ts';
import { QuicStreamAdapter } from './quic-stream.ts';

/** Limits a connection enforces; see `QuicTransportOptions` for the reasons behind each. */
export interface ConnectionLimits {
  readonly maxStreams: number;
  readonly streamBufferBytesMax: number;
}

/**
 * A core `Connection` over one QUIC connection. Created in state `connecting` by
 * `connect()` (the handshake runs in the background and `bind()` attaches the result) or
 * already `open` for a connection a peer made to us.
 *
 * The stream count is tracked here and never allowed past `maxStreams`, which is kept
 * below the QUIC stream credit each endpoint grants: one `ErrorQUICStreamLimit` from the
 * library poisons the connection for good (later `newStream()` calls all fail).
 */
export class QuicConnectionAdapter implements Connection {
  onOpen: (() => void) | undefined;
  onStream: ((stream: Stream) => void) | undefined;
  onClose: ((error?: TransportError) => void) | undefined;
  state: ConnectionState;

  private lib: QUICConnection | undefined;
  private readonly streams = new Map<number, QuicStreamAdapter>();
  private nextStreamId = 0;
  /** Stops the library connection (or abandons the handshake); set by the transport. */
  private release: () => void = () => undefined;

  constructor(
    readonly remoteAddress: Address,
    private readonly limits: ConnectionLimits,
    private readonly ended: (connection: QuicConnectionAdapter) => void,
  ) {
    this.state = 'connecting';
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
    if (this.state === 'closed') {
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
    const wasConnecting = this.state === 'connecting';
    this.state = 'open';
    for (const stream of this.streams.values()) stream.bind(lib.newStream());
    if (wasConnecting) this.onOpen?.();
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
    this.finish(undefined);
  }

  /** The connection failed (handshake, idle timeout, peer close). Idempotent. */
  fail(error: TransportError): void {
    if (this.state === 'closed') return;
    this.finish(error);
  }

  private finish(error: TransportError | undefined): void {
    this.state = 'closed';
    const streamError = error ?? new ConnectionClosedError(`connection to ${this.remoteAddress} closed locally`);
    for (const stream of [...this.streams.values()]) stream.finish(streamError);
    this.release();
    this.ended(this);
    this.onClose?.(error);
  }

  private acceptStream(lib: QUICStream): void {
    if (this.state === 'closed' || this.streams.size >= this.limits.maxStreams) {
      lib.cancel(undefined);
      return;
    }
    const stream = this.newAdapter();
    this.onStream?.(stream);
    stream.bind(lib);
  }

  private newAdapter(): QuicStreamAdapter {
    const stream = new QuicStreamAdapter(this, this.nextStreamId++, this.limits.streamBufferBytesMax, (s) => this.streams.delete(s.id));
    this.streams.set(stream.id, stream);
    return stream;
  }
}
