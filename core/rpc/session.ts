import type { Env } from '../env.ts';
import { ShoalError, type TransportError } from '../errors.ts';
import { TimerTable } from '../timers.ts';
import type { Connection, Stream } from '../transport.ts';
import { DecodeError } from '../errors.ts';
import { MethodIndex, compactHeaderBytesMax, compactHeadersBytes, compactVersion, writeCompactHeader, writeCompactHeaders } from './compact.ts';
import { FrameDecoder } from './decoder.ts';
import {
  FrameFlag, FrameType, checkPing, decodeGoaway, encodeGoaway, encodePreamble, pingPayloadBytes,
  type FrameTypeCode, type GoawayPayload, type Preamble,
} from './frame.ts';
import { readU32, writeU32 } from './bytes.ts';
import { frameHeaderBytes, protocolVersion, type RpcLimits } from './limits.ts';
import { RpcError, Status, type StatusName } from './status.ts';

/** What a session hands to the client or server logic above it. */
export interface SessionHandler {
  /** The peer's preamble arrived: its limits are known and calls may flow. */
  onReady(): void;
  /** A call-level frame (everything but PING and GOAWAY). Throw DecodeError for a protocol violation. */
  onFrame(type: number, flags: number, callId: number, payload: Uint8Array): void;
  onGoaway(goaway: GoawayPayload): void;
  /** The connection is gone; `error` is what its calls fail with. Called once. */
  onClosed(error: RpcError): void;
  /** The highest call id this side has seen or started (for GOAWAY on a protocol violation). */
  highestCallId(): number;
  /** After each read: bytes of a partly received frame the decoder now holds (for a buffer budget). */
  onBuffered?(bytes: number): void;
}

export interface SessionOptions {
  /** This side's limits, advertised in the preamble. */
  limits: RpcLimits;
  /**
   * Ping at most this often; the actual interval is also at most a third of either side's
   * idle timeout, so a healthy connection never idles out. 0: never ping (servers rely on
   * their clients' pings). @default 0
   */
  pingIntervalMs?: number;
  /**
   * Which end of the stream this is. A client writes its preamble at once, offering
   * `versionMax`; a server answers the client's preamble with its own, which names the
   * version the connection uses: the highest both speak. @default 'client'
   */
  role?: 'client' | 'server';
  /**
   * The highest protocol version this side speaks: 1 (fixed 10-byte frame headers), 2
   * (compact framing, fewer bytes per call; see compact.ts) or 3 (2 and REPEAT). A peer
   * that speaks only an earlier one gets that. @default 1
   */
  versionMax?: number;
}

export type SessionState = 'handshaking' | 'ready' | 'closed';

/** Application reset code for extra streams a peer opens (this protocol uses one per connection). */
export const extraStreamResetCode = 1;

type SessionTimer = 'ping' | 'idle';

/**
 * Frames up to this size are assembled in one shared scratch buffer: `Stream.write` copies
 * its bytes, so the buffer is free again when `write` returns, and the common small frame
 * costs no allocation. Larger frames get their own buffer.
 */
export const scratchFrameBytesMax = 16 * 1024;
const scratchFrame = new Uint8Array(scratchFrameBytesMax);
/**
 * Views of the scratch buffer's first N bytes, made once per length up to
 * `cachedViewBytesMax`: a small frame is written through one of these instead of a new
 * view per frame (the stream copies the bytes, so a view is free again after `write`).
 */
const cachedViewBytesMax = 512;
const scratchViews: (Uint8Array | undefined)[] = [];

/**
 * One RPC connection: a transport connection carrying ONE long-lived stream on which both
 * sides write a preamble and then frames. Owns the frame decoder, liveness (idle timeout,
 * ping with round-trip time) and protocol-violation handling; the calls live above it.
 */
