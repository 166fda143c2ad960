import type { Address } from '../address.ts';
import { AssertionError, DecodeError } from '../errors.ts';
import { msgpackCodec } from './codec.ts';
import { ReceiveWindow, SendWindow, pumpMessages, toAsyncIterable, type MessageSink } from './flow.ts';
import {
  FrameFlag, FrameType, decodeCancel, decodeWindowUpdate, encodeTrailer, encodeWindowUpdate,
} from './frame.ts';
import { compactVersion } from './compact.ts';
import type { DeadlineEntry, DeadlineQueue } from './deadlines.ts';
import { frameHeaderBytes, type RpcLimits } from './limits.ts';
import type { Metadata } from './metadata.ts';
import { MessageQueue, noMessage } from './queue.ts';
import type { AnyMethod, CallKind, ServiceDefinition } from './service.ts';
import type { RpcSession } from './session.ts';
import { RpcError, Status, toRpcError } from './status.ts';

/** What a handler (and a server interceptor) knows about its call. */
export interface ServerCallContext {
  /** `service/method` */
  readonly method: string;
  readonly kind: CallKind;
  readonly peer: Address;
  readonly callId: number;
  readonly metadata: Metadata;
  /** Absolute deadline on the server's Env clock; Infinity when the caller set none. */
  readonly deadlineMs: number;
  /** Aborted (reason: an RpcError) when the caller cancels, the deadline passes or shutdown gives up. */
  readonly signal: AbortSignal;
}

/**
 * Runs code around a handler. `next()` settles when the handler is done (rejecting with its
 * RpcError) or, if sooner, when the call ends without it: cancelled by the client, past its
 * deadline, connection lost, server shut down (rejecting with that RpcError). So an
 * interceptor learns how every call it saw ended, even when the handler ignores its signal.
 */
export type ServerInterceptor = (call: ServerCallContext, next: () => Promise<void>) => Promise<void>;

interface Settle {
  resolve(): void;
  reject(error: RpcError): void;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** A handler with its types erased; `RpcServer.register` checks them at compile time. */
export type ErasedHandler = (input: unknown, context: ServerCallContext) => unknown;

export interface ServerCallHost {
  readonly session: RpcSession;
  readonly peerLimits: RpcLimits;
  readonly localLimits: RpcLimits;
  readonly interceptors: readonly ServerInterceptor[];
  /** The deadlines of the server's calls, behind one timer. */
  readonly deadlines: DeadlineQueue;
  /** The call ended; `error` is why (undefined: OK). */
  finished(call: ServerCall, error: RpcError | undefined): void;
  /** Takes `bytes` of request not yet handed to a handler; false when the connection or the server holds too much. */
  hold(bytes: number): boolean;
  /** Gives back bytes taken with `hold`. */
  release(bytes: number): void;
}

/**
 * One call as the server sees it: collects requests under flow control, runs the handler
 * through the interceptors, sends responses while the client grants credit, and ends with
 * exactly one TRAILER, unless the client cancelled (then nothing more is sent).
 */
export class ServerCall implements ServerCallContext, DeadlineEntry {
  state: 'receiving' | 'running' | 'done' = 'receiving';
  readonly deadlineMs: number;
  readonly kind: CallKind;
  private readonly startedAtMs: number;
  private readonly requests: MessageQueue<unknown> | undefined;
  /** The one message of a single-message direction, once it arrived (`noMessage` until then). */
  private single: unknown = noMessage;
  private halfClosed = false;
  /**
   * Credit for requests: streaming-request kinds only. A single request needs none: the
   * first message always has credit, and a second one ends the call.
   */
  private readonly receiveWindow: ReceiveWindow | undefined;
  /** Credit for responses: streaming-response kinds only (a single response is sent once, by `end`). */
  private readonly sendWindow: SendWindow | undefined;
  private controller: AbortController | undefined;
  deadlineSlot = -1;
  deadlineOrder = 0;
  /** Request bytes this call holds that its handler has not taken yet (counted by the host's `hold`). */
  private heldBytes = 0;
  /** The encoded response of a single-response call, sent by `end` with the call's outcome (version 2: as one MESSAGE|END). */
  private response: Uint8Array | undefined;
  /** Rejects the interceptors' innermost `next()` when the call ends before its handler does. */
  private endedEarly: ((reason: RpcError) => void) | undefined;
  /** The interceptors and handler were started (the request arrived in full, or it is a client stream). */
  handlerStarted = false;

