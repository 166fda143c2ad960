import type { Address } from '../address.ts';
import type { Env } from '../env.ts';
import { DecodeError, InvalidArgumentError } from '../errors.ts';
import type { Connection } from '../transport.ts';
import { compactVersion, decodeCompactHeaders } from './compact.ts';
import { DeadlineQueue } from './deadlines.ts';
import { FrameFlag, FrameType, decodeHeaders, encodeTrailer, type HeadersPayload } from './frame.ts';
import { BufferBudget, ConnectionBuffer, type BufferLimits } from './buffer-budget.ts';
import { protocolVersionMax, resolveLimits, type RpcLimits } from './limits.ts';
import type { AnyMethod, CallKind, MethodTable, RequestOf, ResponseOf, ServiceDefinition } from './service.ts';
import { ServerCall, type ErasedHandler, type ServerCallContext, type ServerCallHost, type ServerInterceptor } from './server-call.ts';
import { RpcSession, extraStreamResetCode, type SessionHandler } from './session.ts';
import { RpcError, type StatusName } from './status.ts';

/** The handler type derived from a method descriptor. */
export type ServerHandler<D extends AnyMethod> =
  D['kind'] extends 'unary' ? (request: RequestOf<D>, context: ServerCallContext) => Promise<ResponseOf<D>> | ResponseOf<D>
    : D['kind'] extends 'serverStream' ? (request: RequestOf<D>, context: ServerCallContext) => AsyncIterable<ResponseOf<D>> | Iterable<ResponseOf<D>>
      : D['kind'] extends 'clientStream' ? (requests: AsyncIterable<RequestOf<D>>, context: ServerCallContext) => Promise<ResponseOf<D>> | ResponseOf<D>
        : (requests: AsyncIterable<RequestOf<D>>, context: ServerCallContext) => AsyncIterable<ResponseOf<D>> | Iterable<ResponseOf<D>>;

export type ServiceImplementation<M extends MethodTable> = { readonly [K in keyof M]: ServerHandler<M[K]> };

/** A call that ended without reaching the interceptors (see `RpcServerOptions.onUnserved`). */
export interface UnservedCall {
  /** `service/method`, or undefined when no such method is registered (the caller picks that name, so it is not passed on). */
  readonly method: string | undefined;
  readonly code: StatusName;
  readonly peer: Address;
  /**
   * True: refused on arrival, before any handler could run (server draining, over
   * `maxConcurrentCalls`, unknown method); the client may retry it. False: accepted, then
   * ended while its request was still arriving (cancelled, deadline, connection lost, bad request).
   */
  readonly refused: boolean;
}

export interface RpcServerOptions {
  /** What this server accepts per connection (concurrent calls, message and metadata size, window, idle timeout). */
  limits?: Partial<RpcLimits>;
  interceptors?: readonly ServerInterceptor[];
  /**
   * Told about every call the interceptors never see. With the interceptors, every call that
   * reached the server is reported exactly once, so figures built on both count refusals
   * during a flood. Runs inside frame handling: it must be quick and must not throw.
   */
  onUnserved?: (call: UnservedCall) => void;
  /** Request bytes held before a handler takes them, per connection and in total (see `BufferLimits`). @default unbounded */
  buffers?: Partial<BufferLimits>;
  /** Told of each refusal for holding too many request bytes (a refusal counter). Must be quick and must not throw. */
  onBufferRefused?: () => void;
  /** The highest protocol version served; clients that speak only an earlier one get that. @default 3 */
  protocolVersionMax?: number;
}

export interface ShutdownOptions {
  /** In-flight calls get this long to finish; then they end with UNAVAILABLE and connections close. @default 5_000 */
  deadlineMs?: number;
}

interface Route {
  readonly service: ServiceDefinition;
  readonly method: AnyMethod;
  readonly handler: ErasedHandler;
}

/**
 * Serves registered services on every RPC connection it accepts. Limits are per
 * connection; interceptors wrap every handler; `shutdown` stops new calls (GOAWAY) and
 * drains in-flight ones within a deadline.
 */
export class RpcServer {
  private readonly routes = new Map<string, Route>();
  private readonly connections = new Set<ServerConnection>();
  readonly limits: RpcLimits;
  readonly interceptors: readonly ServerInterceptor[];
  /** @internal */
  readonly protocolVersionMax: number;
  private draining = false;
  private drained: (() => void) | undefined;
  private readonly onUnserved: ((call: UnservedCall) => void) | undefined;
  /** @internal */
  readonly buffers: BufferBudget;
  /** @internal The deadlines of every call on every connection, behind one timer. */
  readonly deadlines: DeadlineQueue;

