import { RpcError } from './status.ts';

/**
 * Credit-based flow control, per call and per direction. The receiver grants the sender
 * `initialCallWindowBytes` of MESSAGE frames (header + payload) and grants more with
 * WINDOW_UPDATE as its reader consumes them. The sender may send while its credit is
 * positive; a message may overdraw it, so a message larger than the window still goes.
 * A reader that stalls therefore holds at most one window plus one frame per call, and a
 * slow reader slows only its own call.
 */
export class SendWindow {
  private credit: number;
  private waiter: (() => void) | undefined;

  constructor(initialBytes: number) {
    this.credit = initialBytes;
  }

  get available(): number {
    return this.credit;
  }

  get open(): boolean {
    return this.credit > 0;
  }

  grant(bytes: number): void {
    this.credit += bytes;
    if (this.credit > 0) this.release();
  }

  consume(bytes: number): void {
    this.credit -= bytes;
  }

  /** Resolves once credit is positive again, or the call ended (`release`). */
  wait(): Promise<void> {
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** Wakes a pending `wait` (credit arrived or the call ended). */
  release(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}

export class ReceiveWindow {
  private remaining: number;
  private consumedSinceGrant = 0;

  constructor(private readonly initialBytes: number) {
    this.remaining = initialBytes;
  }

  /** Bytes the peer may still send before it must wait for a grant. */
  get credit(): number {
    return this.remaining;
  }

  /** A MESSAGE of `cost` bytes arrived; false when the peer sent without credit (a protocol violation). */
  accept(cost: number): boolean {
    if (this.remaining <= 0) return false;
    this.remaining -= cost;
    return true;
  }

  /**
   * The reader consumed `cost` bytes. Returns the increment to grant now, or 0: grants go
   * out in batches of half a window so a stream of small messages costs few updates.
   */
  consume(cost: number): number {
    this.consumedSinceGrant += cost;
    if (this.consumedSinceGrant < this.initialBytes / 2) return 0;
    const increment = this.consumedSinceGrant;
    this.consumedSinceGrant = 0;
    this.remaining += increment;
    return increment;
  }
}

export interface MessageSink<T> {
  /** False once the call ended: the pump stops. */
  readonly active: boolean;
  readonly window: SendWindow;
  /** Encodes and writes one message; throws RpcError when it cannot be sent. */
  send(value: T): void;
  /** The source is exhausted: half-close (or send the trailer). */
  end(): void;
}

/**
 * Pulls messages from `source` only while there is credit, so a slow peer backpressures
 * the producer instead of filling memory. Errors of the source propagate to the caller.
 */
export async function pumpMessages<T>(source: AsyncIterable<T>, sink: MessageSink<T>): Promise<void> {
  const iterator = source[Symbol.asyncIterator]();
  let finished = false;
  try {
    while (sink.active) {
      if (!sink.window.open) {
        await sink.window.wait();
        continue;
      }
      const result = await iterator.next();
      if (result.done === true) {
        finished = true;
        if (sink.active) sink.end();
        return;
      }
      if (!sink.active) return;
      sink.send(result.value);
    }
  } finally {
    if (!finished) void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}

/** Accepts async and plain iterables (an array of requests, a generator) as a message source. */
export function toAsyncIterable(source: unknown, misuse: RpcError): AsyncIterable<unknown> {
  if (source !== null && typeof source === 'object') {
    if (Symbol.asyncIterator in source) return source as AsyncIterable<unknown>;
    if (Symbol.iterator in source) {
      const iterable = source as Iterable<unknown>;
      return (async function* () {
        yield* iterable;
      })();
    }
  }
  throw misuse;
}
