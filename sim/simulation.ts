import type { Address, Connection, DatagramService, StreamService, Transport } from '../core/index.ts';
import { StreamNetwork } from './connections.ts';
import { DatagramNetwork, type HeldMessage } from './datagrams.ts';
import { ActionEvent, type SimEvent } from './events.ts';
import { Faults, type HostGroup } from './faults.ts';
import { Hosts, type HostFactory, type HostOutput, type SimHost } from './hosts.ts';
import { Network, type LinkModel, type LinkState } from './network.ts';
import { nonNegative, resolveOptions, seedOf, type ResolvedOptions, type SimulationOptions } from './options.ts';
import { SeededRandom } from './random.ts';
import { RunBudget, type RunLimits } from './run-limits.ts';
import { Scheduler } from './scheduler.ts';
import { Trace, type TraceEntry } from './trace.ts';

export { HostPanicError } from './scheduler.ts';
export type { HostContext, HostFactory } from './hosts.ts';
export type { HeldMessage } from './datagrams.ts';
export type { SimulationOptions } from './options.ts';
export type { TraceEntry };

export interface RunOptions extends RunLimits {
  /**
   * Run only the events before `timeMs`, leaving those of `timeMs` itself queued, then
   * set the time to `timeMs`. What a caller does next happens before every event of that
   * instant, exactly as an action scheduled in advance with `at(timeMs)` would.
   * @default false
   */
  exclusive?: boolean;
}

/**
 * The deterministic simulator: virtual time, an event queue, hosts built by factories,
 * a network model per link direction, and faults. Nothing sleeps; time jumps to the next
 * event. Every decision comes from the one seed.
 *
 * Drive it with `run*` (synchronous: for callback-style code) or `run*Async`, which lets
 * promise continuations run before time moves on; use the async form whenever host code
 * awaits promises.
 *
 * This class is the front of five modules, one concept each: the scheduler (time and the
 * event loop), the host table (lifecycle, timers, outputs), the datagram network, the
 * stream network and fault injection.
 */
export class Simulation {
  readonly seed: string;
  readonly trace: Trace;
  readonly network: Network;
  readonly options: ResolvedOptions;
  /** The command that reproduces this run. */
  readonly reproduce: string;
  private readonly scheduler: Scheduler;
  private readonly hosts: Hosts;
  private readonly datagrams: DatagramNetwork;
  private readonly streams: StreamNetwork;
  private readonly faults: Faults;

  constructor(options: SimulationOptions) {
    this.seed = seedOf(options);
    this.reproduce = options.reproduce ?? `npx shoal run --seed ${this.seed}`;
    this.options = resolveOptions(options);
    const root = new SeededRandom(this.seed);
    const netRandom = root.fork('network');
    this.network = new Network(options.network);
    this.trace = new Trace((i) => (i >= 0 ? this.hosts.list[i]?.name ?? '?' : '-'), options.trace);
    this.scheduler = new Scheduler((event) => this.dispatch(event), this.seed, this.reproduce);
    this.hosts = new Hosts(this.scheduler, this.trace, {
      port: this.options.port, captureLogs: this.options.captureLogs, seed: this.seed, random: root,
      transportFor: (host, epoch) => this.transportFor(host, epoch),
    });
    this.datagrams = new DatagramNetwork(this.scheduler, this.hosts, this.network, netRandom, this.trace, this.options);
    this.streams = new StreamNetwork(this.scheduler, this.hosts, this.network, netRandom, this.trace, this.options);
    this.faults = new Faults(this.scheduler, this.trace, this.hosts, this.network, this.datagrams, this.streams);
  }

  /** Current simulated time in milliseconds. */
  get nowMs(): number {
    return this.scheduler.nowMs;
  }

  /** Events processed so far. */
  get eventCount(): number {
    return this.scheduler.eventCount;
  }

  /** Events waiting in the queue. */
  get pendingEvents(): number {
    return this.scheduler.pending;
  }

  // ---------------------------------------------------------------- hosts

  /** Registers a host and starts it now. The factory runs again on every restart. */
  host<T>(name: string, factory: HostFactory<T>): Address {
    const host = this.hosts.add(name, factory as HostFactory);
    this.hosts.start(host);
    return host.address;
  }

  hostNames(): string[] {
    return this.hosts.names();
  }

  address(name: string): Address {
    return this.hosts.get(name).address;
  }

  /** The host whose address is `address`, if any. */
  hostAt(address: Address): string | undefined {
    return this.hosts.at(address)?.name;
  }

  /** The object the host's factory returned at its latest start, or undefined while down. */
  app<T = unknown>(name: string): T | undefined {
    const host = this.hosts.get(name);
    return host.up ? (host.app as T) : undefined;
  }

  isUp(name: string): boolean {
    return this.hosts.get(name).up;
  }

  isPaused(name: string): boolean {
    return this.hosts.get(name).paused;
  }

