import {
  InvalidArgumentError, LimitExceededError, formatAddress,
  type Address, type Clock, type DatagramService, type Env, type LogLevel, type Logger, type TimerHandle, type Transport,
} from '../core/index.ts';
import { HostClock } from './clock.ts';
import type { SimConnection } from './connections.ts';
import { TimerEvent, type InboundEvent } from './events.ts';
import { hostIndexMax } from './network.ts';
import type { SeededRandom } from './random.ts';
import { HostPanicError, type Scheduler } from './scheduler.ts';
import type { Trace } from './trace.ts';

/** What a host's factory receives: the environment the protocol core runs against, plus trace output. */
export interface HostContext extends Env {
  readonly name: string;
  readonly address: Address;
  /** 1 for the first start, incremented by every restart. */
  readonly boot: number;
  /** Records a host output in the trace (an event checkers and the dashboard read). */
  emit(name: string, detail?: unknown): void;
}

export type HostFactory<T = unknown> = (context: HostContext) => T;

/** A host output (`HostContext.emit`) as `onOutput` listeners receive it. */
export interface HostOutput {
  host: string;
  name: string;
  detail: unknown;
  timeMs: number;
}

/**
 * One simulated machine: the process its factory runs, its clock, and what faults did to it.
 * The fields every datagram reads (sender and receiver) come first, so they share a cache
 * line or two.
 */
export class SimHost {
  readonly index: number;
  up = false;
  paused = false;
  /** Inbound messages are handled this much later than they arrive (`slow`); 0 when the host is not slow. */
  slowDelayMs = 0;
  /** When the latest message put back by slowness is handled: later arrivals wait for it, so order is kept. */
  slowLastMs = 0;
  /** Changes on every start and every crash; events and handles of an older epoch are void. */
  epoch = 0;
  /** `transport.datagrams` of the current boot, one hop closer for deliveries. */
  datagrams: DatagramService | undefined = undefined;
  bytesPerMs = Infinity;
  readonly address: Address;
  pausedSinceMs = 0;
  /** Datagrams put back by slowness and not yet handled (at most `slowHeldMax`). */
  slowHeld = 0;
  boot = 0;
  app: unknown = undefined;
  transport: Transport | undefined;
  readonly clock = new HostClock();
  /** What arrived or fell due while the host was paused, in order. */
  readonly deferred: InboundEvent[] = [];
  deferredDatagramBytes = 0;
  egressFreeAtMs = 0;
  readonly connections = new Set<SimConnection>();
  readonly name: string;
  readonly factory: HostFactory;
  constructor(index: number, name: string, address: Address, factory: HostFactory) {
    this.index = index;
    this.address = address;
    this.name = name;
    this.factory = factory;
  }
}

/** Where a host table gets what it cannot make itself. */
export interface HostsOptions {
  readonly port: number;
  readonly captureLogs: LogLevel | false;
  readonly seed: string;
  /** Forks each host's `Random` per boot. */
  readonly random: SeededRandom;
  /** Builds the transport of one boot of a host. */
  readonly transportFor: (host: SimHost, epoch: number) => Transport;
}

const logLevels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/**
 * The host table and each host's lifecycle: registration by name and address, starting a
 * boot (the factory with a fresh context), stopping it, its timers on its own clock, and
 * the outputs it emits.
 */
export class Hosts {
  readonly list: SimHost[] = [];
  private readonly byName = new Map<string, SimHost>();
  /**
   * Hosts by address, in a prototype-less dictionary rather than a `Map`: every send looks
   * its destination up here, and a property lookup turns the (often rebuilt) address
   * string into a reference to the key's own string once, so later lookups compare
   * pointers instead of characters (twice as fast as `Map.get` on a string).
   */
  private readonly byAddress: Record<Address, SimHost | undefined> = Object.create(null) as Record<Address, SimHost | undefined>;
  private readonly outputListeners = new Set<(output: HostOutput) => void>();
  /**
   * Pending timers of every host, by slot (freed slots reused). A handle is `generation ×
   * timerSlotSpan + slot`: the handle of a timer that fired, was cancelled or died with its
   * boot matches nothing, as its slot holds another handle's timer or none. Slots rather
   * than a map per host: a host's map held one or two timers, and emptying and refilling
   * it reallocated its table at nearly every timer set (a third of what a large cluster's
   * steady state allocated).
   */
  private readonly timerSlots: (TimerEvent | undefined)[] = [];
  private readonly timerGenerations: number[] = [];
  private readonly freeTimerSlots: number[] = [];
  private nextTimerOrder = 0;
  /**
   * Timer events that are done, for reuse (see `timer`): the timers pending at once stay
   * the same few thousand objects, warm in the cache, instead of one new object per timer
   * set (nearly two million in a 1 000-member SWIM run of ten minutes).
   */
  private readonly freeTimerEvents: TimerEvent[] = [];

  constructor(private readonly scheduler: Scheduler, private readonly trace: Trace, private readonly options: HostsOptions) {}

