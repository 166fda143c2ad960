/**
 * The simulator's event queue, ordered by (time, sequence number): the sequence number
 * breaks ties, so items queued for the same instant come out in the order they were
 * queued, on every machine.
 *
 * It is a calendar queue (Brown, 1988) in front of a heap. Most events of a run are due
 * within milliseconds (latencies), so a wheel of `wheelBuckets` buckets of `1 /
 * bucketsPerMs` ms each holds everything due within its horizon: a push files the item
 * into the bucket of its time (each bucket sorted, new items nearly always at its end) and
 * a pop takes the head of the earliest non-empty bucket, both in constant time. What is
 * due beyond the horizon (most timers) waits in a heap and moves onto the wheel as the
 * wheel turns. The bucket width only changes how fast the queue is, never the order.
 */

/** Buckets per simulated millisecond (a power of two, so `time × bucketsPerMs` is exact). */
const bucketsPerMs = 256;
/** Buckets on the wheel (a power of two, at least 32: one bitmap word): with `bucketsPerMs`, a horizon of 16 ms. */
const wheelBuckets = 1 << 12;
const wheelMask = wheelBuckets - 1;

/**
 * The items of one bucket, sorted by (time, sequence number) from `head` to `tail`. The
 * arrays never shrink: an emptied bucket is reused as it is.
 */
class Bucket<T> {
  readonly times: number[] = [];
  readonly items: (T | undefined)[] = [];
  head = 0;
  tail = 0;
}

export class EventQueue<T> {
  private readonly buckets: (Bucket<T> | undefined)[] = new Array<Bucket<T> | undefined>(wheelBuckets);
  /** One bit per bucket: set while it holds items. */
  private readonly occupied = new Int32Array(wheelBuckets >> 5);
  /** The absolute bucket number (`floor(time × bucketsPerMs)`) of the last item taken: every item on the wheel is in [cursor, cursor + wheelBuckets). */
  private cursor = 0;
  private onWheel = 0;
  /** The absolute number of the earliest non-empty bucket, once found; -1 when not known. */
  private earliest = -1;
  /** Items due beyond the wheel's horizon. */
  private readonly later = new HeapQueue<T>();

  get size(): number {
    return this.onWheel + this.later.size;
  }

  /** The time of the earliest item; Infinity when the queue is empty. */
  peekTimeMs(): number {
    if (this.onWheel === 0) return this.later.peekTimeMs();
    const bucket = this.buckets[this.findEarliest() & wheelMask]!;
    return bucket.times[bucket.head]!;
  }

  /** Inserts `item` at `timeMs` (never before the last item taken), after every item already queued for that time. */
  push(item: T, timeMs: number): void {
    const number = Math.floor(timeMs * bucketsPerMs);
    if (!(number < this.cursor + wheelBuckets)) return this.later.push(item, timeMs);
    if (number < this.cursor) throw new Error(`event queue: an item at ${timeMs} ms is before the last one taken`);
    this.file(number, item, timeMs);
  }

  /** Removes and returns the earliest item. */
  pop(): T | undefined {
    if (this.onWheel === 0) {
      if (this.later.size === 0) return undefined;
      const number = Math.floor(this.later.peekTimeMs() * bucketsPerMs);
      // Beyond any wheel (an action at Infinity): straight from the heap.
      if (!Number.isFinite(number)) return this.later.pop();
      this.turnTo(number);
    }
    const number = this.findEarliest();
    if (number !== this.cursor) this.turnTo(number);
    const index = number & wheelMask;
    const bucket = this.buckets[index]!;
    const item = bucket.items[bucket.head];
    bucket.items[bucket.head] = undefined;
    bucket.head++;
    this.onWheel--;
    if (bucket.head === bucket.tail) {
      bucket.head = 0;
      bucket.tail = 0;
      this.occupied[index >> 5]! &= ~(1 << (index & 31));
      this.earliest = -1;
    }
    return item;
  }

