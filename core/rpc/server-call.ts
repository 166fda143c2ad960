import type { Address } from '../address.ts';
import type { Clock, TimerHandle } from '../clock.ts';
import { DecodeError, assert } from '../errors.ts';
import { msgpackCodec } from './codec.ts';
import { ReceiveWindow, SendWindow, pumpMessages, toAsyncIterable, type MessageSink } from './flow.ts';
import {
  FrameFlag, FrameType, decodeCancel, decodeWindowUpdate, encodeTrailer, encodeWindowUpdate,
} from './frame.ts';
import { frameHeaderBytes, type RpcLimits } from './limits.ts';
import type { Metadata } from './metadata.ts';
import { MessageQueue } from './queue.ts';
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

/** A handler with its types erased; `RpcServer.register` checks them at compile time. */
export type ErasedHandler = (input: unknown, context: ServerCallContext) => unknown;

export interface ServerCallHost {
  readonly session: RpcSession;
  readonly peerLimits: RpcLimits;
  readonly localLimits: RpcLimits;
  readonly interceptors: readonly ServerInterceptor[];
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
export class ServerCall implements ServerCallContext {
  state: 'receiving' | 'running' | 'done' = 'receiving';
  readonly deadlineMs: number;
  readonly kind: CallKind;
  private readonly requests: MessageQueue<unknown> | undefined;
  private single: { value: unknown } | undefined;
  private halfClosed = false;
  private readonly receiveWindow: ReceiveWindow;
  private readonly sendWindow: SendWindow;
  private controller: AbortController | undefined;
  private deadlineTimer: TimerHandle | undefined;
  /** Request bytes this call holds that its handler has not taken yet (counted by the host's `hold`). */
  private heldBytes = 0;
  /** Rejects the interceptors' innermost `next()` when the call ends before its handler does. */
  private endedEarly: ((reason: RpcError) => void) | undefined;
  /** The interceptors and handler were started (the request arrived in full, or it is a client stream). */
  handlerStarted = false;

  constructor(
    private readonly clock: Clock,
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
    this.receiveWindow = new ReceiveWindow(host.localLimits.initialCallWindowBytes);
    this.sendWindow = new SendWindow(host.peerLimits.initialCallWindowBytes);
    this.deadlineMs = timeoutMs === 0 ? Infinity : clock.now() + timeoutMs;
    if (timeoutMs > 0) {
      this.deadlineTimer = clock.setTimer(timeoutMs, () => this.end(new RpcError('DEADLINE_EXCEEDED', `${method}: deadline of ${timeoutMs} ms exceeded on the server`)));
    }
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
        this.sendWindow.grant(decodeWindowUpdate(payload));
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
    // The trailer goes out before `finish`, which may close a draining connection.
    this.host.session.send(FrameType.TRAILER, flags, this.callId, encodeTrailer(status, error?.message ?? '', details));
    this.finish(error);
  }

  private onMessage(payload: Uint8Array): void {
    if (this.halfClosed) throw new DecodeError(`call ${this.callId}: MESSAGE after half-close`);
    const cost = payload.length + frameHeaderBytes;
    if (!this.receiveWindow.accept(cost)) throw new DecodeError(`call ${this.callId}: MESSAGE without flow-control credit`);
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
    if (this.single !== undefined) return this.end(new RpcError('INVALID_ARGUMENT', `${this.method} is ${this.kind} but the client sent more than one request`));
    this.single = { value };
  }

  private onHalfClose(): void {
    if (this.halfClosed) throw new DecodeError(`call ${this.callId}: half-closed twice`);
    this.halfClosed = true;
    if (this.state === 'done') return;
    if (this.requests !== undefined) return this.requests.end();
    if (this.single === undefined) return this.end(new RpcError('INVALID_ARGUMENT', `${this.method} is ${this.kind} but the client sent no request`));
    this.run(this.single.value);
  }

  private run(input: unknown): void {
    // The handler has the request now: it is the application's memory, no longer the connection's.
    this.releaseHeld(this.heldBytes);
    this.state = 'running';
    this.handlerStarted = true;
    const interceptors = this.host.interceptors;
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

  /** The handler's outcome, or the reason the call ended first (see `ServerInterceptor`). */
  private invokeUntilEnded(input: unknown): Promise<void> {
    const ended = new Promise<never>((_, reject) => (this.endedEarly = reject));
    return Promise.race([this.invoke(input), ended]);
  }

  private async invoke(input: unknown): Promise<void> {
    const output = this.handler(input, this);
    if (this.kind === 'unary' || this.kind === 'clientStream') {
      const response = await output;
      if (this.state === 'running') this.sendMessage(response);
      return;
    }
    await pumpMessages(toAsyncIterable(output, new RpcError('INTERNAL', `${this.method}: a streaming handler must return an (async) iterable`)), this.responseSink());
  }

  private responseSink(): MessageSink<unknown> {
    const isActive = () => this.state === 'running';
    return {
      get active() {
        return isActive();
      },
      window: this.sendWindow,
      send: (value) => this.sendMessage(value),
      end: () => undefined,
    };
  }

  private sendMessage(value: unknown): void {
    let payload: Uint8Array;
    try {
      payload = this.service.codec.encode(value);
    } catch (error) {
      throw new RpcError('INTERNAL', `cannot encode the response: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    }
    if (payload.length > this.host.peerLimits.maxFrameBytes) {
      throw new RpcError('RESOURCE_EXHAUSTED', `response of ${payload.length} bytes exceeds the client's limit of ${this.host.peerLimits.maxFrameBytes}`);
    }
    this.sendWindow.consume(payload.length + frameHeaderBytes);
    this.host.session.send(FrameType.MESSAGE, 0, this.callId, payload);
  }

  private consumed(cost: number): void {
    if (this.state === 'done') return;
    this.releaseHeld(cost);
    const increment = this.receiveWindow.consume(cost);
    if (increment > 0) this.host.session.send(FrameType.WINDOW_UPDATE, 0, this.callId, encodeWindowUpdate(increment));
  }

  private releaseHeld(bytes: number): void {
    if (bytes === 0) return;
    assert(bytes <= this.heldBytes, `call ${this.callId} releases ${bytes} bytes but holds ${this.heldBytes}`);
    this.heldBytes -= bytes;
    this.host.release(bytes);
  }

  private finish(error: RpcError | undefined): void {
    this.releaseHeld(this.heldBytes);
    this.state = 'done';
    if (this.deadlineTimer !== undefined) this.clock.cancelTimer(this.deadlineTimer);
    this.sendWindow.release();
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
