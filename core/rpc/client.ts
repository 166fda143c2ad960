import type { Address } from '../address.ts';
import type { Env } from '../env.ts';
import { ClientCall, type CallOptions, type ResponseStream } from './client-call.ts';
import { ClientConnection } from './client-connection.ts';
import { DeadlineQueue } from './deadlines.ts';
import { protocolVersionMax, resolveLimits, type RpcLimits } from './limits.ts';
import type { AnyMethod, CallKind, MethodTable, RequestOf, ResponseOf, ServiceDefinition } from './service.ts';
import { RpcError, type StatusName } from './status.ts';

/** The typed client method derived from a method descriptor. */
export type ClientMethod<D extends AnyMethod> =
  D['kind'] extends 'unary' ? (request: RequestOf<D>, options?: CallOptions) => Promise<ResponseOf<D>>
    : D['kind'] extends 'serverStream' ? (request: RequestOf<D>, options?: CallOptions) => ResponseStream<ResponseOf<D>>
      : D['kind'] extends 'clientStream' ? (requests: AsyncIterable<RequestOf<D>> | Iterable<RequestOf<D>>, options?: CallOptions) => Promise<ResponseOf<D>>
        : (requests: AsyncIterable<RequestOf<D>> | Iterable<RequestOf<D>>, options?: CallOptions) => ResponseStream<ResponseOf<D>>;

export type ServiceClient<M extends MethodTable> = { readonly [K in keyof M]: ClientMethod<M[K]> };

/** What a client interceptor sees; it may change `metadata` before calling `next`. */
export interface ClientCallInfo {
  readonly address: Address;
  /** `service/method` */
  readonly method: string;
  readonly kind: CallKind;
  readonly metadata: Record<string, string>;
}

/**
 * Wraps every call: run code before `next()` (add metadata, refuse the call by throwing an
 * RpcError) and after it (`next()` settles when the call ends, rejecting with its RpcError).
 */
export type ClientInterceptor = (call: ClientCallInfo, next: () => Promise<void>) => Promise<void>;

/** The options of a call made without any: shared, never written. */
const noOptions: CallOptions = Object.freeze({});

/** Reported once per call when it ends: what a cluster client needs for latency and retries. */
export interface CallEndInfo {
  readonly address: Address;
  readonly method: string;
  readonly code: StatusName;
  readonly latencyMs: number;
  /** True when the server certainly did not run the handler: safe to retry. */
  readonly unprocessed: boolean;
}

export interface ConnectionInfo {
  readonly address: Address;
  readonly state: 'handshaking' | 'ready' | 'closed';
  readonly draining: boolean;
  readonly inFlight: number;
  readonly rttMs: number | undefined;
  readonly lateFrames: number;
  /** The protocol version the connection speaks (1 until the server's preamble says otherwise). */
  readonly protocolVersion: number;
}

export interface RpcClientOptions {
  /** What this client accepts from servers (response size, window, idle timeout). @default defaultLimits */
  limits?: Partial<RpcLimits>;
  /** Ping each connection this often (also bounded by a third of either idle timeout). @default 2_000 */
  pingIntervalMs?: number;
  /** Deadline of calls that set none, so no call can hang forever. @default 30_000 */
  defaultTimeoutMs?: number;
  /** Calls that may wait for one connection's handshake; more fail with RESOURCE_EXHAUSTED. @default 10_000 */
  pendingCallsMax?: number;
  interceptors?: readonly ClientInterceptor[];
  onCallEnd?: (info: CallEndInfo) => void;
  /** The highest protocol version offered to servers; a server that speaks only an earlier one gets that. @default 3 */
  protocolVersionMax?: number;
}

/**
 * Calls services on other hosts. Keeps one connection per peer address carrying all calls
 * to it; a failed or draining connection is replaced by a fresh one on the next call (the
 * calls that were on it end with UNAVAILABLE at once).
 */
export class RpcClient {
  private readonly connections = new Map<Address, ClientConnection>();
  private readonly limits: RpcLimits;
  private readonly interceptors: readonly ClientInterceptor[];
  /** Every call's deadline, behind one timer. */
  private readonly deadlines: DeadlineQueue;
  private closed = false;

