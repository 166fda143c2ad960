import {
  ConfigError, ConnectTimeoutError, ConnectionLostError, ConnectionRefusedError, ConnectionResetError,
  DatagramTooLargeError, InvalidArgumentError, ShoalError, chance, connectTimeoutMsDefault, datagramBytesMaxDefault, formatAddress, parseAddress, streamBufferBytesMaxDefault,
  type Address, type Clock, type Connection, type DatagramService, type Env, type LogLevel, type Logger,
  type StreamService, type TimerHandle, type Transport, type TransportError,
} from '../core/index.ts';
import { HostClock } from './clock.ts';
import { Network, hostIndexMax, type LinkModel, type LinkState } from './network.ts';
import { EventQueue } from './queue.ts';
import { SeededRandom } from './random.ts';
import { EventLimitError, RunBudget, RunLimitError, WallTimeoutError, type RunLimits } from './run-limits.ts';
import { ConnectionEnd, Seg, checkBacklog, segLabels, segment, type Segment, type StreamFabric } from './streams.ts';
import { Trace, type DropReason, type TraceEntry, type TraceOptions } from './trace.ts';

export interface SimulationOptions {
  /** The one seed every random decision of the run derives from. */
  seed: number | string;
  /** The default model of every link direction. */
  network?: Partial<LinkModel>;
  /** The port of every host's address (`name:port`). @default 7946 */
  port?: number;
  /** Largest datagram payload. @default 1313 (`datagramBytesMaxDefault`: a real node's sealed gossip datagram) */
  maxDatagramBytes?: number;
  /**
   * A connection fails with `ConnectionLostError` once nothing could cross its path for this
   * long (a dead peer, a cut path, a peer paused this long). @default 10_000
   */
  idleTimeoutMs?: number;
  /** A connection that is not accepted within this long fails with `ConnectTimeoutError`. @default 5_000 (`connectTimeoutMsDefault`, as a real node's) */
  connectTimeoutMs?: number;
  /** Streams open at once per connection (QUIC's stream credit). @default 1024 */
  maxStreamsPerConnection?: number;
  /** Bytes a paused host buffers for arriving datagrams before it drops them (Linux's default rmem). @default 212_992 */
  socketBufferBytes?: number;
  /** Messages a held link direction keeps before it drops new ones. @default 10_000 */
  heldMessagesMax?: number;
  /** Bytes a connection may queue behind a cut path before writes throw. @default 4 MiB (`streamBufferBytesMaxDefault`, a real stream's bound) */
  connectionBufferBytesMax?: number;
  /** Split stream writes into random pieces on delivery, to exercise decoders. @default false */
  streamChunking?: boolean;
  trace?: TraceOptions;
  /** The command that reproduces this run, quoted when a run limit stops it. @default `npx shoal run --seed <seed>` */
  reproduce?: string;
  /** Log records at or above this level become `output` trace entries. @default false (logs are dropped) */
  captureLogs?: LogLevel | false;
}

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

/** A message waiting on a held link direction. */
export interface HeldMessage {
  readonly from: string;
  readonly to: string;
  readonly bytes: number;
  readonly sentAtMs: number;
  readonly channel: string;
}