  constructor(
    /** When the call's HEADERS arrived, on the Env clock (its deadline counts from then). */
    startedAtMs: number,
    private readonly host: ServerCallHost,
    readonly callId: number,
    readonly method: string,
    private readonly service: ServiceDefinition,
    private readonly descriptor: AnyMethod,
    private readonly handler: ErasedHandler,
    readonly metadata: Metadata,
    timeoutMs: number,
  ) {
    this.kind = descriptor.kind;
    if (this.kind === 'clientStream' || this.kind === 'bidi') this.receiveWindow = new ReceiveWindow(host.localLimits.initialCallWindowBytes);
    if (this.kind === 'serverStream' || this.kind === 'bidi') this.sendWindow = new SendWindow(host.peerLimits.initialCallWindowBytes);
    this.startedAtMs = startedAtMs;
    this.deadlineMs = timeoutMs === 0 ? Infinity : this.startedAtMs + timeoutMs;
    if (this.kind === 'clientStream' || this.kind === 'bidi') {
      this.requests = new MessageQueue((cost) => this.consumed(cost), () => undefined);
      this.run(this.requests);
    }
  }

  get peer(): Address {
    return this.host.session.remoteAddress;
  }

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  /**
   * Queues the deadline of a call still running once its arrival is handled (ServerConnection
   * calls this then): a call a synchronous handler already answered never enters the queue.
   * The deadline still counts from `startedAtMs`, and no timer could have fired in between.
   */
  armDeadline(): void {
    if (this.state !== 'done' && this.deadlineMs !== Infinity) this.host.deadlines.add(this);
  }

  /** The deadline passed (the queue calls this). */
  expire(): void {
    this.end(new RpcError('DEADLINE_EXCEEDED', `${this.method}: deadline of ${this.deadlineMs - this.startedAtMs} ms exceeded on the server`));
  }

  /** A frame for this call arrived. Throws DecodeError for a protocol violation. */
  onFrame(type: number, flags: number, payload: Uint8Array): void {
    switch (type) {
      case FrameType.MESSAGE:
        this.onMessage(payload);
        if ((flags & FrameFlag.END) !== 0) this.onHalfClose();
        return;
      case FrameType.HALF_CLOSE:
        return this.onHalfClose();
      case FrameType.CANCEL: {
        const status = decodeCancel(payload) === Status.DEADLINE_EXCEEDED ? 'DEADLINE_EXCEEDED' : 'CANCELLED';
        return this.abort(new RpcError(status, `${this.method}: cancelled by the client`));
      }
      case FrameType.WINDOW_UPDATE:
        this.sendWindow?.grant(decodeWindowUpdate(payload));
        return;
      case FrameType.HEADERS:
      case FrameType.TRAILER:
        throw new DecodeError(`frame type ${type} is not allowed on an open call (call ${this.callId})`);
      default:
        return;
    }
  }

  /** Ends the call without a trailer (the client cancelled or the connection is gone). */
  abort(reason: RpcError): void {
    if (this.state === 'done') return;
    this.finish(reason);
  }

  /** Ends the call with a trailer carrying `error` (or OK). */
  end(error: RpcError | undefined): void {
    if (this.state === 'done') return;
    const status = error === undefined ? Status.OK : error.status;
    const details = error?.details === undefined ? undefined : msgpackCodec.encode(error.details);
    const flags = error?.unprocessed === true ? FrameFlag.UNPROCESSED : 0;
    const session = this.host.session;
    // The response and the trailer go out before `finish`, which may close a draining connection.
    if (this.response !== undefined && error === undefined) {
      if (session.version >= compactVersion) {
        session.send(FrameType.MESSAGE, FrameFlag.END, this.callId, this.response);
        return this.finish(undefined);
      }
      session.send(FrameType.MESSAGE, 0, this.callId, this.response);
    }
    session.send(FrameType.TRAILER, flags, this.callId, encodeTrailer(status, error?.message ?? '', details));
    this.finish(error);
  }

  private onMessage(payload: Uint8Array): void {
    if (this.halfClosed) throw new DecodeError(`call ${this.callId}: MESSAGE after half-close`);
    const cost = payload.length + frameHeaderBytes;
    if (this.receiveWindow !== undefined && !this.receiveWindow.accept(cost)) throw new DecodeError(`call ${this.callId}: MESSAGE without flow-control credit`);
    if (this.state === 'done') return;
    if (!this.host.hold(cost)) {
      return this.end(new RpcError('RESOURCE_EXHAUSTED', `${this.method}: the server holds too many request bytes not yet taken by a handler`));
    }
    this.heldBytes += cost;
    let value: unknown;
    try {
      value = this.service.codec.decode(payload);
      if (this.descriptor.request !== undefined) value = this.descriptor.request.parse(value);
    } catch (error) {
      return this.end(new RpcError('INVALID_ARGUMENT', `undecodable or invalid request: ${(error as Error)?.message ?? String(error)}`));
    }
    if (this.requests !== undefined) return this.requests.push(value, cost);
    if (this.single !== noMessage) return this.end(new RpcError('INVALID_ARGUMENT', `${this.method} is ${this.kind} but the client sent more than one request`));
    this.single = value;
  }