export class RpcSession {
  state: SessionState = 'handshaking';
  peerLimits: RpcLimits | undefined;
  /** Latest ping round-trip time, in ms. */
  rttMs: number | undefined;
  framesIn = 0;
  framesOut = 0;
  /** The protocol version of the frames on this connection: 1 until the preambles agree on another. */
  version = protocolVersion;
  /** Versions 2 and 3: method names by index, and the previous HEADERS' method and timeout (both sides keep the same). */
  readonly methods = new MethodIndex();
  private preambleWritten = false;
  private stream: Stream | undefined;
  private readonly decoder: FrameDecoder;
  private readonly timers: TimerTable<SessionTimer>;
  /** When the last bytes arrived, on the Env clock: frames are handled as they arrive, so a frame's arrival time. */
  private lastHeardMs: number;
  private pingSeq = 0;
  private pingSentAtMs: number | undefined;

  constructor(
    private readonly env: Env,
    readonly connection: Connection,
    private readonly options: SessionOptions,
    private readonly handler: SessionHandler,
  ) {
    this.decoder = new FrameDecoder(options.limits.maxFrameBytes, {
      onPreamble: (preamble) => this.onPreamble(preamble),
      onFrame: (type, flags, callId, payload) => this.onFrame(type, flags, callId, payload),
    });
    this.timers = new TimerTable(env.clock, (key) => this.onTimer(key));
    this.lastHeardMs = env.clock.now();
    this.timers.setIn('idle', options.limits.idleTimeoutMs);
    connection.onClose = (error) => this.onConnectionClosed(error);
  }

  /** When the bytes being handled arrived (read once per arrival, not per frame). */
  get heardAtMs(): number {
    return this.lastHeardMs;
  }

  get remoteAddress(): string {
    return this.connection.remoteAddress;
  }

  /** Binds the session's one stream (opened by the client, accepted by the server) and sends the preamble. */
  attach(stream: Stream): void {
    this.stream = stream;
    stream.onData = (data) => this.onData(data);
    stream.onEnd = () => this.close('UNAVAILABLE', `${this.remoteAddress} ended the RPC stream`);
    stream.onClose = (error) => this.close('UNAVAILABLE', `RPC stream to ${this.remoteAddress} closed${error ? `: ${error.message}` : ''}`, error);
    // A server's preamble names the version, so it waits for the client's offer.
    if (this.options.role !== 'server') this.writePreamble(protocolVersion);
  }

  private writePreamble(version: number): void {
    const versionMax = this.options.versionMax ?? protocolVersion;
    this.preambleWritten = true;
    this.write(encodePreamble(this.options.limits, version, versionMax > protocolVersion ? versionMax : 0));
  }

  get attached(): boolean {
    return this.stream !== undefined;
  }

  /**
   * Writes one frame whose payload is `payload` followed by `tail` (version 2's HEADERS
   * carry the request after their own fields); false when the connection is gone (the
   * session is then closed).
   */
  send(type: FrameTypeCode, flags: number, callId: number, payload?: Uint8Array, tail?: Uint8Array): boolean {
    if (this.state === 'closed') return false;
    this.framesOut++;
    const payloadBytes = (payload?.length ?? 0) + (tail?.length ?? 0);
    const compact = this.version >= compactVersion;
    const buf = frameBuffer((compact ? compactHeaderBytesMax : frameHeaderBytes) + payloadBytes);
    let offset = compact ? writeCompactHeader(buf, type, flags, callId, payloadBytes) : writeFixedHeader(buf, type, flags, callId, payloadBytes);
    if (payload !== undefined) offset = copyInto(buf, offset, payload);
    if (tail !== undefined) offset = copyInto(buf, offset, tail);
    return this.write(frameView(buf, offset));
  }

