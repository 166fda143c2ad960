import { AssertionError, ConfigError } from '../errors.ts';
import { frameHeaderBytes } from './limits.ts';

/**
 * Bounds on request bytes a server holds for its peers before any handler took them: a
 * partly received frame, a unary request waiting for its half-close, streamed requests
 * queued for a slow reader. Per-call windows and `maxConcurrentCalls` bound one call and
 * the number of calls, not their product (1 000 calls × a 1 MiB frame is 1 GiB on one
 * connection); these bound the sum.
 */
export interface BufferLimits {
  /**
   * Bytes one connection may hold. A call that would pass it ends with RESOURCE_EXHAUSTED;
   * a partial frame that would closes the connection. At least two largest frames (one
   * arriving while one waits). @default Infinity
   */
  maxBufferedBytesPerConnection: number;
  /** Bytes all connections of the server may hold together; same refusals. @default Infinity */
  maxBufferedBytes: number;
}

/** The smallest per-connection bound that lets a frame of `maxFrameBytes` arrive while one waits. */
export function bufferedBytesPerConnectionMin(maxFrameBytes: number): number {
  return 2 * (maxFrameBytes + frameHeaderBytes);
}

/** The server-wide count; each connection takes and gives back through its own `ConnectionBuffer`. */
export class BufferBudget {
  private totalBytes = 0;
  /** Requests for bytes refused so far. */
  refusals = 0;

  constructor(
    readonly limits: Readonly<BufferLimits>,
    maxFrameBytes: number,
    private readonly onRefused: (() => void) | undefined,
  ) {
    const min = bufferedBytesPerConnectionMin(maxFrameBytes);
    if (!(limits.maxBufferedBytesPerConnection >= min)) {
      throw new ConfigError('maxBufferedBytesPerConnection', `must be at least ${min} (two frames of ${maxFrameBytes} bytes with headers), got ${limits.maxBufferedBytesPerConnection}`);
    }
    if (!(limits.maxBufferedBytes >= limits.maxBufferedBytesPerConnection)) {
      throw new ConfigError('maxBufferedBytes', `must be at least maxBufferedBytesPerConnection (${limits.maxBufferedBytesPerConnection}), got ${limits.maxBufferedBytes}`);
    }
  }

  /** Bytes held over all connections now. */
  get total(): number {
    return this.totalBytes;
  }

  /** A connection holding `heldBytes` asks for `bytes` more: true once taken, false (and counted) when a bound would be passed. */
  take(heldBytes: number, bytes: number): boolean {
    if (heldBytes + bytes > this.limits.maxBufferedBytesPerConnection || this.totalBytes + bytes > this.limits.maxBufferedBytes) {
      this.refusals++;
      this.onRefused?.();
      return false;
    }
    this.totalBytes += bytes;
    return true;
  }

  give(bytes: number): void {
    // The message is built only when the check fails: this runs for every call.
    if (!(bytes >= 0 && bytes <= this.totalBytes)) throw new AssertionError(`buffer budget gives back ${bytes} bytes but holds ${this.totalBytes}`);
    this.totalBytes -= bytes;
  }
}

/** One connection's share of a `BufferBudget`. */
export class ConnectionBuffer {
  private heldBytes = 0;

  constructor(private readonly budget: BufferBudget) {}

  get held(): number {
    return this.heldBytes;
  }

  hold(bytes: number): boolean {
    if (!this.budget.take(this.heldBytes, bytes)) return false;
    this.heldBytes += bytes;
    return true;
  }

  release(bytes: number): void {
    if (!(bytes >= 0 && bytes <= this.heldBytes)) throw new AssertionError(`connection gives back ${bytes} bytes but holds ${this.heldBytes}`);
    this.heldBytes -= bytes;
    this.budget.give(bytes);
  }

  /** Gives back everything (the connection is gone). */
  releaseAll(): void {
    this.release(this.heldBytes);
  }
}
