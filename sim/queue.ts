/**
 * The simulator's event queue, ordered by (time, sequence number): the sequence number
 * breaks ties, so items queued for the same instant come out in the order they were
 * queued, on every machine.
 *
 * It is a calendar queue (Brown, 1988) of two wheels in front of a heap, as a hierarchical
 * timing wheel (Varghese and Lauck, 1987). Most events of a run are due within
 * milliseconds (latencies): a fine wheel of `wheelBuckets` buckets of `1 / bucketsPerMs` ms
 * each holds everything due within its horizon, a push filing the item into the bucket of
 * its time (each bucket a sorted list of a node or two, new items nearly always at its end)
 * and a pop taking the head of the earliest non-empty bucket, both in constant time, with
 * no allocation (the nodes are typed arrays, recycled). Most timers are due within a
 * second or two: a coarse wheel of `coarseBuckets` buckets of a millisecond holds them,
 * each bucket a list in arrival order, and a bucket moves onto the fine wheel (each item
 * filed by its time) once the fine wheel's horizon covers it. What is due beyond the
 * coarse wheel waits in a heap and moves onto the coarse wheel as it turns. The bucket
 * widths only change how fast the queue is, never the order.
 *
 * The order at equal times holds because an item never overtakes an earlier one due at
 * the same instant: an item goes to the fine wheel only below `fineLimit` (where the
 * coarse buckets already moved end) and to the coarse wheel only below `coarseLimit`
 * (where the heap's items already moved end), and both limits only grow. So every item
 * of an instant that waits further out was queued before any of that instant nearer in,
 * and it moves in before them.
 */

/**
 * The wheels' shape: fine buckets per simulated millisecond (a power of two, so `time ×
 * bucketsPerMs` is exact), buckets on the fine wheel (a power of two, at least 32: one
 * bitmap word), fine buckets per coarse bucket (a power of two, at most the fine wheel's
 * buckets) and buckets on the coarse wheel (a power of two, at least 32). Only tests
 * change it (small wheels make every horizon's edge common).
 */
export interface WheelShape {
  readonly bucketsPerMs: number;
  readonly wheelBuckets: number;
  readonly coarseWidth: number;
  readonly coarseBuckets: number;
}

/**
 * A fine bucket of 1/1024 ms and a horizon of 16 ms; a coarse bucket of a millisecond and
 * a horizon of about two seconds (past a LAN's probe period and timeouts).
 */
const defaultShape: WheelShape = { bucketsPerMs: 1024, wheelBuckets: 1 << 14, coarseWidth: 1 << 10, coarseBuckets: 1 << 11 };

export class EventQueue<T> {
  /**
   * The items of both wheels live in nodes (struct of arrays, recycled through a free
   * list). Each fine bucket is a list of nodes sorted by (time, sequence number), from
   * `heads` to `tails` (-1: empty); buckets are narrow enough to hold an item or two, so
   * filing one is nearly always an append and nothing is allocated per item. Each coarse
   * bucket is a list in arrival order, from `coarseHeads` to `coarseTails`.
   */
  private readonly heads: Int32Array;
  private readonly tails: Int32Array;
  private readonly coarseHeads: Int32Array;
  private readonly coarseTails: Int32Array;
  private nodeTimes = new Float64Array(1024);
  private nodeNext = new Int32Array(1024);
  private readonly nodeItems: (T | undefined)[] = new Array<T | undefined>(1024).fill(undefined);
  /** The first free node (linked through `nodeNext`); -1 when every node is in use. */
  private free = -1;
  /** Nodes ever used: those from `used` on have never been linked. */
  private used = 0;
  /** One bit per fine bucket: set while it holds items. */
  private readonly occupied: Int32Array;
  /** One bit per coarse bucket: set while it holds items. */
  private readonly coarseOccupied: Int32Array;
  /** The absolute fine bucket number (`floor(time × bucketsPerMs)`) of the last item taken: every item on the fine wheel is in [cursor, fineLimit). */
  private cursor = 0;
  /**
   * Where the coarse buckets moved onto the fine wheel end (a fine bucket number, a
   * multiple of `coarseWidth`, at most `cursor + wheelBuckets`): the coarse wheel holds
   * the items in [fineLimit, coarseLimit × coarseWidth).
   */
  private fineLimit: number;
  private onWheel = 0;
  private onCoarse = 0;
  /** The absolute number of the earliest non-empty fine bucket, once found; -1 when not known. */
  private earliest = -1;
  /** Items due beyond the coarse wheel's horizon. */
  private readonly later = new HeapQueue<T>();
  /** The time of the item `popDue` took last. */
  takenMs = 0;
  private readonly bucketsPerMs: number;
  private readonly wheelBuckets: number;
  private readonly wheelMask: number;
  private readonly coarseWidth: number;
  private readonly coarseBuckets: number;
  private readonly coarseMask: number;

