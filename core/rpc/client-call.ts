import type { Clock } from '../clock.ts';
import { DecodeError, InvalidArgumentError, ShoalError } from '../errors.ts';
import { msgpackCodec } from './codec.ts';
import { ReceiveWindow, SendWindow, pumpMessages, toAsyncIterable, type MessageSink } from './flow.ts';
import { compactHeadersBytes, compactVersion, repeatVersion } from './compact.ts';
import type { DeadlineEntry, DeadlineQueue } from './deadlines.ts';
import {
  FrameFlag, FrameType, decodeTrailer, decodeWindowUpdate, encodeCancel, encodeHeaders, encodeWindowUpdate, methodBytes,
} from './frame.ts';
import { frameHeaderBytes, u32Max, type RpcLimits } from './limits.ts';
import { emptyMetadataBlockBytes, encodeMetadata, type Metadata } from './metadata.ts';
import { MessageQueue, noMessage } from './queue.ts';
import type { AnyMethod, ServiceDefinition } from './service.ts';
import type { RpcSession } from './session.ts';
import { RpcError, Status, statusName, type StatusName } from './status.ts';

/** Per-call options every client method accepts. */
export interface CallOptions {
  /** Fail with DEADLINE_EXCEEDED after this many ms. @default the client's `defaultTimeoutMs` */
  timeoutMs?: number;
  /** Absolute deadline on the Env clock; the earlier of this and `timeoutMs` applies. */
  deadlineMs?: number;
  /** Aborting cancels the call (CANCELLED) on both sides. */
  signal?: AbortSignal;
  /** Sent with the call's HEADERS; the server's handlers and interceptors see it. */
  metadata?: Metadata;
}

/** A streaming response: iterate it; breaking out of the loop cancels the call. */
export interface ResponseStream<T> extends AsyncIterable<T> {
  /** Cancels the call (CANCELLED): the iterator then throws RpcError('CANCELLED'). */
  cancel(): void;
}

/** What the connection a call runs on offers it. */
export interface CallHost {
  readonly session: RpcSession;
  forget(call: ClientCall): void;
}

/**
 * One call as the client sees it, from `begin` (HEADERS written) to its trailer or its
 * cancellation. Single-response kinds settle a promise; streaming kinds feed a
 * MessageQueue that the caller iterates.
 */
