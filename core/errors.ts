/**
 * Typed errors shared by every layer. One class per failure, each with its own `name`
 * and a stable `code`, so callers can branch on `instanceof` or on `code` after the
 * error crossed a process boundary.
 */
export class ShoalError extends Error {
  readonly code: string = 'SHOAL_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A caller passed a value that can never be valid (bad address, negative delay, ...). */
export class InvalidArgumentError extends ShoalError {
  override readonly code: string = 'INVALID_ARGUMENT';
}

/** A configuration object was refused; `field` names the offending field. */
export class ConfigError extends ShoalError {
  override readonly code: string = 'CONFIG_INVALID';
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

/** Untrusted bytes could not be decoded. Decoders throw this and nothing else. */
export class DecodeError extends ShoalError {
  override readonly code: string = 'DECODE_ERROR';
}

/** A bounded resource (queue, buffer, in-flight table) is full. */
export class LimitExceededError extends ShoalError {
  override readonly code: string = 'LIMIT_EXCEEDED';
  constructor(readonly limit: string, readonly max: number, message?: string) {
    super(message ?? `${limit} exceeded (max ${max})`);
  }
}

/** Base class of every failure a Transport reports. */
export class TransportError extends ShoalError {
  override readonly code: string = 'TRANSPORT_ERROR';
}

/** A datagram was larger than the transport's `maxDatagramBytes`. */
export class DatagramTooLargeError extends TransportError {
  override readonly code: string = 'DATAGRAM_TOO_LARGE';
  constructor(readonly size: number, readonly max: number) {
    super(`datagram of ${size} bytes exceeds the limit of ${max} bytes`);
  }
}

/** A connection could not be established (no answer within the connect timeout). */
export class ConnectTimeoutError extends TransportError {
  override readonly code: string = 'CONNECT_TIMEOUT';
}

/** The peer answered but refused the connection (nothing listening, handshake refused). */
export class ConnectionRefusedError extends TransportError {
  override readonly code: string = 'CONNECTION_REFUSED';
}

/** Nothing was heard from the peer for the idle timeout: it died or the path is cut. */
export class ConnectionLostError extends TransportError {
  override readonly code: string = 'CONNECTION_LOST';
}

/** The peer no longer knows the connection (it restarted): a stateless reset. */
export class ConnectionResetError extends TransportError {
  override readonly code: string = 'CONNECTION_RESET';
}

/** The connection was closed, locally or by the peer, and can carry nothing more. */
export class ConnectionClosedError extends TransportError {
  override readonly code: string = 'CONNECTION_CLOSED';
}

/** Opening one more stream would exceed the peer's stream credit. */
export class StreamLimitError extends TransportError {
  override readonly code: string = 'STREAM_LIMIT';
}

/** The peer reset the stream with an application error code. */
export class StreamResetError extends TransportError {
  override readonly code: string = 'STREAM_RESET';
  constructor(readonly resetCode: number, message?: string) {
    super(message ?? `stream reset by peer with code ${resetCode}`);
  }
}

/** A write after `end()` or `reset()`, or on a stream whose connection failed. */
export class StreamClosedError extends TransportError {
  override readonly code: string = 'STREAM_CLOSED';
}

/** A broken invariant: a bug in shoal, never caused by input. Crashes loudly. */
export class AssertionError extends ShoalError {
  override readonly code: string = 'ASSERTION';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