  /**
   * Versions 2 and 3: a HEADERS frame whose fields (compact.ts) are written straight into
   * the frame, followed by `request` when it rides along (flag END).
   */
  sendCompactHeaders(flags: number, callId: number, reference: number, methodBytes: Uint8Array, timeoutMs: number, metadataBlock: Uint8Array | undefined, request: Uint8Array | undefined): boolean {
    if (this.state === 'closed') return false;
    this.framesOut++;
    const payloadBytes = compactHeadersBytes(flags, reference, methodBytes, timeoutMs, metadataBlock) + (request?.length ?? 0);
    const buf = frameBuffer(compactHeaderBytesMax + payloadBytes);
    let offset = writeCompactHeader(buf, FrameType.HEADERS, flags, callId, payloadBytes);
    offset = writeCompactHeaders(buf, offset, flags, reference, methodBytes, timeoutMs, metadataBlock);
    if (request !== undefined) offset = copyInto(buf, offset, request);
    return this.write(frameView(buf, offset));
  }

  /** Sends GOAWAY: the peer must start no call above `lastCallId` on this connection. */
  goaway(lastCallId: number, status: StatusName, message: string): void {
    this.send(FrameType.GOAWAY, 0, 0, encodeGoaway(lastCallId, Status[status], message));
  }

  /**
   * Closes the connection gracefully: what was written (GOAWAY, trailers, the preamble)
   * still reaches the peer (see `Connection.close`). Every call on it fails with `status`.
   * Idempotent.
   */
  close(status: StatusName, message: string, cause?: unknown): void {
    if (this.state === 'closed') return;
    this.finish(new RpcError(status, message, { cause }));
    this.connection.close();
  }

  /** Closes the connection on a peer given up on, dropping what was not yet sent; calls fail with UNAVAILABLE. */
  private abort(message: string, cause?: unknown): void {
    if (this.state === 'closed') return;
    this.finish(new RpcError('UNAVAILABLE', message, { cause }));
    this.connection.abort();
  }

  /** Closes after telling the peer why (GOAWAY with the status): used for protocol violations. */
  violation(lastCallId: number, message: string, cause?: unknown): void {
    if (this.state === 'closed') return;
    // A server that has not answered yet (a bad preamble) answers in version 1, so any peer can read why.
    if (!this.preambleWritten && this.attached) this.writePreamble(protocolVersion);
    this.goaway(lastCallId, 'INTERNAL', `protocol violation: ${message}`);
    this.close('UNAVAILABLE', `protocol violation on the connection with ${this.remoteAddress}: ${message}`, cause);
  }

  private write(bytes: Uint8Array): boolean {
    const stream = this.stream;
    if (stream === undefined) return false;
    try {
      stream.write(bytes);
      return true;
    } catch (error) {
      this.abort(`write to ${this.remoteAddress} failed: ${(error as Error).message}`, error);
      return false;
    }
  }

  private onData(data: Uint8Array): void {
    if (this.state === 'closed') return;
    this.lastHeardMs = this.env.clock.now();
    try {
      this.decoder.push(data);
      this.handler.onBuffered?.(this.decoder.buffered);
    } catch (error) {
      if (!(error instanceof ShoalError)) throw error;
      this.violation(this.handler.highestCallId(), error.message, error);
    }
  }

  /** The peer's preamble: its limits, and the version of the frames from here on (returned to the decoder). */
  private onPreamble(preamble: Preamble): number {
    const versionMax = this.options.versionMax ?? protocolVersion;
    if (this.options.role === 'server') {
      this.version = Math.min(preamble.versionMax, versionMax);
      this.writePreamble(this.version);
    } else if (preamble.version > versionMax) {
      throw new DecodeError(`preamble: the server chose version ${preamble.version}, above the ${versionMax} offered`);
    } else {
      this.version = preamble.version;
    }
    this.peerLimits = preamble.limits;
    this.state = 'ready';
    this.armPing();
    this.handler.onReady();
    return this.version;
  }