export class ClientCall implements DeadlineEntry {
  id = 0;
  /** Absolute deadline on the Env clock; Infinity for none. */
  deadlineMs = Infinity;
  /** `deadlineMs − startedAtMs`, exact when set by the timeout (see `arm`). */
  private budgetMs = Infinity;
  deadlineSlot = -1;
  deadlineOrder = 0;
  state: 'pending' | 'open' | 'done' = 'pending';
  /** True once HEADERS were written: from then on the server may have run the handler. */
  headersSent = false;
  readonly startedAtMs: number;
  readonly responses: MessageQueue<unknown> | undefined;
  /** Credit for requests: streaming-request kinds only (a single request needs none). */
  private sendWindow: SendWindow | undefined;
  /** Credit given for responses: streaming-response kinds only (a second single response is an error anyway). */
  private receiveWindow: ReceiveWindow | undefined;
  private host: CallHost | undefined;
  /** The one message of a single-message direction, once it arrived (`noMessage` until then). */
  private single: unknown = noMessage;
  private halfClosed = false;
  /** The call may start later than it was made (it waits for a handshake or runs interceptors): its deadline field needs the clock then. */
  private mayWait = false;
  /** Listens to the caller's signal, when there is one. */
  private onAbort: (() => void) | undefined;
  private finishListeners: ((error: RpcError | undefined) => void)[] | undefined;
  private resolveResult: ((value: unknown) => void) | undefined;
  private rejectResult: ((error: RpcError) => void) | undefined;
  readonly result: Promise<unknown> | undefined;
  /** The metadata to send: a copy of the caller's, which interceptors may change; undefined for none. */
  metadata: Record<string, string> | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly deadlines: DeadlineQueue,
    readonly service: ServiceDefinition,
    /** `service/method` */
    readonly fullMethod: string,
    readonly method: AnyMethod,
    /** The request (single-request kinds) or the request iterable (streaming kinds). */
    private readonly input: unknown,
    readonly options: CallOptions,
    defaultTimeoutMs: number,
    private readonly localLimits: RpcLimits,
  ) {
    this.startedAtMs = clock.now();
    if (options.metadata !== undefined) this.metadata = { ...options.metadata };
    if (method.kind === 'serverStream' || method.kind === 'bidi') {
      this.responses = new MessageQueue((cost) => this.consumed(cost), () => this.cancel('CANCELLED', 'the caller stopped reading'));
    } else {
      this.result = new Promise(captureSettlers);
      this.resolveResult = capturedResolve;
      this.rejectResult = capturedReject;
      capturedResolve = capturedReject = undefined;
    }
    this.arm(defaultTimeoutMs);
  }

  /** Resolves on success, rejects with the call's RpcError; for interceptors. */
  completion(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.state === 'done') throw new InvalidArgumentError('completion() after the call ended');
      this.onFinish((error) => (error === undefined ? resolve() : reject(error)));
    });
  }

  onFinish(listener: (error: RpcError | undefined) => void): void {
    (this.finishListeners ??= []).push(listener);
  }

  /** The call will not begin in the turn it was made (see `timeoutField`). */
  waits(): void {
    this.mayWait = true;
  }

  /** Fails at once if the caller's signal is already aborted; true if it was. */
  failIfAborted(): boolean {
    if (this.options.signal?.aborted !== true) return false;
    this.fail(new RpcError('CANCELLED', 'the signal was aborted before the call started'), false);
    return true;
  }

  /** Cancels the call locally and tells the server. */
  cancel(code: StatusName, message: string): void {
    this.fail(new RpcError(code, message), true);
  }

  /** Writes HEADERS (and the request for single-request kinds) as call `id` on `host`. */
  begin(id: number, host: CallHost): void {
    if (this.state !== 'pending') return;
    this.id = id;
    this.host = host;
    this.state = 'open';
    const session = host.session;
    const peer = session.peerLimits!;
    if (this.method.kind === 'clientStream' || this.method.kind === 'bidi') this.sendWindow = new SendWindow(peer.initialCallWindowBytes);
    if (this.responses !== undefined) this.receiveWindow = new ReceiveWindow(this.localLimits.initialCallWindowBytes);
    let metadataBlock: Uint8Array;
    let request: Uint8Array | undefined;
    try {
      metadataBlock = encodeMetadata(this.metadata);
      if (metadataBlock.length > peer.maxMetadataBytes) {
        throw new RpcError('RESOURCE_EXHAUSTED', `metadata of ${metadataBlock.length} bytes exceeds the server's limit of ${peer.maxMetadataBytes}`);
      }
      if (this.method.kind === 'unary' || this.method.kind === 'serverStream') request = this.encode(this.input, peer);
    } catch (error) {
      return this.fail(asLocalError(error), false);
    }
    if (session.version >= compactVersion) {
      this.sendCompactHeaders(session, metadataBlock, request);
    } else {
      session.send(FrameType.HEADERS, 0, id, encodeHeaders(this.fullMethod, this.timeoutField(), metadataBlock));
      this.headersSent = true;
      if (this.state !== 'open') return;
      if (request !== undefined) session.send(FrameType.MESSAGE, FrameFlag.END, id, request);
    }
    if (request !== undefined) {
      this.halfClosed = true;
      return;
    }
    if (this.state !== 'open') return;
    const pump = async () => pumpMessages(toAsyncIterable(this.input, new RpcError('INVALID_ARGUMENT', 'a streaming call needs an (async) iterable of requests')), this.requestSink(peer));
    pump().catch((error: unknown) => {
      const rpcError = error instanceof RpcError ? error : new RpcError('CANCELLED', `the request stream failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
      this.fail(rpcError, true);
    });
  }

  /**
   * Versions 2 and 3: one HEADERS frame carries the method (by index after its first call),
   * the deadline, metadata if any, and the request if single; in version 3 a call to the
   * previous call's method with its timeout leaves both out (REPEAT).
   */
  private sendCompactHeaders(session: RpcSession, metadataBlock: Uint8Array, request: Uint8Array | undefined): void {
    const method = this.fullMethod;
    const methods = session.methods;
    const timeoutMs = this.timeoutField();
    const repeat = session.version >= repeatVersion && methods.repeats(method, timeoutMs);
    const reference = repeat ? 0 : methods.reference(method);
    const metadata = metadataBlock.length > emptyMetadataBlockBytes ? metadataBlock : undefined;
    const name = methodBytes(method);
    const fieldFlags = (repeat ? FrameFlag.REPEAT : 0) | (metadata === undefined ? 0 : FrameFlag.METADATA);
    // The request rides along unless the two together would pass the server's frame limit.
    const inline = request !== undefined && compactHeadersBytes(fieldFlags, reference, name, timeoutMs, metadata) + request.length <= session.peerLimits!.maxFrameBytes;
    const flags = (inline ? FrameFlag.END : 0) | fieldFlags;
    if (!repeat) methods.remember(method, timeoutMs);
    session.sendCompactHeaders(flags, this.id, reference, name, timeoutMs, metadata, inline ? request : undefined);
    this.headersSent = true;
    if (request !== undefined && !inline && this.state === 'open') session.send(FrameType.MESSAGE, FrameFlag.END, this.id, request);
  }

  /** A frame for this call arrived. Throws DecodeError for a protocol violation. */
  onFrame(type: number, flags: number, payload: Uint8Array): void {
    switch (type) {
      case FrameType.MESSAGE:
        this.onMessage(payload);
        // Versions 2 and 3: a server's MESSAGE|END is the last one and ends the call OK.
        if ((flags & FrameFlag.END) !== 0 && this.state === 'open' && this.host!.session.version >= compactVersion) this.succeed();
        return;
      case FrameType.TRAILER:
        return this.onTrailer(flags, payload);
      case FrameType.WINDOW_UPDATE:
        this.sendWindow?.grant(decodeWindowUpdate(payload));
        return;
      case FrameType.HEADERS:
      case FrameType.HALF_CLOSE:
      case FrameType.CANCEL:
        throw new DecodeError(`a server may not send frame type ${type} (call ${this.id})`);
      default:
        return;
    }
  }

  /** Ends the call with `error`; `sendCancel` tells the server to stop too. Idempotent. */
  fail(error: RpcError, sendCancel: boolean): void {
    if (this.state === 'done') return;
    const wasOpen = this.state === 'open';
    const final = this.headersSent || error.unprocessed ? error : error.asUnprocessed();
    this.finish(final);
    if (wasOpen && sendCancel && this.headersSent) {
      const code = final.code === 'DEADLINE_EXCEEDED' ? Status.DEADLINE_EXCEEDED : Status.CANCELLED;
      this.host!.session.send(FrameType.CANCEL, 0, this.id, encodeCancel(code));
    }
    if (this.responses !== undefined) this.responses.fail(final);
    else this.rejectResult!(final);
  }

  private onMessage(payload: Uint8Array): void {
    const cost = payload.length + frameHeaderBytes;
    if (this.receiveWindow !== undefined && !this.receiveWindow.accept(cost)) throw new DecodeError(`call ${this.id}: MESSAGE without flow-control credit`);
    let value: unknown;
    try {
      value = this.service.codec.decode(payload);
      if (this.method.response !== undefined) value = this.method.response.parse(value);
    } catch (error) {
      return this.cancel('INTERNAL', `undecodable or invalid response: ${(error as Error)?.message ?? String(error)}`);
    }
    if (this.responses !== undefined) return this.responses.push(value, cost);
    if (this.single !== noMessage) return this.cancel('INTERNAL', `${this.fullMethod} is ${this.method.kind} but the server sent more than one response`);
    this.single = value;
  }

  private onTrailer(flags: number, payload: Uint8Array): void {
    const trailer = decodeTrailer(payload);
    if (trailer.status !== Status.OK) {
      const details = decodeDetails(trailer.details);
      const unprocessed = (flags & FrameFlag.UNPROCESSED) !== 0;
      return this.fail(new RpcError(statusName(trailer.status), trailer.message, { details, unprocessed }), false);
    }
    this.succeed();
  }

  /** The call ended OK: hand over the one response, or end the response stream. */
  private succeed(): void {
    if (this.responses !== undefined) {
      this.finish(undefined);
      this.responses.end();
      return;
    }
    if (this.single === noMessage) return this.fail(new RpcError('INTERNAL', `${this.fullMethod}: the server ended the call without a response`), false);
    this.finish(undefined);
    this.resolveResult!(this.single);
  }

  private consumed(cost: number): void {
    if (this.state !== 'open') return;
    const increment = this.receiveWindow!.consume(cost);
    if (increment > 0) this.host!.session.send(FrameType.WINDOW_UPDATE, 0, this.id, encodeWindowUpdate(increment));
  }

  private requestSink(peer: RpcLimits): MessageSink<unknown> {
    const isActive = () => this.state === 'open' && !this.halfClosed;
    const window = this.sendWindow!;
    return {
      get active() {
        return isActive();
      },
      window,
      send: (value) => {
        const payload = this.encode(value, peer);
        window.consume(payload.length + frameHeaderBytes);
        this.host!.session.send(FrameType.MESSAGE, 0, this.id, payload);
      },
      end: () => {
        this.halfClosed = true;
        this.host!.session.send(FrameType.HALF_CLOSE, 0, this.id);
      },
    };
  }

  private encode(value: unknown, peer: RpcLimits): Uint8Array {
    let payload: Uint8Array;
    try {
      payload = this.service.codec.encode(value);
    } catch (error) {
      throw new RpcError('INVALID_ARGUMENT', `cannot encode the request: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    }
    if (payload.length > peer.maxFrameBytes) {
      throw new RpcError('RESOURCE_EXHAUSTED', `request of ${payload.length} bytes exceeds the server's limit of ${peer.maxFrameBytes}`);
    }
    return payload;
  }

  private arm(defaultTimeoutMs: number): void {
    const timeoutMs = this.options.timeoutMs ?? defaultTimeoutMs;
    const byTimeout = this.startedAtMs + timeoutMs;
    const deadline = Math.min(byTimeout, this.options.deadlineMs ?? Infinity);
    // The time left at the start, exact when the timeout decides (start + timeout − start
    // need not give the timeout back in floating point; version 3 repeats equal fields).
    this.budgetMs = deadline === byTimeout ? timeoutMs : deadline - this.startedAtMs;
    const signal = this.options.signal;
    if (signal !== undefined) {
      this.onAbort = () => this.cancel('CANCELLED', `${this.fullMethod}: cancelled by the caller's signal`);
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
    if (deadline !== Infinity) {
      this.deadlineMs = deadline;
      this.deadlines.add(this);
    }
  }

  /** The deadline passed (the queue calls this). */
  expire(): void {
    this.cancel('DEADLINE_EXCEEDED', `${this.fullMethod}: deadline of ${this.deadlineMs - this.startedAtMs} ms exceeded`);
  }

  /** The HEADERS timeout field: ms left, at least 1, 0 for no deadline. */
  private timeoutField(): number {
    if (this.deadlineMs === Infinity) return 0;
    // A call that begins as it is made saves a clock read: no time has passed since `startedAtMs`.
    const leftMs = this.mayWait ? this.deadlineMs - this.clock.now() : this.budgetMs;
    return Math.min(u32Max, Math.max(1, Math.ceil(leftMs)));
  }

  private finish(error: RpcError | undefined): void {
    this.state = 'done';
    this.deadlines.remove(this);
    if (this.onAbort !== undefined) this.options.signal?.removeEventListener('abort', this.onAbort);
    this.sendWindow?.release();
    this.host?.forget(this);
    const listeners = this.finishListeners;
    this.finishListeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener(error);
  }
}

/**
 * The executor of every call's promise: one shared function instead of a closure per call.
 * A promise runs its executor synchronously, so the constructor picks the two functions up
 * right after.
 */
let capturedResolve: ((value: unknown) => void) | undefined;
let capturedReject: ((error: RpcError) => void) | undefined;
function captureSettlers(resolve: (value: unknown) => void, reject: (error: RpcError) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

function asLocalError(error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  if (error instanceof ShoalError) return new RpcError('INVALID_ARGUMENT', error.message, { cause: error });
  return new RpcError('INTERNAL', (error as Error)?.message ?? String(error), { cause: error });
}

function decodeDetails(bytes: Uint8Array): unknown {
  if (bytes.length === 0) return undefined;
  try {
    return msgpackCodec.decode(bytes);
  } catch {
    return bytes;
  }
}
