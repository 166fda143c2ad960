import type { Address } from '../core/index.ts';
import type { SimConnection } from './connections.ts';
import type { SimHost } from './hosts.ts';
import type { Segment } from './streams.ts';

/**
 * What the event queue holds: one small class per kind, told apart by `kind` (a closed
 * vocabulary with one exhaustive dispatcher, `Simulation`'s). Each carries only its own
 * fields, so the hot kinds (datagrams, segments, timers) stay small objects.
 */
export type SimEvent = ActionEvent | TimerEvent | DatagramEvent | SegmentEvent | CheckEvent;

/** The kinds that wait in a paused host's `deferred` list until it resumes. */
export type InboundEvent = TimerEvent | DatagramEvent | SegmentEvent;

/** A simulator action (`at`, `after`): a fault schedule step, a workload step. */
export class ActionEvent {
  readonly kind = 'action';
  constructor(readonly fn: () => void) {}
}

/** A host's timer. Void once cancelled or once its host crashed or restarted (another epoch). */
export class TimerEvent {
  readonly kind = 'timer';
  cancelled = false;
  /**
   * Its fields are writable because `Hosts` reuses the event of a timer that is done (it
   * fired, or was void when its time came) for a later one. The rule that makes this safe:
   * an event is freed only when the queue has handed it out and nothing else holds it (a
   * paused host's deferred timer is not done yet).
   */
  constructor(
    public host: SimHost,
    public epoch: number,
    /** The `TimerHandle` the host was given (see `Hosts.setTimer`). */
    public id: number,
    /** When it was set, among every timer of the run (a re-timed timer keeps its place). */
    public order: number,
    /** When the host's own clock says it is due (re-timed when that clock is skewed or drifts). */
    public dueLocalMs: number,
    public fn: () => void,
  ) {}
}

/**
 * A datagram arriving at `to`. Its fields are writable because `DatagramNetwork` reuses
 * the event of a delivered datagram for a later send. The rule that makes this safe: once
 * `DatagramNetwork.deliver` has handed a datagram to its host on the fast path, nothing may
 * keep its event (held, deferred and put-back events take the checked path and are never
 * freed).
 */
export class DatagramEvent {
  readonly kind = 'datagram';
  /** Already put back once by its slow receiver (see `Simulation.slow`). */
  slowed = false;
  /** The receiver's epoch when it put the datagram back: a process started since never received it. */
  slowedEpoch = -1;
  /** Counted in its receiver's `slowHeld` until it comes due (then, if the host is paused, it waits as a deferred datagram, no longer held). */
  slowHeldCounted = false;
  /** `data.length`, kept here so that a delivery need not touch the payload. */
  bytes: number;
  /** The sender's index and address, kept here so that a delivery need not touch the sender. */
  fromIndex: number;
  fromAddress: Address;
  constructor(
    public to: SimHost,
    from: SimHost,
    public data: Uint8Array,
    /** The `msg` of its send entry in the trace. */
    public msg: number,
  ) {
    this.bytes = data.length;
    this.fromIndex = from.index;
    this.fromAddress = from.address;
  }
}

/** A stream segment arriving at one side of a connection, or a local failure of that side (`msg` -1). */
export class SegmentEvent {
  readonly kind = 'segment';
  /** Already put back once by its slow receiver (see `Simulation.slow`). */
  slowed = false;
  constructor(
    readonly conn: SimConnection,
    /** The receiving side. */
    readonly side: 0 | 1,
    readonly seg: Segment,
    /** The `msg` of its send entry in the trace; -1 for a local failure, which was never sent. */
    readonly msg: number,
  ) {}

  get host(): SimHost {
    return this.conn.hosts[this.side];
  }
}

/** A look at a connection's path: has the connect or idle timeout run out? */
export class CheckEvent {
  readonly kind = 'check';
  constructor(readonly conn: SimConnection, readonly atMs: number) {}
}

/** The host whose code an event runs, for naming it when that code throws. */
export function eventHost(event: SimEvent): SimHost | undefined {
  switch (event.kind) {
    case 'timer': return event.host;
    case 'datagram': return event.to;
    case 'segment': return event.host;
    case 'action':
    case 'check': return undefined;
  }
}
