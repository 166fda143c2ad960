import { InvalidArgumentError } from '../errors.ts';
import { msgpackCodec, type Codec } from './codec.ts';

export type CallKind = 'unary' | 'serverStream' | 'clientStream' | 'bidi';

/** Anything with zod's `parse`: checks an untrusted value and returns it typed, or throws. */
export interface Schema<T> {
  parse(value: unknown): T;
}

/**
 * One method of a service. `Req` and `Res` exist only for type inference: the definition is
 * the single source the typed client and the typed server handlers are derived from.
 */
export interface MethodDescriptor<Req, Res, K extends CallKind = CallKind> {
  readonly kind: K;
  readonly request?: Schema<Req>;
  readonly response?: Schema<Res>;
  /** Phantom fields carrying the message types; never set. */
  readonly _req?: Req;
  readonly _res?: Res;
}

export interface MethodSchemas<Req, Res> {
  /** Checks requests on the server before the handler sees them (failure: INVALID_ARGUMENT). */
  request?: Schema<Req>;
  /** Checks responses on the client before the caller sees them (failure: INTERNAL). */
  response?: Schema<Res>;
}

function method<K extends CallKind>(kind: K) {
  return <Req, Res>(schemas: MethodSchemas<Req, Res> = {}): MethodDescriptor<Req, Res, K> => ({ kind, ...schemas });
}

/** One request, one response. */
export const unary = method('unary');
/** One request, a stream of responses. */
export const serverStream = method('serverStream');
/** A stream of requests, one response. */
export const clientStream = method('clientStream');
/** Streams both ways, independent of each other. */
export const bidi = method('bidi');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMethod = MethodDescriptor<any, any, CallKind>;
export type MethodTable = Readonly<Record<string, AnyMethod>>;

export interface ServiceOptions {
  /** How messages become bytes. @default msgpackCodec */
  codec?: Codec;
}

export interface ServiceDefinition<M extends MethodTable = MethodTable> {
  /** Versioned name, e.g. `calc.v1`; the wire names a method `calc.v1/add`. */
  readonly name: string;
  readonly methods: M;
  readonly codec: Codec;
}

const serviceNamePattern = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;
const methodNamePattern = /^[A-Za-z][A-Za-z0-9_]{0,127}$/;

/** Defines a service once; `RpcClient.service` and `RpcServer.register` take their types from it. */
export function defineService<M extends MethodTable>(name: string, methods: M, options: ServiceOptions = {}): ServiceDefinition<M> {
  if (!serviceNamePattern.test(name)) throw new InvalidArgumentError(`service name "${name}" must match ${serviceNamePattern}`);
  for (const methodName of Object.keys(methods)) {
    if (!methodNamePattern.test(methodName)) throw new InvalidArgumentError(`method name "${methodName}" must match ${methodNamePattern}`);
  }
  return Object.freeze({ name, methods, codec: options.codec ?? msgpackCodec });
}

export type RequestOf<D> = D extends { readonly _req?: infer Req } ? Req : never;
export type ResponseOf<D> = D extends { readonly _res?: infer Res } ? Res : never;
