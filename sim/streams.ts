import {
  ConnectionClosedError, LimitExceededError, StreamClosedError, StreamLimitError, StreamResetError,
  type Address, type Connection, type ConnectionState, type Stream, type TransportError,
} from '../core/index.ts';

/**
 * Simulated connections and streams. They behave like QUIC's: reliable and ordered while
 * the path is healthy (bytes wait, as if retransmitted, while it is cut), and a cut path or
 * dead peer surfaces as a connection error after the idle timeout. The simulator moves the
 * segments; this file holds the per-end state machines.
 */

/**
 * An error reporting a simulated network event (a close, a reset, a refusal, a timeout)
 * to a callback, made without a stack: it would show only the simulator's event loop, and
 * capturing it cost more than the rest of closing a connection (every push-pull ends so).
 */
export function networkEventError<T extends Error>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Segment types on a simulated connection. */
export const Seg = {
  Connect: 0, Accept: 1, Refuse: 2, StreamOpen: 3, Data: 4, End: 5, Reset: 6, Close: 7, Fail: 8,
} as const;
export type SegType = (typeof Seg)[keyof typeof Seg];
export const segLabels = ['stream:connect', 'stream:accept', 'stream:refuse', 'stream:open', 'stream:data', 'stream:end', 'stream:reset', 'stream:close', 'stream:fail'] as const;

export interface Segment {
  readonly type: SegType;
  readonly streamId: number;
  readonly data: Uint8Array | null;
  readonly code: number;
  /** For `Fail`: the error the receiving end closes with (delivered locally, never sent). */
  readonly error: TransportError | null;
}

export function segment(type: SegType, streamId = -1, data: Uint8Array | null = null, code = 0, error: TransportError | null = null): Segment {
  return { type, streamId, data, code, error };
}

/** What the ends need from the simulator. */
export interface StreamFabric {
  send(end: ConnectionEnd, seg: Segment): void;
  ended(end: ConnectionEnd): void;
  readonly maxStreams: number;
}

export class ConnectionEnd implements Connection {
  state: ConnectionState;
  onOpen: (() => void) | undefined;
  onStream: ((stream: Stream) => void) | undefined;
  onClose: ((error?: TransportError) => void) | undefined;
  readonly streams = new Map<number, SimStream>();
  private nextStreamId: number;

  constructor(
    private readonly fabric: StreamFabric,
    /** 0 for the end that connected, 1 for the end that accepted. */
    readonly side: 0 | 1,
    readonly remoteAddress: Address,
    /** Opaque link to the simulator's shared connection record. */
    readonly link: unknown,
  ) {
    this.state = side === 0 ? 'connecting' : 'open';
    this.nextStreamId = side;
  }

  get maxStreams(): number {
    return this.fabric.maxStreams;
  }

  get openStreamCount(): number {
    return this.streams.size;
  }

  openStream(): Stream {
    if (this.state === 'closed') throw new ConnectionClosedError(`connection to ${this.remoteAddress} is closed`);
    if (this.streams.size >= this.fabric.maxStreams) {
      throw new StreamLimitError(`connection to ${this.remoteAddress} already has ${this.streams.size} streams (peer allows ${this.fabric.maxStreams})`);
    }
    const stream = new SimStream(this, this.nextStreamId);
    this.nextStreamId += 2;
    this.streams.set(stream.id, stream);
    this.fabric.send(this, segment(Seg.StreamOpen, stream.id));
    return stream;
  }

  /**
   * Every write was handed to the network when it was made, and the Close segment follows
   * it on the same ordered path: the peer reads all of it first unless the path or a crash
   * drops it (a backlog behind a cut path is kept until the idle timeout, like QUIC's
   * retransmissions).
   */
  close(): void {
    if (this.state === 'closed') return;
    this.fabric.send(this, segment(Seg.Close));
    this.finish(undefined);
  }

  /** As `close()`: bytes already handed to the network are like packets already sent, so there is nothing unsent to drop. */
  abort(): void {
    this.close();
  }

