import { ShoalError } from '../errors.ts';

/**
 * Call status codes with gRPC's numbers and meanings, so people and tools that know gRPC
 * read them without a table. Append-only: a number never changes meaning.
 */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type StatusName = keyof typeof Status;
export type StatusCode = (typeof Status)[StatusName];

const names = new Map<number, StatusName>(Object.entries(Status).map(([name, code]) => [code, name as StatusName]));

/** The name of a status number; numbers this version does not know read as UNKNOWN. */
export function statusName(code: number): StatusName {
  return names.get(code) ?? 'UNKNOWN';
}

export interface RpcErrorOptions {
  /** Structured detail for the caller (encoded with msgpack on the wire). */
  details?: unknown;
  /**
   * True when the server certainly did not run the handler: the call was never sent, was
   * refused before dispatch (connection draining, over the concurrency limit), or its
   * connection failed before any of its bytes were written. A caller may retry such a call
   * without risk of running it twice.
   */
  unprocessed?: boolean;
  cause?: unknown;
}

/**
 * How every call fails: a status code with gRPC's meaning, a message, optional details.
 * `code` is the status name (`'UNAVAILABLE'`), `status` its number.
 */
export class RpcError extends ShoalError {
  override readonly code: StatusName;
  readonly status: StatusCode;
  readonly details: unknown;
  readonly unprocessed: boolean;

  constructor(code: StatusName, message: string, options: RpcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = Status[code];
    this.details = options.details;
    this.unprocessed = options.unprocessed ?? false;
  }

  /** A copy marked as certainly not processed by the server. */
  asUnprocessed(): RpcError {
    return new RpcError(this.code, this.message, { details: this.details, unprocessed: true, cause: this.cause });
  }
}

/** Turns anything a handler threw into the status the caller sees. */
export function toRpcError(error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new RpcError('UNKNOWN', `handler failed: ${message}`, { cause: error });
}