  private onHalfClose(): void {
    if (this.halfClosed) throw new DecodeError(`call ${this.callId}: half-closed twice`);
    this.halfClosed = true;
    if (this.state === 'done') return;
    if (this.requests !== undefined) return this.requests.end();
    if (this.single === noMessage) return this.end(new RpcError('INVALID_ARGUMENT', `${this.method} is ${this.kind} but the client sent no request`));
    this.run(this.single);
  }

  private run(input: unknown): void {
    // The handler has the request now: it is the application's memory, no longer the connection's.
    this.releaseHeld(this.heldBytes);
    this.state = 'running';
    this.handlerStarted = true;
    const interceptors = this.host.interceptors;
    // Without interceptors nobody waits on the handler's outcome but `end`: no promise chain.
    if (interceptors.length === 0) return this.invoke(input, undefined);
    const chain = (index: number): Promise<void> =>
      index === interceptors.length ? this.invokeUntilEnded(input) : interceptors[index]!(this, () => chain(index + 1));
    // An interceptor may throw synchronously; that must fail this call, never the connection.
    let outcome: Promise<void>;
    try {
      outcome = chain(0);
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome.then(() => this.end(undefined), (error: unknown) => this.end(toRpcError(error)));
  }

  /** The handler's outcome, or the reason the call ended first, whichever comes first (see `ServerInterceptor`). */
  private invokeUntilEnded(input: unknown): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.endedEarly = reject;
      this.invoke(input, { resolve, reject });
    });
  }

  /** Runs the handler; its outcome goes to `settle` (the interceptors' innermost `next()`), or straight to `end`. */
  private invoke(input: unknown, settle: Settle | undefined): void {
    try {
      const output = this.handler(input, this);
      if (this.kind === 'serverStream' || this.kind === 'bidi') {
        const responses = toAsyncIterable(output, new RpcError('INTERNAL', `${this.method}: a streaming handler must return an (async) iterable`));
        pumpMessages(responses, this.responseSink()).then(() => this.done(undefined, settle), (error: unknown) => this.done(toRpcError(error), settle));
      } else if (isThenable(output)) {
        output.then((response) => this.respond(response, settle), (error: unknown) => this.done(toRpcError(error), settle));
      } else {
        this.respond(output, settle);
      }
    } catch (error) {
      this.done(toRpcError(error), settle);
    }
  }

  /** A single-response handler answered: the response waits for `end`, which sends it with the outcome. */
  private respond(response: unknown, settle: Settle | undefined): void {
    if (this.state === 'running') {
      try {
        this.response = this.encodeResponse(response);
      } catch (error) {
        return this.done(toRpcError(error), settle);
      }
    }
    this.done(undefined, settle);
  }

  private done(error: RpcError | undefined, settle: Settle | undefined): void {
    if (settle === undefined) this.end(error);
    else if (error === undefined) settle.resolve();
    else settle.reject(error);
  }

  private responseSink(): MessageSink<unknown> {
    const isActive = () => this.state === 'running';
    return {
      get active() {
        return isActive();
      },
      window: this.sendWindow!,
      send: (value) => this.sendMessage(value),
      end: () => undefined,
    };
  }

  private sendMessage(value: unknown): void {
    const payload = this.encodeResponse(value);
    this.sendWindow!.consume(payload.length + frameHeaderBytes);
    this.host.session.send(FrameType.MESSAGE, 0, this.callId, payload);
  }

  private encodeResponse(value: unknown): Uint8Array {
    let payload: Uint8Array;
    try {
      payload = this.service.codec.encode(value);
    } catch (error) {
      throw new RpcError('INTERNAL', `cannot encode the response: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    }
    if (payload.length > this.host.peerLimits.maxFrameBytes) {
      throw new RpcError('RESOURCE_EXHAUSTED', `response of ${payload.length} bytes exceeds the client's limit of ${this.host.peerLimits.maxFrameBytes}`);
    }
    return payload;
  }

  private consumed(cost: number): void {
    if (this.state === 'done') return;
    this.releaseHeld(cost);
    const increment = this.receiveWindow!.consume(cost);
    if (increment > 0) this.host.session.send(FrameType.WINDOW_UPDATE, 0, this.callId, encodeWindowUpdate(increment));
  }

  private releaseHeld(bytes: number): void {
    if (bytes === 0) return;
    // The message is built only when the check fails: this runs for every call.
    if (bytes > this.heldBytes) throw new AssertionError(`call ${this.callId} releases ${bytes} bytes but holds ${this.heldBytes}`);
    this.heldBytes -= bytes;
    this.host.release(bytes);
  }

  private finish(error: RpcError | undefined): void {
    this.releaseHeld(this.heldBytes);
    this.state = 'done';
    this.host.deadlines.remove(this);
    this.sendWindow?.release();
    if (error !== undefined) {
      this.requests?.fail(error);
      this.controller?.abort(error);
      this.endedEarly?.(error);
    } else {
      this.requests?.end();
    }
    this.endedEarly = undefined;
    this.host.finished(this, error);
  }
}