  private onFrame(type: number, flags: number, callId: number, payload: Uint8Array): void {
    if (this.state === 'closed') return;
    this.framesIn++;
    // Types are append-only: a newer peer's frame types are skipped, whatever their call id.
    if (type < FrameType.HEADERS || type > FrameType.GOAWAY) return;
    switch (type) {
      case FrameType.PING:
        checkPing(payload);
        if ((flags & FrameFlag.ACK) === 0) this.send(FrameType.PING, FrameFlag.ACK, 0, payload);
        else if (this.pingSentAtMs !== undefined && readU32(payload, 0) === this.pingSeq) {
          this.rttMs = this.env.clock.now() - this.pingSentAtMs;
          this.pingSentAtMs = undefined;
        }
        return;
      case FrameType.GOAWAY:
        this.handler.onGoaway(decodeGoaway(payload));
        return;
      default:
        this.handler.onFrame(type, flags, callId, payload);
    }
  }

  private pingIntervalMs(): number {
    const own = this.options.pingIntervalMs ?? 0;
    if (own <= 0 || this.peerLimits === undefined) return 0;
    return Math.min(own, this.peerLimits.idleTimeoutMs / 3, this.options.limits.idleTimeoutMs / 3);
  }

  private armPing(): void {
    const interval = this.pingIntervalMs();
    if (interval > 0) this.timers.setIn('ping', interval);
  }

  /** Sends a ping now (also used to measure RTT on demand). */
  ping(): void {
    if (this.state !== 'ready') return;
    this.pingSeq = (this.pingSeq + 1) >>> 0;
    this.pingSentAtMs = this.env.clock.now();
    const payload = new Uint8Array(pingPayloadBytes);
    writeU32(payload, 0, this.pingSeq);
    this.send(FrameType.PING, 0, 0, payload);
  }

  private onTimer(key: SessionTimer): void {
    if (this.state === 'closed') return;
    if (key === 'ping') {
      this.ping();
      this.armPing();
      return;
    }
    const idle = this.options.limits.idleTimeoutMs;
    // Re-arming on every frame would cost a timer operation per frame; checking here is enough.
    // Compare against the deadline itself, not `now − lastHeard < idle`: in floating point the
    // two can disagree, and a deadline re-armed at `now` would fire again at once, forever.
    const idleAtMs = this.lastHeardMs + idle;
    if (this.env.clock.now() < idleAtMs) this.timers.set('idle', idleAtMs);
    else this.abort(`nothing heard from ${this.remoteAddress} for ${idle} ms (idle timeout)`);
  }

  private onConnectionClosed(error: TransportError | undefined): void {
    this.close('UNAVAILABLE', `connection to ${this.remoteAddress} closed${error ? `: ${error.message}` : ''}`, error);
  }

  private finish(error: RpcError): void {
    this.state = 'closed';
    this.timers.clearAll();
    this.decoder.halt();
    this.handler.onClosed(error);
  }
}

/** The first `bytes` bytes of `buf`, the frame to write. */
function frameView(buf: Uint8Array, bytes: number): Uint8Array {
  if (buf !== scratchFrame || bytes > cachedViewBytesMax) return buf.subarray(0, bytes);
  return (scratchViews[bytes] ??= scratchFrame.subarray(0, bytes));
}

/** The shared scratch buffer when a frame of `bytesMax` fits it, else a buffer of its own. */
function frameBuffer(bytesMax: number): Uint8Array {
  return bytesMax <= scratchFrameBytesMax ? scratchFrame : new Uint8Array(bytesMax);
}

/** Copies `bytes` into `buf` at `offset`; returns the offset after them. */
function copyInto(buf: Uint8Array, offset: number, bytes: Uint8Array): number {
  buf.set(bytes, offset);
  return offset + bytes.length;
}

/** Writes a version 1 frame header (length, type, flags, call id: 10 bytes) at the start of `buf`; returns its length. */
function writeFixedHeader(buf: Uint8Array, type: number, flags: number, callId: number, payloadBytes: number): number {
  writeU32(buf, 0, payloadBytes);
  buf[4] = type;
  buf[5] = flags;
  writeU32(buf, 6, callId);
  return frameHeaderBytes;
}
