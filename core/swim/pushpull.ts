import type { Address } from '../address.ts';
import { defaultInterner, type Interner } from '../intern.ts';
import { DecodeError, StreamResetError, TransportError } from '../errors.ts';
import type { Connection, Stream, StreamService } from '../transport.ts';
import { FrameReader, decodeState, encodeState, frameHeaderBytes, type KnownEntry, type OutgoingState, type StateMessage } from './state.ts';

/** Stream reset code sent when an exchange is refused or malformed. */
export const pushPullResetCode = 1;
/**
 * Stream reset code an acceptor sends when the initiator's state frame did not
 * authenticate, so a member with the wrong key learns why it cannot join (its own
 * readiness says so) instead of seeing only failed exchanges.
 */
export const pushPullUnauthenticatedResetCode = 2;

/**
 * Authenticates push-pull state frames. Membership accepts nothing it cannot verify: in
 * real mode this is the gossip keyring's AEAD (net-real/keyring.ts), so an exchange
 * proves the same key a gossip packet does, and a caller that can open a connection but
 * holds no key neither reads the member list nor changes it.
 */
export interface StateSeal {
  /** Bytes `seal` adds to a body. */
  readonly overheadBytes: number;
  seal(body: Uint8Array): Uint8Array;
  /** The body, or undefined when the frame does not authenticate (wrong key, replayed, stale). */
  open(sealed: Uint8Array): Uint8Array | undefined;
}

/** A state message as one push-pull frame (`length | body`), the body sealed when `seal` is given. */
export function encodeStateFrame(state: OutgoingState, bytesMax: number, seal: StateSeal | undefined): Uint8Array {
  return sealFrame(encodeState(state, bytesMax), seal);
}

/** A plain state frame (`encodeState`), sealed when a seal is configured. */
function sealFrame(plain: Uint8Array, seal: StateSeal | undefined): Uint8Array {
  if (seal === undefined) return plain;
  const sealed = seal.seal(plain.subarray(frameHeaderBytes));
  const out = new Uint8Array(frameHeaderBytes + sealed.length);
  new DataView(out.buffer).setUint32(0, sealed.length);
  out.set(sealed, frameHeaderBytes);
  return out;
}

/** Why an exchange's state frame was refused. */
export type PushPullRejection = 'unauthenticated' | 'malformed';

export interface PushPullHost {
  /** This node's state, to send. */
  localState(join: boolean): OutgoingState;
  /**
   * `localState(join)` already encoded as a plain frame (`encodeState`), when the host keeps
   * one up to date (`KeptStateFrame`); undefined: `localState` is asked and encoded. The
   * frame is copied before the next call.
   */
  localStateFrame?(join: boolean, bytesMax: number): Uint8Array | undefined;
  /**
   * Merges the state of the peer at `peer` (the address dialled, or the connection's remote
   * address); `ownJoin` is true when this node started the exchange to join.
   */
  merge(remote: StateMessage, peer: Address, ownJoin: boolean): void;
  /** An outbound exchange finished. */
  completed(to: Address, ok: boolean, join: boolean): void;
  /** The peer refused the state frame this node sent as unauthenticated (its key is not ours). */
  refusedByPeer(peer: Address): void;
  /** A peer's state frame was refused (the exchange is abandoned). */
  rejected(peer: Address, reason: PushPullRejection, error: DecodeError | undefined): void;
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
    private readonly seal: StateSeal | undefined = undefined,
    private readonly interner: Interner = defaultInterner,
    private readonly known: KnownEntry | undefined = undefined,
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
        const remote = this.readState(frames, data, stream, to, () => finish(false));
        if (remote === undefined) return;
        this.host.merge(remote, to, join);
        finish(true);
      };
      stream.onClose = (error) => {
        if (error instanceof StreamResetError && error.resetCode === pushPullUnauthenticatedResetCode) this.host.refusedByPeer(to);
        finish(false);
      };
      stream.write(this.frame(join));
      stream.end();
    } catch (error) {
      if (!(error instanceof TransportError)) throw error;
      finish(false);
    }
    return true;
  }

  /** Largest frame body on the wire: the state plus what sealing adds. */
  private get frameBytesMax(): number {
    return this.bytesMax + (this.seal?.overheadBytes ?? 0);
  }

  /** This node's state as one frame, sealed when a seal is configured (the transport copies what it sends). */
  private frame(join: boolean): Uint8Array {
    const plain = this.host.localStateFrame?.(join, this.bytesMax) ?? encodeState(this.host.localState(join), this.bytesMax);
    return sealFrame(plain, this.seal);
  }

  /**
   * The peer's state once its whole frame arrived and authenticated; a frame that does not
   * is reported to the host and `onInvalid` runs (the exchange is abandoned).
   */
  private readState(frames: FrameReader, data: Uint8Array, stream: Stream, peer: Address, onInvalid: (reason: PushPullRejection) => void): StateMessage | undefined {
    const frame = this.read(frames, data, stream, peer);
    if (frame === undefined) return undefined;
    const body = this.seal === undefined ? frame : this.seal.open(frame);
    if (body === undefined) {
      this.host.rejected(peer, 'unauthenticated', undefined);
      onInvalid('unauthenticated');
      return undefined;
    }
    try {
      return decodeState(body, this.interner, this.known);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      this.host.rejected(peer, 'malformed', error);
      onInvalid('malformed');
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
    let streamed = false;
    connection.onStream = (stream) => {
      // An exchange is one stream: more would each buffer up to a whole state frame.
      if (streamed) return stream.reset(pushPullResetCode);
      streamed = true;
      const frames = new FrameReader(this.frameBytesMax);
      const peer = connection.remoteAddress;
      stream.onData = (data) => {
        const remote = this.readState(frames, data, stream, peer,
          (reason) => stream.reset(reason === 'unauthenticated' ? pushPullUnauthenticatedResetCode : pushPullResetCode));
        if (remote === undefined) return;
        try {
          stream.write(this.frame(false));
          stream.end();
        } catch (error) {
          if (!(error instanceof TransportError)) throw error;
        }
        this.host.merge(remote, peer, false);
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
  private read(frames: FrameReader, data: Uint8Array, stream: Stream, peer: Address): Uint8Array | undefined {
    try {
      return frames.push(data);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      this.host.rejected(peer, 'malformed', error);
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