  constructor(private readonly env: Env, options: RpcServerOptions = {}) {
    this.limits = resolveLimits(options.limits);
    this.interceptors = options.interceptors ?? [];
    this.protocolVersionMax = options.protocolVersionMax ?? protocolVersionMax;
    this.onUnserved = options.onUnserved;
    this.deadlines = new DeadlineQueue(env.clock);
    this.buffers = new BufferBudget({ maxBufferedBytesPerConnection: Infinity, maxBufferedBytes: Infinity, ...options.buffers }, this.limits.maxFrameBytes, options.onBufferRefused);
  }

  /** Request bytes held now over all connections that no handler has taken yet. */
  get bufferedBytes(): number {
    return this.buffers.total;
  }

  register<M extends MethodTable>(definition: ServiceDefinition<M>, implementation: ServiceImplementation<M>): this {
    for (const [name, method] of Object.entries(definition.methods)) {
      const key = `${definition.name}/${name}`;
      if (this.routes.has(key)) throw new InvalidArgumentError(`${key} is already registered`);
      const handler = (implementation as Record<string, unknown>)[name];
      if (typeof handler !== 'function') throw new InvalidArgumentError(`${key} has no handler`);
      this.routes.set(key, { service: definition, method, handler: handler.bind(implementation) as ErasedHandler });
    }
    return this;
  }

  /** Every registered method as `service/method` with its call kind, in registration order (what reflection answers). */
  registeredMethods(): { service: string; method: string; kind: CallKind }[] {
    return [...this.routes].map(([key, route]) => ({ service: route.service.name, method: key.slice(route.service.name.length + 1), kind: route.method.kind }));
  }

  /** Accepts every incoming connection of the environment's transport. */
  listen(): this {
    this.env.transport.streams.onConnection = (connection) => this.accept(connection);
    return this;
  }

  /** Serves one connection (for hosts that route incoming connections themselves). */
  accept(connection: Connection): void {
    if (this.draining) return connection.close();
    this.connections.add(new ServerConnection(this.env, connection, this));
  }

  /** Calls running now, over all connections. */
  get activeCalls(): number {
    let total = 0;
    for (const connection of this.connections) total += connection.calls.size;
    return total;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Graceful shutdown: no new connections or calls (GOAWAY tells clients which calls were
   * taken), in-flight calls run until they finish or the deadline passes, then every
   * connection closes. Resolves when all are closed.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    this.draining = true;
    if (this.env.transport.streams.onConnection !== undefined) this.env.transport.streams.onConnection = undefined;
    for (const connection of this.connections) connection.goaway();
    return new Promise((resolve) => {
      if (this.connections.size === 0) return resolve();
      const timer = this.env.clock.setTimer(options.deadlineMs ?? 5_000, () => {
        for (const connection of [...this.connections]) connection.forceClose();
      });
      this.drained = () => {
        this.env.clock.cancelTimer(timer);
        resolve();
      };
    });
  }

  /** @internal */
  route(method: string): Route | undefined {
    return this.routes.get(method);
  }

  /** @internal */
  get isDraining(): boolean {
    return this.draining;
  }

  /** @internal */
  unserved(call: UnservedCall): void {
    this.onUnserved?.(call);
  }

  /** @internal */
  connectionGone(connection: ServerConnection): void {
    this.connections.delete(connection);
    if (this.draining && this.connections.size === 0) this.drained?.();
  }
}

/** One accepted connection: its session, its calls, and the server-side rules for HEADERS. */
class ServerConnection implements SessionHandler, ServerCallHost {
  readonly session: RpcSession;
  readonly calls = new Map<number, ServerCall>();
  private highestSeen = 0;

  private readonly buffer: ConnectionBuffer;
  /** Bytes of the frame being received, held in the session's decoder. */
  private partialFrameBytes = 0;

  constructor(private readonly env: Env, connection: Connection, private readonly server: RpcServer) {
    this.buffer = new ConnectionBuffer(server.buffers);
    this.session = new RpcSession(env, connection, { limits: server.limits, role: 'server', versionMax: server.protocolVersionMax }, this);
    connection.onStream = (stream) => {
      if (this.session.attached) stream.reset(extraStreamResetCode);
      else this.session.attach(stream);
    };
  }

  get peerLimits(): RpcLimits {
    return this.session.peerLimits!;
  }

  get localLimits(): RpcLimits {
    return this.server.limits;
  }

  get interceptors(): readonly ServerInterceptor[] {
    return this.server.interceptors;
  }

