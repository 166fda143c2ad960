import type { Address } from '../address.ts';
import { DecodeError, TransportError } from '../errors.ts';
import type { Connection, Stream, StreamService } from '../transport.ts';
import { FrameReader, decodeState, encodeState, type StateMessage } from './state.ts';

/** Stream reset code sent when an exchange is refused or malformed. */
export const pushPullResetCode = 1;

export interface PushPullHost {
  /** This node's state, to send. */
  localState(join: boolean): StateMessage;
  /** Merges the state of the peer at `peer` (the address dialled, or the connection's remote address). */
  merge(remote: StateMessage, peer: Address): void;
  /** An outbound exchange finished. */
  completed(to: Address, ok: boolean, join: boolean): void;
}

interface Exchange {
  readonly connection: Connection;
  readonly deadlineMs: number;
  done: boolean;
}

/**
 * Push-pull anti-entropy over reliable streams: the initiator writes its state frame and
 * reads the peer's; the acceptor reads, replies with its own, and both merge. The number
 * of exchanges at once, the frame size and the time each may take are bounded.
 */
export class PushPull {
  private readonly exchanges = new Set<Exchange>();

  constructor(
    private readonly streams: StreamService,
    private readonly host: PushPullHost,
    private readonly concurrentMax: number,
    private readonly bytesMax: number,
    private readonly timeoutMs: number,
  ) {}

  get inFlight(): number {
    return this.exchanges.size;
  }

  /** The earliest exchange deadline, or Infinity. */
  nextDeadlineMs(): number {
    let min = Infinity;
    for (const e of this.exchanges) if (e.deadlineMs < min) min = e.deadlineMs;
    return min;
  }

  /** Abandons exchanges past their deadline. */
  expire(nowMs: number): void {
    for (const e of [...this.exchanges]) if (e.deadlineMs <= nowMs) this.finish(e);
  }

  /** Starts an exchange with `to`; false when the concurrency bound is reached. */
  start(to: Address, nowMs: number, join: boolean): boolean {
    if (this.exchanges.size >= this.concurrentMax) return false;
    const connection = this.streams.connect(to);
    const exchange: Exchange = { connection, deadlineMs: nowMs + this.timeoutMs, done: false };
    this.exchanges.add(exchange);
    const finish = (ok: boolean) => {
      if (this.finish(exchange)) this.host.completed(to, ok, join);
    };
    connection.onClose = () => finish(false);
    try {
      const stream = connection.openStream();
      const frames = new FrameReader(this.bytesMax);
      stream.onData = (data) => {
        const remote = this.readState(frames, data, stream, () => finish(false));
        if (remote === undefined) return;
        this.host.merge(remote, to);
        finish(true);
      };
      stream.onClose = () => finish(false);
      stream.write(encodeState(this.host.localState(join), this.bytesMax));
      stream.end();
    } catch (error) {
      if (!(error instanceof TransportError)) throw error;
      finish(false);
    }
    return true;
  }

  /** The peer's state once its whole frame arrived; `onInvalid` runs when it does not decode. */
  private readState(frames: FrameReader, data: Uint8Array, stream: Stream, onInvalid: () => void): StateMessage | undefined {
    const body = this.read(frames, data, stream);
    if (body === undefined) return undefined;
    try {
      return decodeState(body);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      onInvalid();
      return undefined;
    }
  }

  /** Serves exchanges peers start. */
  accept(connection: Connection, nowMs: number): void {
    if (this.exchanges.size >= this.concurrentMax) {
      connection.close();
      return;
    }
    const exchange: Exchange = { connection, deadlineMs: nowMs + this.timeoutMs, done: false };
    this.exchanges.add(exchange);
    connection.onClose = () => this.finish(exchange);
    connection.onStream = (stream) => {
      const frames = new FrameReader(this.bytesMax);
      stream.onData = (data) => {
        const remote = this.readState(frames, data, stream, () => stream.reset(pushPullResetCode));
        if (remote === undefined) return;
        try {
          stream.write(encodeState(this.host.localState(false), this.bytesMax));
          stream.end();
        } catch (error) {
          if (!(error instanceof TransportError)) throw error;
        }
        this.host.merge(remote, connection.remoteAddress);
      };
      // The initiator closes the connection once it has read the reply.
      stream.onClose = () => undefined;
    };
  }

  /** Closes every exchange (shutdown). */
  closeAll(): void {
    for (const e of [...this.exchanges]) this.finish(e);
  }

  /** Feeds bytes to a frame reader; a malformed frame resets the stream. */
  private read(frames: FrameReader, data: Uint8Array, stream: Stream): Uint8Array | undefined {
    try {
      return frames.push(data);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      stream.reset(pushPullResetCode);
      return undefined;
    }
  }

  private finish(exchange: Exchange): boolean {
    if (exchange.done) return false;
    exchange.done = true;
    this.exchanges.delete(exchange);
    exchange.connection.onClose = undefined;
    if (exchange.connection.state !== 'closed') exchange.connection.close();
    return true;
  }
}