  /** Puts an item into its bucket, behind every item of that bucket due no later. */
  private file(number: number, item: T, timeMs: number): void {
    const index = number & wheelMask;
    let bucket = this.buckets[index];
    if (bucket === undefined) {
      bucket = new Bucket<T>();
      this.buckets[index] = bucket;
    }
    const { times, items } = bucket;
    let i = bucket.tail++;
    for (; i > bucket.head && times[i - 1]! > timeMs; i--) {
      times[i] = times[i - 1]!;
      items[i] = items[i - 1];
    }
    times[i] = timeMs;
    items[i] = item;
    this.occupied[index >> 5]! |= 1 << (index & 31);
    this.onWheel++;
    if (this.earliest !== -1 && number < this.earliest) this.earliest = number;
  }

  /** Moves the cursor to bucket `number` and brings onto the wheel what is now within its horizon, in order. */
  private turnTo(number: number): void {
    this.cursor = number;
    const horizon = number + wheelBuckets;
    while (this.later.size > 0 && Math.floor(this.later.peekTimeMs() * bucketsPerMs) < horizon) {
      const timeMs = this.later.peekTimeMs();
      this.file(Math.floor(timeMs * bucketsPerMs), this.later.pop()!, timeMs);
    }
  }

  /** The absolute number of the earliest non-empty bucket (the wheel must hold items). */
  private findEarliest(): number {
    if (this.earliest !== -1) return this.earliest;
    const start = this.cursor & wheelMask;
    let word = start >> 5;
    let bits = this.occupied[word]! & (-1 << (start & 31));
    while (bits === 0) {
      word = (word + 1) & (wheelMask >> 5);
      bits = this.occupied[word]!;
    }
    const index = (word << 5) + (31 - Math.clz32(bits & -bits));
    this.earliest = this.cursor + ((index - start) & wheelMask);
    return this.earliest;
  }
}

/**
 * A binary min-heap on (time, sequence number), keys in typed arrays beside the items so
 * sifting compares numbers in contiguous memory.
 */
export class HeapQueue<T> {
  private times = new Float64Array(256);
  private seqs = new Float64Array(256);
  private items: (T | undefined)[] = new Array<T | undefined>(256);
  private count = 0;
  private nextSeq = 0;

  get size(): number {
    return this.count;
  }

  peekTimeMs(): number {
    return this.count === 0 ? Infinity : this.times[0]!;
  }

  push(item: T, timeMs: number): void {
    if (this.count === this.times.length) this.grow();
    const { times, seqs, items } = this;
    const seq = this.nextSeq++;
    let i = this.count++;
    // Every queued item has a smaller sequence number, so at an equal time it ranks first.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (times[parent]! <= timeMs) break;
      times[i] = times[parent]!;
      seqs[i] = seqs[parent]!;
      items[i] = items[parent];
      i = parent;
    }
    times[i] = timeMs;
    seqs[i] = seq;
    items[i] = item;
  }

  pop(): T | undefined {
    if (this.count === 0) return undefined;
    const { times, seqs, items } = this;
    const top = items[0];
    const n = --this.count;
    const lastTime = times[n]!;
    const lastSeq = seqs[n]!;
    const last = items[n];
    items[n] = undefined;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      let childTime = times[child]!;
      const right = child + 1;
      if (right < n) {
        const rightTime = times[right]!;
        if (rightTime < childTime || (rightTime === childTime && seqs[right]! < seqs[child]!)) {
          child = right;
          childTime = rightTime;
        }
      }
      if (lastTime < childTime || (lastTime === childTime && lastSeq < seqs[child]!)) break;
      times[i] = childTime;
      seqs[i] = seqs[child]!;
      items[i] = items[child];
      i = child;
    }
    times[i] = lastTime;
    seqs[i] = lastSeq;
    items[i] = last;
    return top;
  }

  private grow(): void {
    const capacity = this.times.length * 2;
    const times = new Float64Array(capacity);
    times.set(this.times);
    const seqs = new Float64Array(capacity);
    seqs.set(this.seqs);
    this.times = times;
    this.seqs = seqs;
    this.items.length = capacity;
  }
}
