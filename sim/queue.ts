/**
 * The simulator's event queue, ordered by (time, sequence number): the sequence number
 * breaks ties, so items queued for the same instant come out in the order they were
 * queued, on every machine.
 *
 * It is a calendar queue (Brown, 1988) in front of a heap. Most events of a run are due
 * within milliseconds (latencies), so a wheel of `wheelBuckets` buckets of `1 /
 * bucketsPerMs` ms each holds everything due within its horizon: a push files the item
 * into the bucket of its time (each bucket a sorted list of a node or two, new items nearly
 * always at its end) and a pop takes the head of the earliest non-empty bucket, both in
 * constant time, with no allocation (the nodes are typed arrays, recycled). What is
 * due beyond the horizon (most timers) waits in a heap and moves onto the wheel as the
 * wheel turns. The bucket width only changes how fast the queue is, never the order.
 */

/** Buckets per simulated millisecond (a power of two, so `time × bucketsPerMs` is exact). */
const bucketsPerMs = 1024;
/** Buckets on the wheel (a power of two, at least 32: one bitmap word): with `bucketsPerMs`, a horizon of 16 ms. */
const wheelBuckets = 1 << 14;
const wheelMask = wheelBuckets - 1;

export class EventQueue<T> {
  /**
   * The wheel's items live in nodes (struct of arrays, recycled through a free list): each
   * bucket is a list of nodes sorted by (time, sequence number), from `heads` to `tails`
   * (-1: empty). Buckets are narrow enough to hold an item or two, so filing one is
   * nearly always an append and nothing is allocated per item.
   */
  private readonly heads = new Int32Array(wheelBuckets).fill(-1);
  private readonly tails = new Int32Array(wheelBuckets).fill(-1);
  private nodeTimes = new Float64Array(1024);
  private nodeNext = new Int32Array(1024);
  private readonly nodeItems: (T | undefined)[] = new Array<T | undefined>(1024).fill(undefined);
  /** The first free node (linked through `nodeNext`); -1 when every node is in use. */
  private free = -1;
  /** Nodes ever used: those from `used` on have never been linked. */
  private used = 0;
  /** One bit per bucket: set while it holds items. */
  private readonly occupied = new Int32Array(wheelBuckets >> 5);
  /** The absolute bucket number (`floor(time × bucketsPerMs)`) of the last item taken: every item on the wheel is in [cursor, cursor + wheelBuckets). */
  private cursor = 0;
  private onWheel = 0;
  /** The absolute number of the earliest non-empty bucket, once found; -1 when not known. */
  private earliest = -1;
  /** Items due beyond the wheel's horizon. */
  private readonly later = new HeapQueue<T>();
  /** The time of the item `popDue` took last. */
  takenMs = 0;

  get size(): number {
    return this.onWheel + this.later.size;
  }

  /** The time of the earliest item; Infinity when the queue is empty. */
  peekTimeMs(): number {
    if (this.onWheel === 0) return this.later.peekTimeMs();
    return this.nodeTimes[this.heads[this.findEarliest() & wheelMask]!]!;
  }

  /** Whether the earliest item is due by `untilMs` (before it when `exclusive`). */
  hasDue(untilMs: number, exclusive: boolean): boolean {
    let timeMs: number;
    if (this.onWheel !== 0) timeMs = this.nodeTimes[this.heads[this.findEarliest() & wheelMask]!]!;
    else if (this.later.size !== 0) timeMs = this.later.peekTimeMs();
    else return false;
    return !(timeMs > untilMs || (exclusive && timeMs === untilMs));
  }

  /**
   * `pop` if the earliest item is due by `untilMs` (before it when `exclusive`), its time
   * then in `takenMs`; undefined, taking nothing, otherwise. (One call where a caller
   * would make three, and no time returned: a number returned from a call the compiler
   * does not inline is a heap allocation.)
   */
  popDue(untilMs: number, exclusive: boolean): T | undefined {
    if (this.onWheel === 0) {
      const timeMs = this.later.peekTimeMs();
      if (this.later.size === 0 || timeMs > untilMs || (exclusive && timeMs === untilMs)) return undefined;
      this.takenMs = timeMs;
      return this.pop();
    }
    const number = this.findEarliest();
    const index = number & wheelMask;
    const node = this.heads[index]!;
    const timeMs = this.nodeTimes[node]!;
    if (timeMs > untilMs || (exclusive && timeMs === untilMs)) return undefined;
    // Turning the wheel files nothing into this bucket: what it brings on is due later.
    if (number !== this.cursor) this.turnTo(number);
    this.takenMs = timeMs;
    return this.take(index, node);
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
    return this.take(index, this.heads[index]!);
  }

  /** Unlinks `node`, the head of bucket `index`, frees it and returns its item. */
  private take(index: number, node: number): T | undefined {
    const items = this.nodeItems;
    const item = items[node];
    items[node] = undefined;
    const next = this.nodeNext[node]!;
    this.nodeNext[node] = this.free;
    this.free = node;
    this.onWheel--;
    this.heads[index] = next;
    if (next === -1) {
      this.tails[index] = -1;
      this.occupied[index >> 5]! &= ~(1 << (index & 31));
      this.earliest = -1;
    }
    return item;
  }

  /** Puts an item into its bucket, behind every item of that bucket due no later. */
  private file(number: number, item: T, timeMs: number): void {
    const index = number & wheelMask;
    let node = this.free;
    if (node !== -1) this.free = this.nodeNext[node]!;
    else {
      if (this.used === this.nodeTimes.length) this.grow();
      node = this.used++;
    }
    const times = this.nodeTimes;
    const next = this.nodeNext;
    times[node] = timeMs;
    this.nodeItems[node] = item;
    const tail = this.tails[index]!;
    if (tail === -1) {
      next[node] = -1;
      this.heads[index] = node;
      this.tails[index] = node;
      this.occupied[index >> 5]! |= 1 << (index & 31);
    } else if (times[tail]! <= timeMs) {
      next[node] = -1;
      next[tail] = node;
      this.tails[index] = node;
    } else {
      // Before the tail: after every node due no later (the tail is due later, so the walk stops).
      let previous = -1;
      let at = this.heads[index]!;
      while (times[at]! <= timeMs) {
        previous = at;
        at = next[at]!;
      }
      next[node] = at;
      if (previous === -1) this.heads[index] = node;
      else next[previous] = node;
    }
    this.onWheel++;
    if (this.earliest !== -1 && number < this.earliest) this.earliest = number;
  }

  private grow(): void {
    const capacity = this.nodeTimes.length * 2;
    this.nodeTimes = grown(this.nodeTimes, capacity);
    this.nodeNext = grown(this.nodeNext, capacity);
    const items = this.nodeItems;
    for (let i = items.length; i < capacity; i++) items.push(undefined);
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
    this.times = grown(this.times, capacity);
    this.seqs = grown(this.seqs, capacity);
    this.items.length = capacity;
  }
}

/** A copy of `array` with room for `capacity` entries (the queue's arrays only grow). */
function grown<A extends Float64Array | Int32Array>(array: A, capacity: number): A {
  const copy = new (array.constructor as new (length: number) => A)(capacity);
  copy.set(array);
  return copy;
}
