import { errors } from '@matrixai/quic';
import {
  ConnectTimeoutError, ConnectionClosedError, ConnectionLostError, ConnectionRefusedError, StreamClosedError,
  StreamResetError, TransportError,
} from '../core/index.ts';

/**
 * Every failure the QUIC library can report, mapped to the core's typed transport errors.
 * The library rejects with `undefined` after a forced local destroy and with plain
 * `Error('read 0')` for a peer's cancel unless reason mappers are given; nothing of that
 * kind may escape to the protocols.
 */

/** The reason a local `Stream.reset(code)` hands the library; `streamReasonToCode` reads the code back. */
export class LocalResetReason {
  constructor(readonly code: number) {}
}

/** Library hook: the application error code sent in RESET_STREAM / STOP_SENDING. */
export function streamReasonToCode(_type: 'read' | 'write', reason?: unknown): number {
  return reason instanceof LocalResetReason ? reason.code : 0;
}

/** Library hook: what a read or write rejects with when the peer reset the stream. */
export function streamCodeToReason(_type: 'read' | 'write', code: number): StreamResetError {
  return new StreamResetError(code);
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** A connection that was open failed with `error`. */
export function mapConnectionError(error: unknown, remote: string): TransportError {
  if (error instanceof TransportError) return error;
  if (error instanceof errors.ErrorQUICConnectionIdleTimeout) {
    return new ConnectionLostError(`connection to ${remote} lost: nothing heard within the idle timeout`, { cause: error });
  }
  if (error instanceof errors.ErrorQUICConnectionPeerTLS || error instanceof errors.ErrorQUICConnectionLocalTLS) {
    return new ConnectionRefusedError(`connection to ${remote} refused by TLS: ${describe(error)}`, { cause: error });
  }
  if (error instanceof errors.ErrorQUICConnectionPeer) {
    return new ConnectionClosedError(`connection closed by ${remote}`, { cause: error });
  }
  return new ConnectionClosedError(`connection to ${remote} failed: ${describe(error)}`, { cause: error });
}

/** The handshake to `remote` failed with `error`. */
export function mapConnectError(error: unknown, remote: string): TransportError {
  if (error instanceof TransportError) return error;
  if (error instanceof errors.ErrorQUICClientCreateTimeout || error instanceof errors.ErrorQUICConnectionStartTimeout
    || error instanceof errors.ErrorQUICConnectionIdleTimeout) {
    return new ConnectTimeoutError(`no answer from ${remote} within the connect timeout`, { cause: error });
  }
  if (error instanceof errors.ErrorQUICClientInvalidHost || error instanceof errors.ErrorQUICHostInvalid
    || error instanceof errors.ErrorQUICSocketInvalidSendAddress) {
    return new ConnectionRefusedError(`cannot reach ${remote}: ${describe(error)}`, { cause: error });
  }
  if (error instanceof errors.ErrorQUICConnectionLocal || error instanceof errors.ErrorQUICConnectionPeer) {
    return new ConnectionRefusedError(`handshake with ${remote} refused: ${describe(error)}`, { cause: error });
  }
  return new ConnectionRefusedError(`connection to ${remote} failed: ${describe(error)}`, { cause: error });
}

/** A stream read or write failed with `error` (which may be `undefined` after a forced destroy). */
export function mapStreamError(error: unknown, streamId: number): TransportError {
  if (error instanceof TransportError) return error;
  if (error instanceof errors.ErrorQUICStreamPeerRead || error instanceof errors.ErrorQUICStreamPeerWrite) {
    const code = (error.data as { code?: unknown } | undefined)?.code;
    return new StreamResetError(typeof code === 'number' ? code : 0, undefined);
  }
  if (error instanceof errors.ErrorQUICConnectionIdleTimeout) {
    return new ConnectionLostError(`stream ${streamId}: connection lost`, { cause: error });
  }
  return new StreamClosedError(`stream ${streamId} failed: ${describe(error)}`, { cause: error });
}