  /** The host's local clock reading now. */
  localTimeMs(name: string): number {
    return this.hosts.get(name).clock.local(this.scheduler.nowMs);
  }

  /** Subscribes to host outputs (`HostContext.emit`) as they happen. */
  onOutput(listener: (entry: HostOutput) => void): () => void {
    return this.hosts.onOutput(listener);
  }

  // ---------------------------------------------------------------- faults

  /** Stops a host at once: its state, timers and buffered input are lost; peers' connections to it fail after the idle timeout. */
  crash(name: string): void {
    this.faults.crash(name);
  }

  /** Starts a crashed host again: the factory runs with fresh state. A running host is crashed first. */
  restart(name: string): void {
    this.faults.restart(name);
  }

  /** Freezes a host: it processes nothing, its timers fire late and arriving datagrams wait in its socket buffer. */
  pause(name: string): void {
    this.faults.pause(name);
  }

  resume(name: string): void {
    this.faults.resume(name);
  }

  /** Pauses a host for `durationMs` (a long GC pause, a stopped VM). */
  pauseFor(name: string, durationMs: number): void {
    this.faults.pauseFor(name, durationMs);
  }

  /**
   * Makes a host slow to process what arrives: it keeps running and its timers fire on
   * time, but every inbound datagram and stream segment is handled `delayMs` after it
   * arrives, in arrival order (an overloaded member, the anomaly Lifeguard was built for).
   * `delayMs` 0 ends it; messages already waiting are still handled in order.
   */
  slow(name: string, delayMs: number): void {
    this.faults.slow(name, delayMs);
  }

  /** Makes a host slow (`slow`) for `durationMs`. */
  slowFor(name: string, delayMs: number, durationMs: number): void {
    this.faults.slowFor(name, delayMs, durationMs);
  }

  /** Jumps a host's clock forward by `deltaMs`. */
  skewClock(name: string, deltaMs: number): void {
    this.faults.skewClock(name, deltaMs);
  }

  /** Makes a host's clock run fast (ppm > 0) or slow (ppm < 0) from now on. */
  driftClock(name: string, ppm: number): void {
    this.faults.driftClock(name, ppm);
  }

  /** Limits a host's outgoing bandwidth (undefined: unlimited). */
  bandwidth(name: string, bytesPerSec: number | undefined): void {
    this.faults.bandwidth(name, bytesPerSec);
  }

  /** Cuts both directions between every pair of hosts in different groups. Unlisted hosts keep all links. */
  partition(...groups: HostGroup[]): void {
    this.faults.partition(groups);
  }

  /** Cuts messages from `from` to `to` only; the other direction stays as it was. */
  partitionOneway(from: HostGroup, to: HostGroup): void {
    this.faults.partitionOneway(from, to);
  }

  /** Cuts `a` from `b` while `bridge` keeps links to both (Maelstrom's bridge). */
  bridge(a: HostGroup, bridge: string, b: HostGroup): void {
    this.faults.bridge(a, bridge, b);
  }

  /** Cuts one host from every other, both directions. */
  isolate(name: string): void {
    this.faults.isolate(name);
  }

  /**
   * Heals the network. With no arguments: every partition and every hold goes (held
   * messages are delivered). With two groups: the links between them become healthy in
   * both directions, whatever partition still stands.
   */
  repair(a?: HostGroup, b?: HostGroup): void {
    this.faults.repair(a, b);
  }

  /** Holds messages from `from` to `to`: they wait, inspectable, until `release`. */
  hold(from: HostGroup, to: HostGroup): void {
    this.faults.hold(from, to);
  }

  /** Ends a hold; the held messages are delivered in the order they were sent. */
  release(from: HostGroup, to: HostGroup): void {
    this.faults.release(from, to);
  }

  /** The datagrams currently held from `from` to `to`, oldest first. */
  held(from: string, to: string): HeldMessage[] {
    return this.datagrams.held(this.hosts.get(from), this.hosts.get(to));
  }

  linkState(from: string, to: string): LinkState {
    return this.network.state(this.hosts.get(from).index, this.hosts.get(to).index);
  }

  /** Changes the model of one direction of one link (latency, loss, ...). */
  setLink(from: HostGroup, to: HostGroup, model: Partial<LinkModel>): void {
    this.faults.setLink(from, to, model);
  }

  /** Changes the default model of every link without its own. */
  setDefaultLink(model: Partial<LinkModel>): void {
    this.faults.setDefaultLink(model);
  }

  // ---------------------------------------------------------------- scheduling and running

  /** Runs `fn` (a fault schedule step, a workload action) at simulated time `timeMs`. */
  at(timeMs: number, fn: () => void): void {
    this.scheduler.at(timeMs, new ActionEvent(fn));
  }

  after(delayMs: number, fn: () => void): void {
    this.faults.after(delayMs, fn);
  }