  get deadlines(): DeadlineQueue {
    return this.server.deadlines;
  }

  highestCallId(): number {
    return this.highestSeen;
  }

  onReady(): void {
    if (this.server.isDraining) this.goaway();
  }

  onFrame(type: number, flags: number, callId: number, payload: Uint8Array): void {
    if (type === FrameType.HEADERS) return this.onHeaders(callId, flags, payload);
    const call = this.calls.get(callId);
    if (call !== undefined) return call.onFrame(type, flags, payload);
    if (callId > this.highestSeen) throw new DecodeError(`frame type ${type} for call ${callId}, which was never started`);
    // A frame racing the end of its call (the trailer or a refusal crossed it): drop it.
  }

  onGoaway(): void {
    // A client going away just stops sending; its calls end normally or with the connection.
  }

  hold(bytes: number): boolean {
    return this.buffer.hold(bytes);
  }

  release(bytes: number): void {
    this.buffer.release(bytes);
  }

  onBuffered(bytes: number): void {
    if (this.session.state === 'closed') return;
    const grown = bytes - this.partialFrameBytes;
    if (grown <= 0) this.buffer.release(-grown);
    else if (!this.buffer.hold(grown)) return this.session.close('RESOURCE_EXHAUSTED', `${this.session.remoteAddress} sends a frame while the server holds too many request bytes`);
    this.partialFrameBytes = bytes;
  }

  onClosed(error: RpcError): void {
    for (const call of [...this.calls.values()]) call.abort(error);
    this.buffer.releaseAll();
    this.server.connectionGone(this);
  }

  finished(call: ServerCall, error: RpcError | undefined): void {
    this.calls.delete(call.callId);
    if (!call.handlerStarted) this.server.unserved({ method: call.method, code: error?.code ?? 'OK', peer: call.peer, refused: false });
    if (this.server.isDraining && this.calls.size === 0) this.session.close('UNAVAILABLE', 'server shut down');
  }

  goaway(): void {
    if (this.session.state !== 'ready') return this.session.close('UNAVAILABLE', 'server shut down');
    this.session.goaway(this.highestSeen, 'UNAVAILABLE', 'server shutting down');
    if (this.calls.size === 0) this.session.close('UNAVAILABLE', 'server shut down');
  }

  forceClose(): void {
    const error = new RpcError('UNAVAILABLE', 'server shut down before the call finished');
    for (const call of [...this.calls.values()]) call.end(error);
    this.session.close('UNAVAILABLE', 'server shut down');
  }

  private onHeaders(callId: number, flags: number, payload: Uint8Array): void {
    if (callId <= this.highestSeen) throw new DecodeError(`HEADERS for call ${callId}: call ids must increase (last was ${this.highestSeen})`);
    this.highestSeen = callId;
    const headers: HeadersPayload & { readonly message?: Uint8Array } = this.session.version >= compactVersion
      ? decodeCompactHeaders(payload, flags, this.server.limits.maxMetadataBytes, this.session.methods, this.session.version)
      : decodeHeaders(payload, this.server.limits.maxMetadataBytes);
    const route = this.server.route(headers.method);
    const method = route === undefined ? undefined : headers.method;
    if (this.server.isDraining) return this.refuse(callId, method, 'UNAVAILABLE', 'server shutting down');
    if (this.calls.size >= this.server.limits.maxConcurrentCalls) {
      return this.refuse(callId, method, 'RESOURCE_EXHAUSTED', `more than ${this.server.limits.maxConcurrentCalls} concurrent calls on one connection`);
    }
    if (route === undefined) return this.refuse(callId, method, 'UNIMPLEMENTED', `unknown method ${headers.method}`);
    const call = new ServerCall(this.session.heardAtMs, this, callId, headers.method, route.service, route.method, route.handler, headers.metadata, headers.timeoutMs);
    if (call.state !== 'done') this.calls.set(callId, call);
    // Version 2: the request rode in the HEADERS frame (it is then a MESSAGE|END of its own).
    if (headers.message !== undefined) call.onFrame(FrameType.MESSAGE, FrameFlag.END, headers.message);
    call.armDeadline();
  }

  /** Ends a call before any handler ran: the trailer says so, so the client may retry it. */
  private refuse(callId: number, method: string | undefined, status: StatusName, message: string): void {
    const error = new RpcError(status, message);
    this.session.send(FrameType.TRAILER, FrameFlag.UNPROCESSED, callId, encodeTrailer(error.status, message, undefined));
    this.server.unserved({ method, code: status, peer: this.session.remoteAddress, refused: true });
  }
}