  /** @internal */
  sendSegment(seg: Segment): void {
    this.fabric.send(this, seg);
  }

  /** @internal Streams leave the table once closed. */
  forget(stream: SimStream): void {
    this.streams.delete(stream.id);
  }

  /** A segment from the peer (or a local failure) arrives. */
  receive(seg: Segment): void {
    if (this.state === 'closed') return;
    switch (seg.type) {
      case Seg.Accept:
        if (this.state === 'connecting') {
          this.state = 'open';
          this.onOpen?.();
        }
        return;
      case Seg.StreamOpen: {
        if (this.streams.size >= this.fabric.maxStreams) {
          this.fabric.send(this, segment(Seg.Reset, seg.streamId, null, 0));
          return;
        }
        const stream = new SimStream(this, seg.streamId);
        this.streams.set(stream.id, stream);
        this.onStream?.(stream);
        return;
      }
      case Seg.Data:
        this.streams.get(seg.streamId)?.receiveData(seg.data!);
        return;
      case Seg.End:
        this.streams.get(seg.streamId)?.receiveEnd();
        return;
      case Seg.Reset:
        this.streams.get(seg.streamId)?.finish(networkEventError(() => new StreamResetError(seg.code)));
        return;
      case Seg.Close:
        this.finish(networkEventError(() => new ConnectionClosedError(`connection closed by ${this.remoteAddress}`)));
        return;
      case Seg.Refuse:
      case Seg.Fail:
        this.finish(seg.error ?? networkEventError(() => new ConnectionClosedError(`connection to ${this.remoteAddress} failed`)));
        return;
      default:
        return;
    }
  }

  /** Closes this end and every stream on it; `error` undefined means a local close. */
  finish(error: TransportError | undefined): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.streams.size > 0) {
      // An error captures a stack: made only when a stream is left to tell.
      const streamError = error ?? networkEventError(() => new ConnectionClosedError('connection closed locally'));
      for (const stream of [...this.streams.values()]) stream.finish(streamError);
    }
    this.fabric.ended(this);
    this.onClose?.(error);
  }
}

export class SimStream implements Stream {
  onData: ((data: Uint8Array) => void) | undefined;
  onEnd: (() => void) | undefined;
  onClose: ((error?: TransportError) => void) | undefined;
  private localEnded = false;
  private remoteEnded = false;
  private closed = false;

  constructor(readonly connection: ConnectionEnd, readonly id: number) {}

  get writeClosed(): boolean {
    return this.localEnded || this.closed;
  }

  write(data: Uint8Array): void {
    if (this.writeClosed) throw new StreamClosedError(`stream ${this.id} is closed for writing`);
    if (data.length === 0) return;
    this.connection.sendSegment(segment(Seg.Data, this.id, data.slice()));
  }

  end(): void {
    if (this.writeClosed) return;
    this.localEnded = true;
    this.connection.sendSegment(segment(Seg.End, this.id));
    this.finishIfDone();
  }

  reset(code: number): void {
    if (this.closed) return;
    this.connection.sendSegment(segment(Seg.Reset, this.id, null, code));
    this.finish(undefined);
  }

  /** @internal */
  receiveData(data: Uint8Array): void {
    if (!this.remoteEnded) this.onData?.(data);
  }

  /** @internal */
  receiveEnd(): void {
    if (this.remoteEnded) return;
    this.remoteEnded = true;
    this.onEnd?.();
    this.finishIfDone();
  }

  /** @internal */
  finish(error: TransportError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.forget(this);
    this.onClose?.(error);
  }

  private finishIfDone(): void {
    if (this.localEnded && this.remoteEnded) this.finish(undefined);
  }
}

/** Bytes a connection may have queued behind a cut path before writes are refused. */
export function checkBacklog(queuedBytes: number, maxBytes: number, remote: Address): void {
  if (queuedBytes > maxBytes) {
    throw new LimitExceededError('connectionBufferBytesMax', maxBytes, `connection to ${remote} has more than ${maxBytes} bytes queued behind a cut path`);
  }
}
