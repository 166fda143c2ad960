import { assert } from '../errors.ts';

/** Marks "no message yet" where any value, `undefined` included, may be a message. */
export const noMessage: unique symbol = Symbol('no message');

/**
 * Messages received on one call, waiting for the application to read them. An async
 * iterable with one reader. Flow control bounds what it holds: each message remembers its
 * wire cost and `onConsumed` hands that cost back as credit once the reader took it, so a
 * reader that stalls stops the sender after one window.
 */
export class MessageQueue<T> implements AsyncIterable<T> {
  private readonly items: { value: T; cost: number }[] = [];
  private head = 0;
  private ended = false;
  private error: Error | undefined;
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: Error) => void } | undefined;
  private iterated = false;
  bufferedCost = 0;

  constructor(
    private readonly onConsumed: (cost: number) => void,
    /** The reader gave up (break / return): the call should be cancelled. */
    private readonly onAbandoned: () => void,
  ) {}

  get size(): number {
    return this.items.length - this.head;
  }

  get finished(): boolean {
    return this.ended || this.error !== undefined;
  }

  push(value: T, cost: number): void {
    if (this.finished) return;
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      this.onConsumed(cost);
      waiter.resolve({ value, done: false });
      return;
    }
    this.items.push({ value, cost });
    this.bufferedCost += cost;
  }

  /** No more messages: the reader sees the end after draining what is queued. */
  end(): void {
    if (this.finished) return;
    this.ended = true;
    this.wake();
  }

  /** The call failed: the reader gets `error` at once; queued messages are dropped. */
  fail(error: Error): void {
    if (this.finished) return;
    this.error = error;
    this.items.length = 0;
    this.head = 0;
    this.bufferedCost = 0;
    this.wake();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.error !== undefined) return Promise.reject(this.error);
    if (this.head < this.items.length) {
      const item = this.items[this.head]!;
      this.items[this.head] = undefined as never;
      this.head++;
      if (this.head === this.items.length) {
        this.items.length = 0;
        this.head = 0;
      }
      this.bufferedCost -= item.cost;
      this.onConsumed(item.cost);
      return Promise.resolve({ value: item.value, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    assert(this.waiter === undefined, 'MessageQueue has one reader: next() called while a read is pending');
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    assert(!this.iterated, 'a message stream can be iterated once');
    this.iterated = true;
    return {
      next: () => this.next(),
      return: (): Promise<IteratorResult<T>> => {
        if (!this.finished) {
          this.fail(new Error('abandoned by the reader'));
          this.onAbandoned();
        }
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  private wake(): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    this.waiter = undefined;
    if (this.error !== undefined) waiter.reject(this.error);
    else if (this.head >= this.items.length && this.ended) waiter.resolve({ value: undefined, done: true });
  }
}