  constructor(shape: WheelShape = defaultShape) {
    const { bucketsPerMs, wheelBuckets, coarseWidth, coarseBuckets } = shape;
    const powerOfTwo = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
    if (!powerOfTwo(bucketsPerMs) || !powerOfTwo(wheelBuckets) || !powerOfTwo(coarseWidth) || !powerOfTwo(coarseBuckets)
      || wheelBuckets < 32 || coarseBuckets < 32 || coarseWidth > wheelBuckets || wheelBuckets > 1 << 30 || coarseBuckets > 1 << 30) {
      throw new Error(`event queue: unusable wheel shape ${JSON.stringify(shape)}`);
    }
    this.bucketsPerMs = bucketsPerMs;
    this.wheelBuckets = wheelBuckets;
    this.wheelMask = wheelBuckets - 1;
    this.coarseWidth = coarseWidth;
    this.coarseBuckets = coarseBuckets;
    this.coarseMask = coarseBuckets - 1;
    this.heads = new Int32Array(wheelBuckets).fill(-1);
    this.tails = new Int32Array(wheelBuckets).fill(-1);
    this.coarseHeads = new Int32Array(coarseBuckets).fill(-1);
    this.coarseTails = new Int32Array(coarseBuckets).fill(-1);
    this.occupied = new Int32Array(wheelBuckets >> 5);
    this.coarseOccupied = new Int32Array(coarseBuckets >> 5);
    this.fineLimit = wheelBuckets;
  }

  get size(): number {
    return this.onWheel + this.onCoarse + this.later.size;
  }

  /** Where the items of the heap moved onto the coarse wheel end (a coarse bucket number). */
  private get coarseLimit(): number {
    return this.fineLimit / this.coarseWidth + this.coarseBuckets;
  }

  /** The time of the earliest item; Infinity when the queue is empty. */
  peekTimeMs(): number {
    if (this.onWheel !== 0) return this.nodeTimes[this.heads[this.findEarliest() & this.wheelMask]!]!;
    if (this.onCoarse !== 0) return this.coarseEarliestTimeMs();
    return this.later.peekTimeMs();
  }