  add(name: string, factory: HostFactory): SimHost {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
      throw new InvalidArgumentError(`host name "${name}" must be 1–63 letters, digits, '.', '_' or '-', starting with a letter or digit`);
    }
    if (this.byName.has(name)) throw new InvalidArgumentError(`host "${name}" already exists`);
    if (this.list.length >= hostIndexMax) throw new InvalidArgumentError(`at most ${hostIndexMax} hosts`);
    const host = new SimHost(this.list.length, name, formatAddress(name, this.options.port), factory);
    this.list.push(host);
    this.byName.set(name, host);
    this.byAddress[host.address] = host;
    return host;
  }

  get(name: string): SimHost {
    const host = this.byName.get(name);
    if (host === undefined) throw new InvalidArgumentError(`unknown host "${name}"; hosts: ${this.names().join(', ') || '(none)'}`);
    return host;
  }

  at(address: Address): SimHost | undefined {
    return typeof address === 'string' ? this.byAddress[address] : undefined;
  }

  names(): string[] {
    return this.list.map((h) => h.name);
  }

  /** Starts a new boot of `host`: its factory runs with a fresh context. */
  start(host: SimHost): void {
    host.up = true;
    host.paused = false;
    host.epoch++;
    host.boot++;
    const epoch = host.epoch;
    const transport = this.options.transportFor(host, epoch);
    host.transport = transport;
    host.datagrams = transport.datagrams;
    const context: HostContext = {
      name: host.name,
      address: host.address,
      boot: host.boot,
      clock: new SimClock(this.scheduler, this, host, epoch),
      random: this.options.random.fork(`host/${host.name}/${host.boot}`),
      transport,
      logger: this.loggerFor(host),
      emit: (name, detail) => this.output(host, name, detail),
    };
    try {
      host.app = host.factory(context);
    } catch (error) {
      throw new HostPanicError(host.name, this.scheduler.nowMs, this.options.seed, error);
    }
  }

  /** Ends the current boot: state, timers and buffered input are lost (its connections are the stream network's business). */
  stop(host: SimHost): void {
    host.up = false;
    host.paused = false;
    host.slowDelayMs = 0;
    host.slowLastMs = 0;
    host.slowHeld = 0;
    host.epoch++;
    host.app = undefined;
    host.transport = undefined;
    host.datagrams = undefined;
    for (const timer of this.pendingTimers(host)) {
      timer.cancelled = true;
      this.releaseTimer(timer);
    }
    host.deferred.length = 0;
    host.deferredDatagramBytes = 0;
  }

  onOutput(listener: (output: HostOutput) => void): () => void {
    this.outputListeners.add(listener);
    return () => this.outputListeners.delete(listener);
  }

  output(host: SimHost, name: string, detail: unknown): void {
    const timeMs = this.scheduler.nowMs;
    this.trace.record('output', timeMs, host.index, -1, -1, name, -1, detail);
    for (const listener of this.outputListeners) listener({ host: host.name, name, detail, timeMs });
  }

  setTimer(host: SimHost, epoch: number, delayMs: number, fn: () => void): TimerHandle {
    if (!(delayMs >= 0) || !Number.isFinite(delayMs)) throw new InvalidArgumentError(`timer delay must be finite and ≥ 0, got ${delayMs}`);
    // A boot that ended gets a handle that matches no timer.
    if (host.epoch !== epoch) return -1;
    let slot = this.freeTimerSlots.pop();
    if (slot === undefined) {
      slot = this.timerSlots.length;
      if (slot >= timerSlotSpan) throw new LimitExceededError('pendingTimers', timerSlotSpan, `at most ${timerSlotSpan} timers may be pending at once in a simulation`);
      this.timerSlots.push(undefined);
      this.timerGenerations.push(0);
    }
    const id = ++this.timerGenerations[slot]! * timerSlotSpan + slot;
    const dueLocalMs = host.clock.local(this.scheduler.nowMs) + delayMs;
    const event = this.timer(host, epoch, id, this.nextTimerOrder++, dueLocalMs, fn);
    this.timerSlots[slot] = event;
    this.scheduler.schedule(event, this.simTimeOfLocal(host, dueLocalMs));
    return id;
  }

  cancelTimer(host: SimHost, id: TimerHandle): void {
    const event = this.timerSlots[id % timerSlotSpan];
    if (event === undefined || event.id !== id || event.host !== host) return;
    event.cancelled = true;
    this.releaseTimer(event);
  }

  /** Frees a pending timer's slot (it fired, or was cancelled). */
  private releaseTimer(event: TimerEvent): void {
    const slot = event.id % timerSlotSpan;
    this.timerSlots[slot] = undefined;
    this.freeTimerSlots.push(slot);
  }

  /** `host`'s pending timers, in the order they were set. */
  private pendingTimers(host: SimHost): TimerEvent[] {
    const timers: TimerEvent[] = [];
    for (const timer of this.timerSlots) if (timer !== undefined && timer.host === host) timers.push(timer);
    return timers.sort((a, b) => a.order - b.order);
  }

  fire(event: TimerEvent): void {
    const host = event.host;
    if (event.cancelled || event.epoch !== host.epoch) return this.freeTimer(event);
    if (host.paused) {
      host.deferred.push(event);
      return;
    }
    this.releaseTimer(event);
    this.trace.record('timer', this.scheduler.nowMs, host.index, -1, -1, '', -1);
    event.fn();
    this.freeTimer(event);
  }

  /** A timer event: a done one reused if any is free. */
  private timer(host: SimHost, epoch: number, id: number, order: number, dueLocalMs: number, fn: () => void): TimerEvent {
    const event = this.freeTimerEvents.pop();
    if (event === undefined) return new TimerEvent(host, epoch, id, order, dueLocalMs, fn);
    event.host = host;
    event.epoch = epoch;
    event.id = id;
    event.order = order;
    event.dueLocalMs = dueLocalMs;
    event.fn = fn;
    event.cancelled = false;
    return event;
  }

  /** Keeps a done timer event for reuse (up to a bound), letting go of its callback. */
  private freeTimer(event: TimerEvent): void {
    if (this.freeTimerEvents.length >= freeTimerEventsMax) return;
    event.fn = noTimerFn;
    this.freeTimerEvents.push(event);
  }

  /** Re-times a host's pending timers after its clock changed. */
  retime(host: SimHost): void {
    for (const old of this.pendingTimers(host)) {
      old.cancelled = true;
      const event = this.timer(host, old.epoch, old.id, old.order, old.dueLocalMs, old.fn);
      this.timerSlots[old.id % timerSlotSpan] = event;
      this.scheduler.schedule(event, this.simTimeOfLocal(host, old.dueLocalMs));
    }
  }

  /** Whether an arriving message must wait for its slow host (it has not waited yet, and the host is slow or still working off what it held). */
  mustWait(event: { slowed: boolean }, host: SimHost): boolean {
    return !event.slowed && (host.slowDelayMs > 0 || host.slowLastMs > this.scheduler.nowMs);
  }

  /**
   * Puts an arriving message back until its slow host handles it: `slowDelayMs` after it
   * arrived, and never before a message that arrived earlier (so the host sees them in
   * order, also just after the slowness ended).
   */
  putBack(event: InboundEvent & { slowed: boolean }, host: SimHost): void {
    const nowMs = this.scheduler.nowMs;
    event.slowed = true;
    const atMs = Math.max(nowMs + host.slowDelayMs, host.slowLastMs);
    host.slowLastMs = atMs;
    this.scheduler.schedule(event, atMs);
  }

  /** `putBack` when the message must wait; returns whether it did. */
  putBackIfSlow(event: InboundEvent & { slowed: boolean }, host: SimHost): boolean {
    if (!this.mustWait(event, host)) return false;
    this.putBack(event, host);
    return true;
  }

  /** When a message of `bytes` leaves `host`, behind what its bandwidth still has to send. */
  departureMs(host: SimHost, bytes: number): number {
    const nowMs = this.scheduler.nowMs;
    if (host.bytesPerMs === Infinity) return nowMs;
    const start = Math.max(nowMs, host.egressFreeAtMs);
    host.egressFreeAtMs = start + bytes / host.bytesPerMs;
    return host.egressFreeAtMs;
  }

  /**
   * The first simulated instant at which the host's clock reads at least `localMs`. With a
   * drifting clock the conversion rounds, and a timer that fired a hair early would let a
   * timer table re-arm for the same instant forever; so step up until the clock agrees.
   */
  private simTimeOfLocal(host: SimHost, localMs: number): number {
    let t = Math.max(this.scheduler.nowMs, host.clock.simTimeOf(localMs));
    for (let i = 0; host.clock.local(t) < localMs && i < 64; i++) t += Math.max(1e-9, Math.abs(t) * Number.EPSILON * 4);
    return t;
  }

  private loggerFor(host: SimHost): Logger {
    const threshold = this.options.captureLogs;
    if (threshold === false) return { log() {} };
    const min = logLevels.indexOf(threshold);
    return {
      log: (level, message, fields) => {
        if (logLevels.indexOf(level) >= min) this.output(host, `log:${level}`, { message, ...fields });
      },
    };
  }
}

/** Done timer events kept for reuse at most. */
const freeTimerEventsMax = 16_384;
/** What a free timer event holds instead of the callback it ran (which it must not keep alive). */
const noTimerFn = (): void => {};

/** Slots for pending timers (a handle's low part): at most this many timers pending at once in one simulation. */
export const timerSlotSpan = 1 << 21;

/** A host's `Clock`: its own local time, and timers that die with the boot that set them. */
class SimClock implements Clock {
  constructor(private readonly scheduler: Scheduler, private readonly hosts: Hosts, private readonly host: SimHost, private readonly epoch: number) {}
  now(): number {
    return this.host.clock.local(this.scheduler.nowMs);
  }
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    return this.hosts.setTimer(this.host, this.epoch, delayMs, fn);
  }
  cancelTimer(handle: TimerHandle): void {
    this.hosts.cancelTimer(this.host, handle);
  }
}