/** An error thrown by host code during the run, wrapped with where and when it happened. */
export class HostPanicError extends ShoalError {
  override readonly code = 'HOST_PANIC';
  constructor(readonly host: string, readonly timeMs: number, readonly seed: string, cause: unknown) {
    super(`host ${host} threw at t=${timeMs.toFixed(3)}ms (seed ${seed}): ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

export interface RunOptions extends RunLimits {
  /**
   * Run only the events before `timeMs`, leaving those of `timeMs` itself queued, then
   * set the time to `timeMs`. What a caller does next happens before every event of that
   * instant, exactly as an action scheduled in advance with `at(timeMs)` would.
   * @default false
   */
  exclusive?: boolean;
}

const Kind = { Timer: 1, Datagram: 2, Segment: 3, Action: 4, Check: 5 } as const;

class SimEvent {
  timeMs = 0;
  seq = 0;
  cancelled = false;
  /** An inbound message already put back by its slow receiver (see `slow`). */
  slowed = false;
  constructor(
    readonly kind: number,
    readonly host: SimHost | null,
    readonly epoch: number,
    readonly fn: (() => void) | null,
    /** Datagrams: sender index; segments: receiving side; timers: local due time. */
    readonly a: number,
    readonly data: Uint8Array | null,
    readonly conn: SimConnection | null,
    readonly seg: Segment | null,
    readonly msg: number,
  ) {}
}

class SimHost {
  up = false;
  paused = false;
  pausedSinceMs = 0;
  /** Inbound messages are handled this much later than they arrive (`slow`); 0 when the host is not slow. */
  slowDelayMs = 0;
  /** When the latest message put back by slowness is handled: later arrivals wait for it, so order is kept. */
  slowLastMs = 0;
  /** Changes on every start and every crash; events and handles of an older epoch are void. */
  epoch = 0;
  boot = 0;
  app: unknown = undefined;
  transport: SimTransport | undefined;
  readonly clock = new HostClock();
  readonly timers = new Map<number, SimEvent>();
  readonly deferred: SimEvent[] = [];
  deferredDatagramBytes = 0;
  egressFreeAtMs = 0;
  bytesPerMs = Infinity;
  readonly connections = new Set<SimConnection>();
  constructor(readonly index: number, readonly name: string, readonly address: Address, readonly factory: HostFactory) {}
}

class Pipe {
  lastDeliverAtMs = 0;
  readonly backlog: Segment[] = [];
  backlogBytes = 0;
}

/** The shared record of one connection: its two ends and the two directions of its path. */
class SimConnection {
  readonly ends: [ConnectionEnd | undefined, ConnectionEnd | undefined] = [undefined, undefined];
  readonly epochs: [number, number];
  readonly pipes: [Pipe, Pipe] = [new Pipe(), new Pipe()];
  /** When each side's host instance went away (crash or restart). */
  readonly goneAtMs: [number | undefined, number | undefined] = [undefined, undefined];
  established = false;
  checkAtMs = Infinity;
  resetSent = false;
  constructor(readonly hosts: [SimHost, SimHost], epoch0: number, readonly connectDeadlineMs: number) {
    this.epochs = [epoch0, -1];
  }
  get live(): boolean {
    return this.ends.some((end) => end !== undefined && end.state !== 'closed');
  }
}

/**
 * The deterministic simulator: virtual time, an event queue, hosts built by factories,
 * a network model per link direction, and faults. Nothing sleeps; time jumps to the next
 * event. Every decision comes from the one seed.
 *
 * Drive it with `run*` (synchronous: for callback-style code) or `run*Async`, which lets
 * promise continuations run before time moves on; use the async form whenever host code
 * awaits promises.
 */
export class Simulation {
  readonly seed: string;
  readonly trace: Trace;
  readonly network: Network;
  readonly options: Readonly<Required<Omit<SimulationOptions, 'network' | 'trace' | 'seed' | 'reproduce'>>>;
  /** The command that reproduces this run. */
  readonly reproduce: string;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly root: SeededRandom;
  private readonly netRandom: SeededRandom;
  private readonly hostList: SimHost[] = [];
  private readonly byName = new Map<string, SimHost>();
  private readonly byAddress = new Map<Address, SimHost>();
  private readonly connections = new Set<SimConnection>();
  private readonly heldMessages = new Map<number, { event: SimEvent; to: SimHost; sentAtMs: number }[]>();
  private readonly outputListeners = new Set<(entry: { host: string; name: string; detail: unknown; timeMs: number }) => void>();
  private readonly fabric: StreamFabric;
  private nowMsValue = 0;
  private nextTimerId = 1;
  private nextMsg = 0;
  /** Events processed so far. */
  eventCount = 0;

  constructor(options: SimulationOptions) {
    if (typeof options.seed !== 'number' && typeof options.seed !== 'string') {
      throw new ConfigError('seed', 'must be a number or a string');
    }
    if (typeof options.seed === 'number' && !Number.isSafeInteger(options.seed)) {
      throw new ConfigError('seed', `must be a safe integer, got ${options.seed}`);
    }
    this.seed = String(options.seed);
    this.reproduce = options.reproduce ?? `npx shoal run --seed ${this.seed}`;
    this.options = {
      port: options.port ?? 7946,
      maxDatagramBytes: positiveInt('maxDatagramBytes', options.maxDatagramBytes ?? datagramBytesMaxDefault),
      idleTimeoutMs: positiveNumber('idleTimeoutMs', options.idleTimeoutMs ?? 10_000),
      connectTimeoutMs: positiveNumber('connectTimeoutMs', options.connectTimeoutMs ?? connectTimeoutMsDefault),
      maxStreamsPerConnection: positiveInt('maxStreamsPerConnection', options.maxStreamsPerConnection ?? 1024),
      socketBufferBytes: positiveInt('socketBufferBytes', options.socketBufferBytes ?? 212_992),
      heldMessagesMax: positiveInt('heldMessagesMax', options.heldMessagesMax ?? 10_000),
      connectionBufferBytesMax: positiveInt('connectionBufferBytesMax', options.connectionBufferBytesMax ?? streamBufferBytesMaxDefault),
      streamChunking: options.streamChunking ?? false,
      captureLogs: options.captureLogs ?? false,
    };
    this.root = new SeededRandom(this.seed);
    this.netRandom = this.root.fork('network');
    this.network = new Network(options.network);
    this.trace = new Trace((i) => (i >= 0 ? this.hostList[i]?.name ?? '?' : '-'), options.trace);
    this.fabric = {
      maxStreams: this.options.maxStreamsPerConnection,
      send: (end, seg) => this.sendSegment(end.link as SimConnection, end.side, seg),
      ended: (end) => this.connectionEnded(end),
    };
  }

  /** Current simulated time in milliseconds. */
  get nowMs(): number {
    return this.nowMsValue;
  }

  /** Events waiting in the queue. */
  get pendingEvents(): number {
    return this.queue.size;
  }

  // ---------------------------------------------------------------- hosts

  /** Registers a host and starts it now. The factory runs again on every restart. */
  host<T>(name: string, factory: HostFactory<T>): Address {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
      throw new InvalidArgumentError(`host name "${name}" must be 1–63 letters, digits, '.', '_' or '-', starting with a letter or digit`);
    }
    if (this.byName.has(name)) throw new InvalidArgumentError(`host "${name}" already exists`);
    if (this.hostList.length >= hostIndexMax) throw new InvalidArgumentError(`at most ${hostIndexMax} hosts`);
    const host = new SimHost(this.hostList.length, name, formatAddress(name, this.options.port), factory as HostFactory);
    this.hostList.push(host);
    this.byName.set(name, host);
    this.byAddress.set(host.address, host);
    this.start(host);
    return host.address;
  }

  hostNames(): string[] {
    return this.hostList.map((h) => h.name);
  }

  address(name: string): Address {
    return this.get(name).address;
  }

  /** The host whose address is `address`, if any. */
  hostAt(address: Address): string | undefined {
    return this.byAddress.get(address)?.name;
  }

  /** The object the host's factory returned at its latest start, or undefined while down. */
  app<T = unknown>(name: string): T | undefined {
    const host = this.get(name);
    return host.up ? (host.app as T) : undefined;
  }

  isUp(name: string): boolean {
    return this.get(name).up;
  }

  isPaused(name: string): boolean {
    return this.get(name).paused;
  }

  /** The host's local clock reading now. */
  localTimeMs(name: string): number {
    return this.get(name).clock.local(this.nowMsValue);
  }

  /** Subscribes to host outputs (`HostContext.emit`) as they happen. */
  onOutput(listener: (entry: { host: string; name: string; detail: unknown; timeMs: number }) => void): () => void {
    this.outputListeners.add(listener);
    return () => this.outputListeners.delete(listener);
  }

  // ---------------------------------------------------------------- faults

  /** Stops a host at once: its state, timers and buffered input are lost; peers' connections to it fail after the idle timeout. */
  crash(name: string): void {
    const host = this.get(name);
    if (!host.up) return;
    this.fault(host, 'crash');
    this.stop(host);
  }

  /** Starts a crashed host again: the factory runs with fresh state. A running host is crashed first. */
  restart(name: string): void {
    const host = this.get(name);
    if (host.up) this.stop(host);
    this.fault(host, 'restart');
    this.start(host);
    // Peers' connections to the old instance learn of it from a stateless reset.
    for (const conn of this.connections) {
      for (const side of [0, 1] as const) {
        if (conn.hosts[side] === host && conn.goneAtMs[side] !== undefined) this.resetFrom(conn, side);
      }
    }
  }

  /** Freezes a host: it processes nothing, its timers fire late and arriving datagrams wait in its socket buffer. */
  pause(name: string): void {
    const host = this.get(name);
    if (!host.up || host.paused) return;
    host.paused = true;
    host.pausedSinceMs = this.nowMsValue;
    this.fault(host, 'pause');
    this.scheduleChecks();
  }

  resume(name: string): void {
    const host = this.get(name);
    if (!host.paused) return;
    host.paused = false;
    this.fault(host, 'resume');
    const deferred = host.deferred.splice(0);
    host.deferredDatagramBytes = 0;
    for (const event of deferred) this.schedule(event, this.nowMsValue);
    this.flushBacklogs();
  }

  /** Pauses a host for `durationMs` (a long GC pause, a stopped VM). */
  pauseFor(name: string, durationMs: number): void {
    nonNegative('durationMs', durationMs);
    this.pause(name);
    this.after(durationMs, () => this.resume(name));
  }

  /**
   * Makes a host slow to process what arrives: it keeps running and its timers fire on
   * time, but every inbound datagram and stream segment is handled `delayMs` after it
   * arrives, in arrival order (an overloaded member, the anomaly Lifeguard was built for).
   * `delayMs` 0 ends it; messages already waiting are still handled in order.
   */
  slow(name: string, delayMs: number): void {
    nonNegative('delayMs', delayMs);
    const host = this.get(name);
    if (!host.up || host.slowDelayMs === delayMs) return;
    host.slowDelayMs = delayMs;
    this.fault(host, delayMs > 0 ? 'slow' : 'slow-end', { delayMs });
  }

  /** Makes a host slow (`slow`) for `durationMs`. */
  slowFor(name: string, delayMs: number, durationMs: number): void {
    nonNegative('durationMs', durationMs);
    const host = this.get(name);
    const epoch = host.epoch;
    this.slow(name, delayMs);
    // A restart ends the slowness with the process; a later slow of the new one is its own.
    this.after(durationMs, () => {
      if (host.epoch === epoch) this.slow(name, 0);
    });
  }

  /** Jumps a host's clock forward by `deltaMs`. */
  skewClock(name: string, deltaMs: number): void {
    const host = this.get(name);
    host.clock.skew(this.nowMsValue, deltaMs);
    this.fault(host, 'clock-skew', { deltaMs });
    this.retime(host);
  }

  /** Makes a host's clock run fast (ppm > 0) or slow (ppm < 0) from now on. */
  driftClock(name: string, ppm: number): void {
    const host = this.get(name);
    host.clock.drift(this.nowMsValue, ppm);
    this.fault(host, 'clock-drift', { ppm });
    this.retime(host);
  }

  /** Limits a host's outgoing bandwidth (undefined: unlimited). */
  bandwidth(name: string, bytesPerSec: number | undefined): void {
    const host = this.get(name);
    if (bytesPerSec !== undefined) positiveNumber('bytesPerSec', bytesPerSec);
    host.bytesPerMs = bytesPerSec === undefined ? Infinity : bytesPerSec / 1000;
    this.fault(host, 'bandwidth', { bytesPerSec: bytesPerSec ?? null });
  }

  /** Cuts both directions between every pair of hosts in different groups. Unlisted hosts keep all links. */
  partition(...groups: (string | readonly string[])[]): void {
    if (groups.length < 2) throw new InvalidArgumentError('partition needs at least two groups');
    const sets = groups.map((g) => this.indexSet(g));
    this.checkDisjoint(sets);
    for (let i = 0; i < sets.length; i++) {
      for (let j = 0; j < sets.length; j++) if (i !== j) this.network.cut(sets[i]!, sets[j]!, this.nowMsValue);
    }
    this.netFault('partition', { groups: groups.map((g) => this.names(g)) });
  }

  /** Cuts messages from `from` to `to` only; the other direction stays as it was. */
  partitionOneway(from: string | readonly string[], to: string | readonly string[]): void {
    const sets = [this.indexSet(from), this.indexSet(to)];
    this.checkDisjoint(sets);
    this.network.cut(sets[0]!, sets[1]!, this.nowMsValue);
    this.netFault('partition-oneway', { from: this.names(from), to: this.names(to) });
  }

  /** Cuts `a` from `b` while `bridge` keeps links to both (Maelstrom's bridge). */
  bridge(a: string | readonly string[], bridge: string, b: string | readonly string[]): void {
    const sets = [this.indexSet(a), this.indexSet(bridge), this.indexSet(b)];
    this.checkDisjoint(sets);
    this.network.cut(sets[0]!, sets[2]!, this.nowMsValue);
    this.network.cut(sets[2]!, sets[0]!, this.nowMsValue);
    this.netFault('bridge', { a: this.names(a), bridge, b: this.names(b) });
  }

  /** Cuts one host from every other, both directions. */
  isolate(name: string): void {
    const set = this.indexSet(name);
    this.network.cut(set, null, this.nowMsValue);
    this.network.cut(null, set, this.nowMsValue);
    this.netFault('isolate', { host: name });
  }

  /**
   * Heals the network. With no arguments: every partition and every hold goes (held
   * messages are delivered). With two groups: the links between them become healthy in
   * both directions, whatever partition still stands.
   */
  repair(a?: string | readonly string[], b?: string | readonly string[]): void {
    if ((a === undefined) !== (b === undefined)) throw new InvalidArgumentError('repair takes no groups or two');
    if (a === undefined || b === undefined) {
      const held = this.network.heldPairs();
      this.network.healAll();
      for (const [from, to] of held) this.releaseHeld(from, to);
      this.netFault('heal', {});
      return;
    }
    for (const x of this.indexSet(a)) {
      for (const y of this.indexSet(b)) {
        if (x === y) continue;
        for (const [from, to] of [[x, y], [y, x]] as const) {
          const wasHeld = this.network.state(from, to) === 'held';
          this.network.setPairState(from, to, 'healthy', this.nowMsValue);
          if (wasHeld) this.releaseHeld(from, to);
        }
      }
    }
    this.netFault('repair', { a: this.names(a), b: this.names(b) });
  }

  /** Holds messages from `from` to `to`: they wait, inspectable, until `release`. */
  hold(from: string | readonly string[], to: string | readonly string[]): void {
    for (const x of this.indexSet(from)) for (const y of this.indexSet(to)) if (x !== y) this.network.setPairState(x, y, 'held', this.nowMsValue);
    this.netFault('hold', { from: this.names(from), to: this.names(to) });
  }

  /** Ends a hold; the held messages are delivered in the order they were sent. */
  release(from: string | readonly string[], to: string | readonly string[]): void {
    for (const x of this.indexSet(from)) {
      for (const y of this.indexSet(to)) {
        if (x === y || this.network.state(x, y) !== 'held') continue;
        this.network.setPairState(x, y, undefined, this.nowMsValue);
        this.releaseHeld(x, y);
      }
    }
    this.netFault('release', { from: this.names(from), to: this.names(to) });
  }

  /** The datagrams currently held from `from` to `to`, oldest first. */
  held(from: string, to: string): HeldMessage[] {
    const list = this.heldMessages.get(this.get(from).index * hostIndexMax + this.get(to).index) ?? [];
    return list.map(({ event, sentAtMs }) => ({ from, to, bytes: event.data?.length ?? 0, sentAtMs, channel: 'dgram' }));
  }

  linkState(from: string, to: string): LinkState {
    return this.network.state(this.get(from).index, this.get(to).index);
  }

  /** Changes the model of one direction of one link (latency, loss, ...). */
  setLink(from: string | readonly string[], to: string | readonly string[], model: Partial<LinkModel>): void {
    for (const x of this.indexSet(from)) for (const y of this.indexSet(to)) if (x !== y) this.network.setPairModel(x, y, model);
    this.netFault('link', { from: this.names(from), to: this.names(to), model });
  }

  /** Changes the default model of every link without its own. */
  setDefaultLink(model: Partial<LinkModel>): void {
    this.network.setDefaultModel(model);
    this.netFault('link-default', { model });
  }

  // ---------------------------------------------------------------- scheduling and running

  /** Runs `fn` (a fault schedule step, a workload action) at simulated time `timeMs`. */
  at(timeMs: number, fn: () => void): void {
    if (!(timeMs >= this.nowMsValue)) throw new InvalidArgumentError(`cannot schedule at ${timeMs} ms: now is ${this.nowMsValue} ms`);
    this.schedule(new SimEvent(Kind.Action, null, 0, fn, 0, null, null, null, -1), timeMs);
  }

  after(delayMs: number, fn: () => void): void {
    nonNegative('delayMs', delayMs);
    this.at(this.nowMsValue + delayMs, fn);
  }

  /** Processes one event; false when the queue is empty. */
  step(): boolean {
    const event = this.queue.pop();
    if (event === undefined) return false;
    this.nowMsValue = event.timeMs;
    this.eventCount++;
    this.dispatch(event);
    return true;
  }

  /** Runs until no event is left. Periodic timers never let that happen: use `runUntil`. */
  run(options: RunOptions = {}): number {
    return this.runUntil(Infinity, options);
  }

  /** Runs every event up to and including `timeMs`, then sets the clock to `timeMs`. Returns the events processed. */
  runUntil(timeMs: number, options: RunOptions = {}): number {
    const budget = new RunBudget(options);
    const exclusive = options.exclusive === true;
    for (let next = this.queue.peek(); next !== undefined && (next.timeMs < timeMs || (!exclusive && next.timeMs === timeMs)); next = this.queue.peek()) {
      this.charge(budget);
      this.step();
    }
    if (timeMs !== Infinity && timeMs > this.nowMsValue) this.nowMsValue = timeMs;
    return budget.events;
  }

  runFor(durationMs: number, options: RunOptions = {}): number {
    nonNegative('durationMs', durationMs);
    return this.runUntil(this.nowMsValue + durationMs, options);
  }

  /**
   * Like `runUntil`, but after the events of each instant it lets pending promise
   * continuations run (they see the same simulated time) before time moves on.
   */
  async runUntilAsync(timeMs: number, options: RunOptions = {}): Promise<number> {
    const budget = new RunBudget(options);
    await drainMicrotasks();
    const exclusive = options.exclusive === true;
    for (let next = this.queue.peek(); next !== undefined && (next.timeMs < timeMs || (!exclusive && next.timeMs === timeMs)); next = this.queue.peek()) {
      this.runInstant(budget);
      await drainMicrotasks();
    }
    if (timeMs !== Infinity && timeMs > this.nowMsValue) this.nowMsValue = timeMs;
    return budget.events;
  }

  runForAsync(durationMs: number, options: RunOptions = {}): Promise<number> {
    nonNegative('durationMs', durationMs);
    return this.runUntilAsync(this.nowMsValue + durationMs, options);
  }

  runAsync(options: RunOptions = {}): Promise<number> {
    return this.runUntilAsync(Infinity, options);
  }

  /**
   * Runs async until `condition()` holds (checked after every instant) or `timeMs` passes.
   * Returns whether the condition held.
   */
  async runUntilConditionAsync(condition: () => boolean, timeMs: number, options: RunOptions = {}): Promise<boolean> {
    const budget = new RunBudget(options);
    await drainMicrotasks();
    if (condition()) return true;
    for (let next = this.queue.peek(); next !== undefined && next.timeMs <= timeMs; next = this.queue.peek()) {
      this.runInstant(budget);
      await drainMicrotasks();
      if (condition()) return true;
    }
    if (timeMs !== Infinity && timeMs > this.nowMsValue) this.nowMsValue = timeMs;
    return condition();
  }

  /** The command that reproduces this run, for failure messages; `command` replaces the configured one's `--seed` prefix. */
  reproduceHint(command?: string): string {
    return `seed ${this.seed}: reproduce with \`${command === undefined ? this.reproduce : `${command} --seed ${this.seed}`}\``;
  }

  /** Runs every event of the next instant (those that instant's events schedule for it too). */
  private runInstant(budget: RunBudget): void {
    const instant = this.queue.peek()!.timeMs;
    do {
      this.charge(budget);
      this.step();
    } while (this.queue.peek()?.timeMs === instant);
  }

  /** Charges one event to the run's budget; stops the run when a limit is reached. */
  private charge(budget: RunBudget): void {
    const exceeded = budget.charge();
    if (exceeded === 'events') throw new EventLimitError(`${budget.maxEvents} events`, this.seed, this.nowMsValue, this.reproduce);
    if (exceeded === 'wall') throw new WallTimeoutError(`its wall-clock budget of ${budget.wallTimeoutMs / 1_000} s`, this.seed, this.nowMsValue, this.reproduce);
  }

  // ---------------------------------------------------------------- internals: hosts

  private get(name: string): SimHost {
    const host = this.byName.get(name);
    if (host === undefined) throw new InvalidArgumentError(`unknown host "${name}"; hosts: ${this.hostNames().join(', ') || '(none)'}`);
    return host;
  }

  private start(host: SimHost): void {
    host.up = true;
    host.paused = false;
    host.epoch++;
    host.boot++;
    const transport = new SimTransport(this, host, host.epoch);
    host.transport = transport;
    const context: HostContext = {
      name: host.name,
      address: host.address,
      boot: host.boot,
      clock: new SimClock(this, host, host.epoch),
      random: this.root.fork(`host/${host.name}/${host.boot}`),
      transport,
      logger: this.loggerFor(host),
      emit: (name, detail) => this.output(host, name, detail),
    };
    try {
      host.app = host.factory(context);
    } catch (error) {
      throw new HostPanicError(host.name, this.nowMsValue, this.seed, error);
    }
  }

  private stop(host: SimHost): void {
    host.up = false;
    host.paused = false;
    host.slowDelayMs = 0;
    host.slowLastMs = 0;
    host.epoch++;
    host.app = undefined;
    host.transport = undefined;
    for (const timer of host.timers.values()) timer.cancelled = true;
    host.timers.clear();
    host.deferred.length = 0;
    host.deferredDatagramBytes = 0;
    for (const conn of host.connections) {
      for (const side of [0, 1] as const) {
        if (conn.hosts[side] !== host || conn.goneAtMs[side] !== undefined) continue;
        conn.goneAtMs[side] = this.nowMsValue;
        conn.ends[side] = undefined;
        const pipe = conn.pipes[side];
        pipe.backlog.length = 0;
        pipe.backlogBytes = 0;
      }
    }
    host.connections.clear();
    this.scheduleChecks();
  }

  private loggerFor(host: SimHost): Logger {
    const threshold = this.options.captureLogs;
    if (threshold === false) return { log() {} };
    const order: LogLevel[] = ['debug', 'info', 'warn', 'error'];
    const min = order.indexOf(threshold);
    return {
      log: (level, message, fields) => {
        if (order.indexOf(level) >= min) this.output(host, `log:${level}`, { message, ...fields });
      },
    };
  }

  private output(host: SimHost, name: string, detail: unknown): void {
    this.trace.record('output', this.nowMsValue, host.index, -1, -1, name, -1, detail);
    for (const listener of this.outputListeners) listener({ host: host.name, name, detail, timeMs: this.nowMsValue });
  }

  private fault(host: SimHost, name: string, detail?: unknown): void {
    this.trace.record('fault', this.nowMsValue, host.index, -1, -1, name, -1, detail);
  }

  private netFault(name: string, detail: unknown): void {
    this.trace.record('fault', this.nowMsValue, -1, -1, -1, name, -1, detail);
    this.scheduleChecks();
    this.flushBacklogs();
  }

  private indexSet(group: string | readonly string[]): Set<number> {
    const names = typeof group === 'string' ? [group] : group;
    if (names.length === 0) throw new InvalidArgumentError('a group of hosts must not be empty');
    return new Set(names.map((n) => this.get(n).index));
  }

  private names(group: string | readonly string[]): string[] {
    return typeof group === 'string' ? [group] : [...group];
  }

  private checkDisjoint(sets: Set<number>[]): void {
    const seen = new Set<number>();
    for (const set of sets) {
      for (const i of set) {
        if (seen.has(i)) throw new InvalidArgumentError(`host "${this.hostList[i]!.name}" appears in more than one group`);
        seen.add(i);
      }
    }
  }

  // ---------------------------------------------------------------- internals: events

  private schedule(event: SimEvent, timeMs: number): void {
    event.timeMs = timeMs;
    this.queue.push(event);
  }

  private dispatch(event: SimEvent): void {
    const host = event.host;
    try {
      switch (event.kind) {
        case Kind.Action:
          event.fn!();
          return;
        case Kind.Timer:
          this.fireTimer(event, host!);
          return;
        case Kind.Datagram:
          this.deliverDatagram(event, host!);
          return;
        case Kind.Segment:
          this.deliverSegment(event);
          return;
        case Kind.Check:
          this.check(event);
          return;
      }
    } catch (error) {
      if (error instanceof HostPanicError || error instanceof RunLimitError) throw error;
      throw new HostPanicError(host?.name ?? '(simulator)', this.nowMsValue, this.seed, error);
    }
  }

  /** @internal */
  setTimer(host: SimHost, epoch: number, delayMs: number, fn: () => void): TimerHandle {
    if (!(delayMs >= 0) || !Number.isFinite(delayMs)) throw new InvalidArgumentError(`timer delay must be finite and ≥ 0, got ${delayMs}`);
    const id = this.nextTimerId++;
    if (host.epoch !== epoch) return id;
    const dueLocal = host.clock.local(this.nowMsValue) + delayMs;
    const event = new SimEvent(Kind.Timer, host, epoch, fn, dueLocal, null, null, null, id);
    host.timers.set(id, event);
    this.schedule(event, this.simTimeOfLocal(host, dueLocal));
    return id;
  }

  /** @internal */
  cancelTimer(host: SimHost, id: TimerHandle): void {
    const event = host.timers.get(id);
    if (event === undefined) return;
    event.cancelled = true;
    host.timers.delete(id);
  }

  private fireTimer(event: SimEvent, host: SimHost): void {
    if (event.cancelled || event.epoch !== host.epoch) return;
    if (host.paused) {
      host.deferred.push(event);
      return;
    }
    host.timers.delete(event.msg);
    this.trace.record('timer', this.nowMsValue, host.index, -1, -1, '', -1);
    event.fn!();
  }

  /** Re-times a host's pending timers after its clock changed. */
  private retime(host: SimHost): void {
    for (const [id, old] of [...host.timers]) {
      old.cancelled = true;
      const event = new SimEvent(Kind.Timer, host, old.epoch, old.fn, old.a, null, null, null, id);
      host.timers.set(id, event);
      this.schedule(event, this.simTimeOfLocal(host, old.a));
    }
  }

  /**
   * The first simulated instant at which the host's clock reads at least `localMs`. With a
   * drifting clock the conversion rounds, and a timer that fired a hair early would let a
   * timer table re-arm for the same instant forever; so step up until the clock agrees.
   */
  private simTimeOfLocal(host: SimHost, localMs: number): number {
    let t = Math.max(this.nowMsValue, host.clock.simTimeOf(localMs));
    for (let i = 0; host.clock.local(t) < localMs && i < 64; i++) t += Math.max(1e-9, Math.abs(t) * Number.EPSILON * 4);
    return t;
  }

  // ---------------------------------------------------------------- internals: datagrams

  /** @internal */
  sendDatagram(host: SimHost, epoch: number, to: Address, payload: Uint8Array): void {
    if (payload.length > this.options.maxDatagramBytes) throw new DatagramTooLargeError(payload.length, this.options.maxDatagramBytes);
    const dst = this.byAddress.get(to);
    const msg = this.nextMsg++;
    const dstIndex = dst === undefined ? -1 : dst.index;
    const bytes = payload.length;
    this.trace.record('send', this.nowMsValue, host.index, dstIndex, bytes, 'dgram', msg);
    this.trace.payloads?.(msg, payload);
    if (host.epoch !== epoch || !host.up) return this.drop(host.index, dstIndex, bytes, 'crashed-sender', msg);
    if (dst === undefined) {
      parseAddress(to);
      return this.drop(host.index, -1, bytes, 'no-route', msg);
    }
    const state = this.network.state(host.index, dst.index);
    if (state === 'partitioned') return this.drop(host.index, dstIndex, bytes, 'partitioned', msg);
    const model = this.network.model(host.index, dst.index);
    const random = this.netRandom;
    if (chance(random, model.model.loss)) return this.drop(host.index, dstIndex, bytes, 'loss', msg);
    const data = payload.slice();
    const event = new SimEvent(Kind.Datagram, dst, 0, null, host.index, data, null, null, msg);
    if (state === 'held') return this.holdDatagram(host, dst, event);
    const departMs = this.egress(host, bytes);
    let delay = model.sampleLatency(random);
    if (chance(random, model.model.reorder)) delay += model.sampleReorderDelay(random);
    this.schedule(event, departMs + delay);
    if (chance(random, model.model.duplicate)) {
      const copy = new SimEvent(Kind.Datagram, dst, 0, null, host.index, data, null, null, msg);
      this.schedule(copy, departMs + model.sampleLatency(random));
    }
  }

  private deliverDatagram(event: SimEvent, host: SimHost): void {
    const bytes = event.data!.length;
    if (!host.up) return this.drop(event.a, host.index, bytes, 'host-down', event.msg, host.index);
    if (this.putBackIfSlow(event, host)) return;
    if (host.paused) {
      if (host.deferredDatagramBytes + bytes > this.options.socketBufferBytes) {
        return this.drop(event.a, host.index, bytes, 'buffer-full', event.msg, host.index);
      }
      host.deferredDatagramBytes += bytes;
      host.deferred.push(event);
      return;
    }
    this.trace.record('deliver', this.nowMsValue, host.index, event.a, bytes, 'dgram', event.msg);
    host.transport!.datagrams.onDatagram?.(this.hostList[event.a]!.address, event.data!);
  }

  /**
   * Puts an arriving message back until its slow host handles it: `slowDelayMs` after it
   * arrived, and never before a message that arrived earlier (so the host sees them in
   * order, also just after the slowness ended). Returns whether it did.
   */
  private putBackIfSlow(event: SimEvent, host: SimHost): boolean {
    if (event.slowed || (host.slowDelayMs === 0 && host.slowLastMs <= this.nowMsValue)) return false;
    event.slowed = true;
    const atMs = Math.max(this.nowMsValue + host.slowDelayMs, host.slowLastMs);
    host.slowLastMs = atMs;
    this.schedule(event, atMs);
    return true;
  }

  private drop(from: number, to: number, bytes: number, reason: DropReason, msg: number, at = from): void {
    this.trace.record('drop', this.nowMsValue, at, at === from ? to : from, bytes, reason, msg);
  }

  private holdDatagram(from: SimHost, to: SimHost, event: SimEvent): void {
    const key = from.index * hostIndexMax + to.index;
    let list = this.heldMessages.get(key);
    if (list === undefined) {
      list = [];
      this.heldMessages.set(key, list);
    }
    if (list.length >= this.options.heldMessagesMax) return this.drop(from.index, to.index, event.data!.length, 'buffer-full', event.msg);
    list.push({ event, to, sentAtMs: this.nowMsValue });
  }

  private releaseHeld(from: number, to: number): void {
    const key = from * hostIndexMax + to;
    const list = this.heldMessages.get(key);
    this.heldMessages.delete(key);
    if (list === undefined) return;
    const model = this.network.model(from, to);
    let atMs = this.nowMsValue;
    for (const { event } of list) {
      // Held messages arrive in the order they were sent.
      atMs = Math.max(atMs, this.nowMsValue + model.sampleLatency(this.netRandom));
      this.schedule(event, atMs);
    }
  }

  private egress(host: SimHost, bytes: number): number {
    if (host.bytesPerMs === Infinity) return this.nowMsValue;
    const start = Math.max(this.nowMsValue, host.egressFreeAtMs);
    host.egressFreeAtMs = start + bytes / host.bytesPerMs;
    return host.egressFreeAtMs;
  }

  // ---------------------------------------------------------------- internals: streams

  /** @internal */
  connect(host: SimHost, epoch: number, to: Address): Connection {
    parseAddress(to);
    const dst = this.byAddress.get(to);
    const conn = new SimConnection([host, dst ?? host], epoch, this.nowMsValue + this.options.connectTimeoutMs);
    const end = new ConnectionEnd(this.fabric, 0, to, conn);
    conn.ends[0] = end;
    if (host.epoch !== epoch || !host.up) {
      this.localFail(conn, 0, new ConnectTimeoutError(`connect to ${to}: the connecting host is down`));
      return end;
    }
    host.connections.add(conn);
    this.connections.add(conn);
    this.trace.record('connection', this.nowMsValue, host.index, dst?.index ?? -1, -1, 'connect');
    if (dst === undefined || dst === host) {
      this.localFail(conn, 0, new ConnectionRefusedError(`connect to ${to}: no such host`));
      return end;
    }
    this.sendSegment(conn, 0, segment(Seg.Connect));
    this.scheduleCheck(conn, conn.connectDeadlineMs);
    return end;
  }

  private sendSegment(conn: SimConnection, side: 0 | 1, seg: Segment): void {
    const from = conn.hosts[side];
    const to = conn.hosts[1 - side]!;
    if (!from.up || from.epoch !== conn.epochs[side]) return;
    const pipe = conn.pipes[side];
    const bytes = seg.data?.length ?? 0;
    if (pipe.backlog.length > 0 || this.network.state(from.index, to.index) !== 'healthy') {
      checkBacklog(pipe.backlogBytes + bytes, this.options.connectionBufferBytesMax, to.address);
      pipe.backlog.push(seg);
      pipe.backlogBytes += bytes;
      this.scheduleCheckFor(conn);
      return;
    }
    this.transmit(conn, side, seg);
  }

  private transmit(conn: SimConnection, side: 0 | 1, seg: Segment): void {
    const from = conn.hosts[side];
    const to = conn.hosts[1 - side]!;
    const bytes = seg.data?.length ?? 0;
    const msg = this.nextMsg++;
    this.trace.record('send', this.nowMsValue, from.index, to.index, bytes, segLabels[seg.type], msg);
    if (seg.data !== null) this.trace.payloads?.(msg, seg.data);
    const model = this.network.model(from.index, to.index);
    let delay = this.egress(from, bytes) - this.nowMsValue + model.sampleLatency(this.netRandom);
    // A lost packet on a reliable stream costs a retransmission, not the bytes.
    for (let i = 0; i < 8 && chance(this.netRandom, model.model.loss); i++) delay += model.retransmitMs;
    const pipe = conn.pipes[side];
    const atMs = Math.max(pipe.lastDeliverAtMs, this.nowMsValue + delay);
    pipe.lastDeliverAtMs = atMs;
    this.schedule(new SimEvent(Kind.Segment, to, 0, null, 1 - side, null, conn, seg, msg), atMs);
  }

  private deliverSegment(event: SimEvent): void {
    const conn = event.conn!;
    const seg = event.seg!;
    const side = event.a as 0 | 1;
    const host = conn.hosts[side];
    const peer = conn.hosts[1 - side]!;
    const bytes = seg.data?.length ?? 0;
    const label = segLabels[seg.type];
    if (seg.type === Seg.Connect) {
      if (!host.up) return this.drop(peer.index, host.index, bytes, 'host-down', event.msg, host.index);
      if (this.putBackIfSlow(event, host)) return;
      if (host.paused) return void host.deferred.push(event);
      this.trace.record('deliver', this.nowMsValue, host.index, peer.index, bytes, label, event.msg);
      this.accept(conn, host);
      return;
    }
    if (event.msg >= 0 && (!host.up || host.epoch !== conn.epochs[side])) {
      this.drop(peer.index, host.index, bytes, host.up ? 'stale' : 'host-down', event.msg, host.index);
      if (host.up) this.resetFrom(conn, side);
      return;
    }
    if (this.putBackIfSlow(event, host)) return;
    if (host.paused) return void host.deferred.push(event);
    if (event.msg >= 0) this.trace.record('deliver', this.nowMsValue, host.index, peer.index, bytes, label, event.msg);
    const end = conn.ends[side];
    if (end === undefined) return;
    if (seg.type === Seg.Data && this.options.streamChunking && bytes > 1) {
      for (const piece of this.split(seg.data!)) end.receive(segment(Seg.Data, seg.streamId, piece));
      return;
    }
    end.receive(seg);
  }

  private accept(conn: SimConnection, host: SimHost): void {
    const transport = host.transport!;
    const handler = transport.streams.onConnection;
    conn.epochs[1] = host.epoch;
    if (handler === undefined) {
      conn.epochs[1] = -1;
      this.sendRaw(conn, 1, segment(Seg.Refuse, -1, null, 0, new ConnectionRefusedError(`${host.address} accepts no connections`)));
      return;
    }
    const end = new ConnectionEnd(this.fabric, 1, conn.hosts[0].address, conn);
    conn.ends[1] = end;
    conn.established = true;
    host.connections.add(conn);
    this.sendSegment(conn, 1, segment(Seg.Accept));
    handler(end);
  }

  /** Sends a segment from a side that may have no live end (refusals, stateless resets). */
  private sendRaw(conn: SimConnection, side: 0 | 1, seg: Segment): void {
    const from = conn.hosts[side];
    const to = conn.hosts[1 - side]!;
    if (this.network.state(from.index, to.index) !== 'healthy') return;
    this.transmit(conn, side, seg);
  }

  /** The host on `side` no longer knows this connection: tell the other side (once). */
  private resetFrom(conn: SimConnection, side: 0 | 1): void {
    if (conn.resetSent || conn.ends[1 - side] === undefined) return;
    conn.resetSent = true;
    const peer = conn.hosts[1 - side]!;
    this.sendRaw(conn, side, segment(Seg.Fail, -1, null, 0,
      new ConnectionResetError(`${conn.hosts[side].address} restarted and no longer knows the connection from ${peer.address}`)));
  }

  /** Closes one end locally (timeouts): delivered as an event so a paused host sees it on resume. */
  private localFail(conn: SimConnection, side: 0 | 1, error: TransportError): void {
    const host = conn.hosts[side];
    if (conn.ends[side] === undefined) return;
    this.schedule(new SimEvent(Kind.Segment, host, 0, null, side, null, conn, segment(Seg.Fail, -1, null, 0, error), -1), this.nowMsValue);
  }

  private connectionEnded(end: ConnectionEnd): void {
    const conn = end.link as SimConnection;
    this.trace.record('connection', this.nowMsValue, conn.hosts[end.side].index, conn.hosts[1 - end.side]!.index, -1, 'closed');
    if (!conn.live) {
      this.connections.delete(conn);
      conn.hosts[0].connections.delete(conn);
      conn.hosts[1].connections.delete(conn);
    }
  }

  /** Since when nothing can cross this connection's path (undefined: it can now). */
  private unreachableSince(conn: SimConnection): number | undefined {
    const [a, b] = conn.hosts;
    let since: number | undefined;
    const consider = (t: number | undefined) => {
      if (t !== undefined && (since === undefined || t < since)) since = t;
    };
    consider(this.network.brokenSinceMs(a.index, b.index));
    consider(this.network.brokenSinceMs(b.index, a.index));
    for (const side of [0, 1] as const) {
      const host = conn.hosts[side];
      if (conn.goneAtMs[side] !== undefined) consider(conn.goneAtMs[side]);
      else if (host.paused) consider(host.pausedSinceMs);
    }
    return since;
  }

  private scheduleChecks(): void {
    for (const conn of this.connections) {
      if (conn.live) this.scheduleCheckFor(conn);
      else this.connections.delete(conn);
    }
  }

  private scheduleCheckFor(conn: SimConnection): void {
    if (!conn.established) return;
    const since = this.unreachableSince(conn);
    if (since !== undefined) this.scheduleCheck(conn, since + this.options.idleTimeoutMs);
  }

  private scheduleCheck(conn: SimConnection, atMs: number): void {
    if (conn.checkAtMs <= atMs && conn.checkAtMs >= this.nowMsValue) return;
    conn.checkAtMs = atMs;
    this.schedule(new SimEvent(Kind.Check, null, 0, null, 0, null, conn, null, -1), Math.max(atMs, this.nowMsValue));
  }

  private check(event: SimEvent): void {
    const conn = event.conn!;
    if (event.timeMs !== conn.checkAtMs && conn.checkAtMs !== Infinity && conn.checkAtMs > this.nowMsValue) return;
    conn.checkAtMs = Infinity;
    if (!conn.live) return;
    if (!conn.established) {
      if (this.nowMsValue >= conn.connectDeadlineMs) {
        this.localFail(conn, 0, new ConnectTimeoutError(`connect to ${conn.hosts[1].address}: no answer within ${this.options.connectTimeoutMs} ms`));
      }
      return;
    }
    const since = this.unreachableSince(conn);
    if (since === undefined) return;
    const idle = this.options.idleTimeoutMs;
    if (this.nowMsValue - since < idle) return this.scheduleCheck(conn, since + idle);
    for (const side of [0, 1] as const) {
      const peer = conn.hosts[1 - side]!;
      this.localFail(conn, side, new ConnectionLostError(`nothing heard from ${peer.address} for ${idle} ms (idle timeout)`));
    }
  }

  private flushBacklogs(): void {
    for (const conn of this.connections) {
      for (const side of [0, 1] as const) {
        const pipe = conn.pipes[side];
        if (pipe.backlog.length === 0) continue;
        const from = conn.hosts[side];
        const to = conn.hosts[1 - side]!;
        if (!from.up || from.paused || this.network.state(from.index, to.index) !== 'healthy') continue;
        const backlog = pipe.backlog.splice(0);
        pipe.backlogBytes = 0;
        for (const seg of backlog) this.transmit(conn, side, seg);
      }
    }
  }

  private split(data: Uint8Array): Uint8Array[] {
    const pieces: Uint8Array[] = [];
    let offset = 0;
    while (offset < data.length) {
      const rest = data.length - offset;
      const size = rest === 1 || chance(this.netRandom, 0.3) ? rest : 1 + Math.floor(this.netRandom.next() * rest);
      pieces.push(data.subarray(offset, offset + size));
      offset += size;
    }
    return pieces;
  }
}

class SimClock implements Clock {
  constructor(private readonly sim: Simulation, private readonly host: SimHost, private readonly epoch: number) {}
  now(): number {
    return this.host.clock.local(this.sim.nowMs);
  }
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    return this.sim.setTimer(this.host, this.epoch, delayMs, fn);
  }
  cancelTimer(handle: TimerHandle): void {
    this.sim.cancelTimer(this.host, handle);
  }
}

class SimTransport implements Transport {
  readonly localAddress: Address;
  readonly datagrams: DatagramService;
  readonly streams: StreamService;
  constructor(sim: Simulation, host: SimHost, epoch: number) {
    this.localAddress = host.address;
    const maxDatagramBytes = sim.options.maxDatagramBytes;
    this.datagrams = {
      maxDatagramBytes,
      send: (to, payload) => sim.sendDatagram(host, epoch, to, payload),
      onDatagram: undefined,
    };
    this.streams = {
      connect: (to) => sim.connect(host, epoch, to),
      onConnection: undefined,
    };
  }
}

/** Lets every pending promise continuation run: a macrotask runs only once the microtask queue is empty. */
function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function positiveNumber(field: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new ConfigError(field, `must be a finite number > 0, got ${value}`);
  return value;
}

function positiveInt(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new ConfigError(field, `must be a positive integer, got ${value}`);
  return value;
}

function nonNegative(field: string, value: number): void {
  if (!(value >= 0) || !Number.isFinite(value)) throw new InvalidArgumentError(`${field} must be a finite number ≥ 0, got ${value}`);
}

export type { TraceEntry };