  /** Whether the earliest item is due by `untilMs` (before it when `exclusive`). */
  hasDue(untilMs: number, exclusive: boolean): boolean {
    if (this.size === 0) return false;
    const timeMs = this.peekTimeMs();
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
      if (this.size === 0) return undefined;
      const timeMs = this.peekTimeMs();
      if (timeMs > untilMs || (exclusive && timeMs === untilMs)) return undefined;
      this.takenMs = timeMs;
      return this.pop();
    }
    const number = this.findEarliest();
    const index = number & this.wheelMask;
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
    const number = Math.floor(timeMs * this.bucketsPerMs);
    if (number < this.fineLimit) {
      if (number < this.cursor) throw new Error(`event queue: an item at ${timeMs} ms is before the last one taken`);
      this.file(number, this.newNode(item, timeMs), timeMs);
      return;
    }
    const coarse = Math.floor(number / this.coarseWidth);
    if (!(coarse < this.coarseLimit)) return this.later.push(item, timeMs);
    this.append(coarse, this.newNode(item, timeMs));
  }

  /** Removes and returns the earliest item. */
  pop(): T | undefined {
    if (this.onWheel === 0) {
      if (this.onCoarse !== 0) this.turnTo(this.coarseEarliest() * this.coarseWidth);
      else {
        if (this.later.size === 0) return undefined;
        const number = Math.floor(this.later.peekTimeMs() * this.bucketsPerMs);
        // Beyond any wheel (an action at Infinity): straight from the heap.
        if (!Number.isFinite(number)) return this.later.pop();
        this.turnTo(number);
      }
    }
    const number = this.findEarliest();
    if (number !== this.cursor) this.turnTo(number);
    const index = number & this.wheelMask;
    return this.take(index, this.heads[index]!);
  }

  /** A node holding `item` at `timeMs`, not linked anywhere yet. */
  private newNode(item: T, timeMs: number): number {
    let node = this.free;
    if (node !== -1) this.free = this.nodeNext[node]!;
    else {
      if (this.used === this.nodeTimes.length) this.grow();
      node = this.used++;
    }
    this.nodeTimes[node] = timeMs;
    this.nodeItems[node] = item;
    return node;
  }

  /** Unlinks `node`, the head of fine bucket `index`, frees it and returns its item. */
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

  /** Links `node` (due at `timeMs`) into fine bucket `number`, behind every node of that bucket due no later. */
  private file(number: number, node: number, timeMs: number): void {
    const index = number & this.wheelMask;
    const times = this.nodeTimes;
    const next = this.nodeNext;
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

  /** Links `node` at the end of coarse bucket `coarse` (an absolute coarse bucket number). */
  private append(coarse: number, node: number): void {
    const index = coarse & this.coarseMask;
    this.nodeNext[node] = -1;
    const tail = this.coarseTails[index]!;
    if (tail === -1) {
      this.coarseHeads[index] = node;
      this.coarseOccupied[index >> 5]! |= 1 << (index & 31);
    } else this.nodeNext[tail] = node;
    this.coarseTails[index] = node;
    this.onCoarse++;
  }

  private grow(): void {
    const capacity = this.nodeTimes.length * 2;
    this.nodeTimes = grown(this.nodeTimes, capacity);
    this.nodeNext = grown(this.nodeNext, capacity);
    const items = this.nodeItems;
    for (let i = items.length; i < capacity; i++) items.push(undefined);
  }

  /**
   * Moves the cursor to fine bucket `number`, and brings onto the fine wheel the coarse
   * buckets now within its horizon (in order, each item filed by its time), and onto the
   * coarse wheel what the heap holds within its own.
   */
  private turnTo(number: number): void {
    this.cursor = number;
    const horizon = number + this.wheelBuckets;
    while (this.fineLimit + this.coarseWidth <= horizon) {
      const coarse = this.fineLimit / this.coarseWidth;
      if (this.onCoarse === 0) {
        // Nothing on the coarse wheel: skip to the heap's first bucket (or as far as the horizon goes).
        const heapNumber = this.later.size === 0 ? Infinity : this.coarseOf(this.later.peekTimeMs());
        const skipTo = Math.min(heapNumber, Math.floor(horizon / this.coarseWidth));
        if (skipTo > coarse) {
          this.fineLimit = skipTo * this.coarseWidth;
          this.fillCoarse();
          continue;
        }
      }
      this.moveCoarse(coarse);
      this.fineLimit += this.coarseWidth;
      this.fillCoarse();
    }
  }

  /** Files every item of coarse bucket `coarse` onto the fine wheel, in arrival order. */
  private moveCoarse(coarse: number): void {
    const index = coarse & this.coarseMask;
    let node = this.coarseHeads[index]!;
    if (node === -1) return;
    this.coarseHeads[index] = -1;
    this.coarseTails[index] = -1;
    this.coarseOccupied[index >> 5]! &= ~(1 << (index & 31));
    const times = this.nodeTimes;
    const next = this.nodeNext;
    while (node !== -1) {
      const following = next[node]!;
      const timeMs = times[node]!;
      this.file(Math.floor(timeMs * this.bucketsPerMs), node, timeMs);
      this.onCoarse--;
      node = following;
    }
  }

  /** Brings onto the coarse wheel, in order, what the heap holds within its horizon. */
  private fillCoarse(): void {
    const later = this.later;
    const limit = this.coarseLimit;
    while (later.size > 0) {
      const timeMs = later.peekTimeMs();
      const coarse = this.coarseOf(timeMs);
      if (!(coarse < limit)) return;
      this.append(coarse, this.newNode(later.pop()!, timeMs));
    }
  }

  /** The absolute coarse bucket number of an item due at `timeMs`. */
  private coarseOf(timeMs: number): number {
    return Math.floor(Math.floor(timeMs * this.bucketsPerMs) / this.coarseWidth);
  }

  /** The absolute number of the earliest non-empty fine bucket (the fine wheel must hold items). */
  private findEarliest(): number {
    if (this.earliest !== -1) return this.earliest;
    this.earliest = this.cursor + firstOccupied(this.occupied, this.cursor & this.wheelMask, this.wheelMask, 'fine');
    return this.earliest;
  }

  /** The absolute number of the earliest non-empty coarse bucket (the coarse wheel must hold items). */
  private coarseEarliest(): number {
    const first = this.fineLimit / this.coarseWidth;
    return first + firstOccupied(this.coarseOccupied, first & this.coarseMask, this.coarseMask, 'coarse');
  }

  /** The time of the earliest item on the coarse wheel (the fine wheel being empty, the earliest of all). */
  private coarseEarliestTimeMs(): number {
    let node = this.coarseHeads[this.coarseEarliest() & this.coarseMask]!;
    let min = Infinity;
    const times = this.nodeTimes;
    while (node !== -1) {
      if (times[node]! < min) min = times[node]!;
      node = this.nodeNext[node]!;
    }
    return min;
  }
}

/**
 * How far past bucket index `start` (wrapping, `mask` + 1 buckets) the first bucket whose
 * bit is set in `bitmap` lies. Bounded: a wheel without items (a broken invariant) fails
 * here instead of spinning.
 */
function firstOccupied(bitmap: Int32Array, start: number, mask: number, wheel: string): number {
  let word = start >> 5;
  let bits = bitmap[word]! & (-1 << (start & 31));
  for (let words = bitmap.length; bits === 0; words--) {
    if (words < 0) throw new Error(`event queue: the ${wheel} wheel holds no item`);
    word = (word + 1) & (mask >> 5);
    bits = bitmap[word]!;
  }
  const index = (word << 5) + (31 - Math.clz32(bits & -bits));
  return (index - start) & mask;
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