  /** Processes one event; false when the queue is empty. */
  step(): boolean {
    return this.scheduler.run(Infinity, false, 'one', null) === 1;
  }

  /** Runs until no event is left. Periodic timers never let that happen: use `runUntil`. */
  run(options: RunOptions = {}): number {
    return this.runUntil(Infinity, options);
  }

  /** Runs every event up to and including `timeMs`, then sets the clock to `timeMs`. Returns the events processed. */
  runUntil(timeMs: number, options: RunOptions = {}): number {
    const events = this.scheduler.run(timeMs, options.exclusive === true, 'all', new RunBudget(options));
    this.scheduler.advanceTo(timeMs);
    return events;
  }

  runFor(durationMs: number, options: RunOptions = {}): number {
    nonNegative('durationMs', durationMs);
    return this.runUntil(this.scheduler.nowMs + durationMs, options);
  }

  /**
   * Like `runUntil`, but after the events of each instant it lets pending promise
   * continuations run (they see the same simulated time) before time moves on.
   */
  async runUntilAsync(timeMs: number, options: RunOptions = {}): Promise<number> {
    return (await this.runInstants(timeMs, options, undefined)).events;
  }

  runForAsync(durationMs: number, options: RunOptions = {}): Promise<number> {
    nonNegative('durationMs', durationMs);
    return this.runUntilAsync(this.scheduler.nowMs + durationMs, options);
  }

  runAsync(options: RunOptions = {}): Promise<number> {
    return this.runUntilAsync(Infinity, options);
  }

  /**
   * Runs async until `condition()` holds (checked after every instant) or `timeMs` passes.
   * Returns whether the condition held.
   */
  async runUntilConditionAsync(condition: () => boolean, timeMs: number, options: RunOptions = {}): Promise<boolean> {
    return (await this.runInstants(timeMs, { ...options, exclusive: false }, condition)).held;
  }

  /** The command that reproduces this run, for failure messages; `command` replaces the configured one's `--seed` prefix. */
  reproduceHint(command?: string): string {
    return `seed ${this.seed}: reproduce with \`${command === undefined ? this.reproduce : `${command} --seed ${this.seed}`}\``;
  }

  /**
   * The asynchronous run: one instant at a time, letting promise continuations run after
   * each, until `timeMs` or until `condition` holds (checked before the first instant and
   * after each).
   */
  private async runInstants(timeMs: number, options: RunOptions, condition: (() => boolean) | undefined): Promise<{ events: number; held: boolean }> {
    const budget = new RunBudget(options);
    const exclusive = options.exclusive === true;
    await drainMicrotasks();
    let events = 0;
    let held = condition?.() ?? false;
    while (!held) {
      const ran = this.scheduler.run(timeMs, exclusive, 'instant', budget);
      if (ran === 0) break;
      events += ran;
      await drainMicrotasks();
      held = condition?.() ?? false;
    }
    if (held) return { events, held };
    this.scheduler.advanceTo(timeMs);
    return { events, held: condition?.() ?? false };
  }

  /** The one exhaustive dispatcher of event kinds. */
  private dispatch(event: SimEvent): void {
    switch (event.kind) {
      case 'datagram': return this.datagrams.deliver(event);
      case 'timer': return this.hosts.fire(event);
      case 'segment': return this.streams.deliver(event);
      case 'check': return this.streams.check(event);
      case 'action': return event.fn();
      default: return unknownEvent(event);
    }
  }

  /** One boot's transport: datagrams and streams bound to the host and the epoch that made them. */
  private transportFor(host: SimHost, epoch: number): Transport {
    return {
      localAddress: host.address,
      datagrams: new SimDatagrams(this.datagrams, host, epoch, this.options.maxDatagramBytes),
      streams: new SimStreams(this.streams, host, epoch),
    };
  }
}

/**
 * A host's datagram service for one boot. A class rather than closures, so that a call
 * site sending from many hosts sees one shape and the compiler inlines `send`.
 */
class SimDatagrams implements DatagramService {
  onDatagram: ((from: Address, payload: Uint8Array) => void) | undefined = undefined;
  constructor(private readonly network: DatagramNetwork, private readonly host: SimHost, private readonly epoch: number, readonly maxDatagramBytes: number) {}
  send(to: Address, payload: Uint8Array): void {
    this.network.send(this.host, this.epoch, to, payload);
  }
}

/** A host's stream service for one boot. */
class SimStreams implements StreamService {
  onConnection: ((connection: Connection) => void) | undefined = undefined;
  constructor(private readonly network: StreamNetwork, private readonly host: SimHost, private readonly epoch: number) {}
  connect(to: Address): Connection {
    return this.network.connect(this.host, this.epoch, to);
  }
}

function unknownEvent(event: never): never {
  throw new Error(`unknown event kind ${(event as { kind: unknown }).kind}`);
}

/** Lets every pending promise continuation run: a macrotask runs only once the microtask queue is empty. */
function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