  constructor(private readonly env: Env, private readonly options: RpcClientOptions = {}) {
    this.limits = resolveLimits(options.limits);
    this.deadlines = new DeadlineQueue(env.clock);
    this.interceptors = options.interceptors ?? [];
  }

  /** A typed stub for `definition` on the server at `address`. */
  service<M extends MethodTable>(definition: ServiceDefinition<M>, address: Address): ServiceClient<M> {
    const stub: Record<string, unknown> = {};
    for (const [name, method] of Object.entries(definition.methods)) {
      const fullMethod = `${definition.name}/${name}`;
      stub[name] = (input: unknown, options?: CallOptions) => this.invoke(definition, fullMethod, method, address, input, options ?? noOptions);
    }
    return stub as ServiceClient<M>;
  }

  /** Calls running or waiting on the connection to `address` (0 without one). */
  inFlight(address: Address): number {
    return this.connections.get(address)?.inFlight ?? 0;
  }

  connectionInfo(address: Address): ConnectionInfo | undefined {
    const connection = this.connections.get(address);
    if (connection === undefined) return undefined;
    return {
      address, state: connection.session.state, draining: connection.draining, inFlight: connection.inFlight,
      rttMs: connection.session.rttMs, lateFrames: connection.lateFrames, protocolVersion: connection.session.version,
    };
  }

  /** Addresses with a live connection. */
  connectedAddresses(): Address[] {
    return [...this.connections.keys()];
  }

  /** Closes every connection; their calls fail with CANCELLED. Later calls fail with UNAVAILABLE. */
  close(): void {
    this.closed = true;
    for (const connection of [...this.connections.values()]) connection.session.close('CANCELLED', 'the client was closed');
    this.connections.clear();
  }

  private invoke(definition: ServiceDefinition, fullMethod: string, method: AnyMethod, address: Address, input: unknown, options: CallOptions): unknown {
    const call = new ClientCall(this.env.clock, this.deadlines, definition, fullMethod, method, input, options, this.options.defaultTimeoutMs ?? 30_000, this.limits);
    const onCallEnd = this.options.onCallEnd;
    if (onCallEnd !== undefined) {
      call.onFinish((error) => onCallEnd({
        address, method: call.fullMethod, code: error?.code ?? 'OK', latencyMs: this.env.clock.now() - call.startedAtMs, unprocessed: error?.unprocessed ?? false,
      }));
    }
    if (!call.failIfAborted()) {
      if (this.interceptors.length === 0) this.start(call, address);
      else this.intercept(call, address);
    }
    if (call.responses !== undefined) return Object.assign(call.responses, { cancel: () => call.cancel('CANCELLED', 'cancelled by the caller') });
    return call.result;
  }

  private intercept(call: ClientCall, address: Address): void {
    call.waits();
    const info: ClientCallInfo = { address, method: call.fullMethod, kind: call.method.kind, metadata: call.metadata ??= {} };
    const run = (index: number): Promise<void> => {
      if (index === this.interceptors.length) {
        this.start(call, address);
        return call.state === 'done' ? Promise.resolve() : call.completion();
      }
      return this.interceptors[index]!(info, () => run(index + 1));
    };
    let outcome: Promise<void>;
    try {
      outcome = run(0);
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome.catch((error: unknown) => {
      const rpcError = error instanceof RpcError ? error : new RpcError('INTERNAL', `client interceptor failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
      call.fail(rpcError, true);
    });
  }

  private start(call: ClientCall, address: Address): void {
    if (this.closed) return call.fail(new RpcError('UNAVAILABLE', 'the client was closed', { unprocessed: true }), false);
    this.connectionTo(address).start(call);
  }

  private connectionTo(address: Address): ClientConnection {
    const existing = this.connections.get(address);
    if (existing !== undefined && existing.usable) return existing;
    const connection = new ClientConnection(this.env, address, {
      limits: this.limits,
      pingIntervalMs: this.options.pingIntervalMs ?? 2_000,
      pendingCallsMax: this.options.pendingCallsMax ?? 10_000,
      protocolVersionMax: this.options.protocolVersionMax ?? protocolVersionMax,
    }, (gone) => {
      if (this.connections.get(gone.address) === gone) this.connections.delete(gone.address);
    });
    this.connections.set(address, connection);
    return connection;
  }
}
