import { InvalidArgumentError } from '../core/index.ts';
import type { StreamNetwork } from './connections.ts';
import type { DatagramNetwork } from './datagrams.ts';
import { ActionEvent } from './events.ts';
import type { Hosts, SimHost } from './hosts.ts';
import type { LinkModel, Network } from './network.ts';
import { nonNegative, positiveNumber } from './options.ts';
import type { Scheduler } from './scheduler.ts';
import type { Trace } from './trace.ts';

/** A group of hosts a network fault names: one host, or several. */
export type HostGroup = string | readonly string[];

/**
 * Fault injection: what happens to hosts (crash, restart, pause, slowness, clocks,
 * bandwidth) and to links (partitions, holds, models). Each fault is recorded in the
 * trace, then the datagram and stream networks are told what changed for them.
 */
export class Faults {
  constructor(
    private readonly scheduler: Scheduler,
    private readonly trace: Trace,
    private readonly hosts: Hosts,
    private readonly network: Network,
    private readonly datagrams: DatagramNetwork,
    private readonly streams: StreamNetwork,
  ) {}

  crash(name: string): void {
    const host = this.hosts.get(name);
    if (!host.up) return;
    this.hostFault(host, 'crash');
    this.stop(host);
  }

  restart(name: string): void {
    const host = this.hosts.get(name);
    if (host.up) this.stop(host);
    this.hostFault(host, 'restart');
    this.hosts.start(host);
    this.streams.hostRestarted(host);
  }

  pause(name: string): void {
    const host = this.hosts.get(name);
    if (!host.up || host.paused) return;
    host.paused = true;
    host.pausedSinceMs = this.scheduler.nowMs;
    this.hostFault(host, 'pause');
    this.streams.scheduleChecks();
  }

  resume(name: string): void {
    const host = this.hosts.get(name);
    if (!host.paused) return;
    host.paused = false;
    this.hostFault(host, 'resume');
    const deferred = host.deferred.splice(0);
    host.deferredDatagramBytes = 0;
    for (const event of deferred) this.scheduler.schedule(event, this.scheduler.nowMs);
    this.streams.flushBacklogs();
  }

  pauseFor(name: string, durationMs: number): void {
    nonNegative('durationMs', durationMs);
    this.pause(name);
    this.after(durationMs, () => this.resume(name));
  }

  slow(name: string, delayMs: number): void {
    nonNegative('delayMs', delayMs);
    const host = this.hosts.get(name);
    if (!host.up || host.slowDelayMs === delayMs) return;
    host.slowDelayMs = delayMs;
    this.hostFault(host, delayMs > 0 ? 'slow' : 'slow-end', { delayMs });
  }

  slowFor(name: string, delayMs: number, durationMs: number): void {
    nonNegative('durationMs', durationMs);
    const host = this.hosts.get(name);
    const epoch = host.epoch;
    this.slow(name, delayMs);
    // A restart ends the slowness with the process; a later slow of the new one is its own.
    this.after(durationMs, () => {
      if (host.epoch === epoch) this.slow(name, 0);
    });
  }

  skewClock(name: string, deltaMs: number): void {
    const host = this.hosts.get(name);
    host.clock.skew(this.scheduler.nowMs, deltaMs);
    this.hostFault(host, 'clock-skew', { deltaMs });
    this.hosts.retime(host);
  }

  driftClock(name: string, ppm: number): void {
    const host = this.hosts.get(name);
    host.clock.drift(this.scheduler.nowMs, ppm);
    this.hostFault(host, 'clock-drift', { ppm });
    this.hosts.retime(host);
  }

  bandwidth(name: string, bytesPerSec: number | undefined): void {
    const host = this.hosts.get(name);
    if (bytesPerSec !== undefined) positiveNumber('bytesPerSec', bytesPerSec);
    host.bytesPerMs = bytesPerSec === undefined ? Infinity : bytesPerSec / 1000;
    this.hostFault(host, 'bandwidth', { bytesPerSec: bytesPerSec ?? null });
  }

  partition(groups: HostGroup[]): void {
    if (groups.length < 2) throw new InvalidArgumentError('partition needs at least two groups');
    const sets = this.disjointSets(groups);
    for (let i = 0; i < sets.length; i++) {
      for (let j = 0; j < sets.length; j++) if (i !== j) this.network.cut(sets[i]!, sets[j]!, this.scheduler.nowMs);
    }
    this.netFault('partition', { groups: groups.map(names) });
  }

  partitionOneway(from: HostGroup, to: HostGroup): void {
    const [a, b] = this.disjointSets([from, to]);
    this.network.cut(a!, b!, this.scheduler.nowMs);
    this.netFault('partition-oneway', { from: names(from), to: names(to) });
  }

  bridge(a: HostGroup, bridge: string, b: HostGroup): void {
    const [left, , right] = this.disjointSets([a, bridge, b]);
    this.network.cut(left!, right!, this.scheduler.nowMs);
    this.network.cut(right!, left!, this.scheduler.nowMs);
    this.netFault('bridge', { a: names(a), bridge, b: names(b) });
  }

  isolate(name: string): void {
    const set = this.indexSet(name);
    this.network.cut(set, null, this.scheduler.nowMs);
    this.network.cut(null, set, this.scheduler.nowMs);
    this.netFault('isolate', { host: name });
  }

  repair(a?: HostGroup, b?: HostGroup): void {
    if ((a === undefined) !== (b === undefined)) throw new InvalidArgumentError('repair takes no groups or two');
    if (a === undefined || b === undefined) {
      const held = this.network.heldPairs();
      this.network.healAll();
      for (const [from, to] of held) this.datagrams.release(from, to);
      this.netFault('heal', {});
      return;
    }
    for (const x of this.indexSet(a)) {
      for (const y of this.indexSet(b)) {
        if (x === y) continue;
        for (const [from, to] of [[x, y], [y, x]] as const) {
          const wasHeld = this.network.state(from, to) === 'held';
          this.network.setPairState(from, to, 'healthy', this.scheduler.nowMs);
          if (wasHeld) this.datagrams.release(from, to);
        }
      }
    }
    this.netFault('repair', { a: names(a), b: names(b) });
  }

  hold(from: HostGroup, to: HostGroup): void {
    for (const [x, y] of this.pairs(from, to)) this.network.setPairState(x, y, 'held', this.scheduler.nowMs);
    this.netFault('hold', { from: names(from), to: names(to) });
  }

  release(from: HostGroup, to: HostGroup): void {
    for (const [x, y] of this.pairs(from, to)) {
      if (this.network.state(x, y) !== 'held') continue;
      this.network.setPairState(x, y, undefined, this.scheduler.nowMs);
      this.datagrams.release(x, y);
    }
    this.netFault('release', { from: names(from), to: names(to) });
  }

  setLink(from: HostGroup, to: HostGroup, model: Partial<LinkModel>): void {
    for (const [x, y] of this.pairs(from, to)) this.network.setPairModel(x, y, model);
    this.netFault('link', { from: names(from), to: names(to), model });
  }

  setDefaultLink(model: Partial<LinkModel>): void {
    this.network.setDefaultModel(model);
    this.netFault('link-default', { model });
  }

  after(delayMs: number, fn: () => void): void {
    nonNegative('delayMs', delayMs);
    this.scheduler.at(this.scheduler.nowMs + delayMs, new ActionEvent(fn));
  }

  private stop(host: SimHost): void {
    this.hosts.stop(host);
    this.streams.hostGone(host);
  }

  private hostFault(host: SimHost, name: string, detail?: unknown): void {
    this.trace.record('fault', this.scheduler.nowMs, host.index, -1, -1, name, -1, detail);
  }

  private netFault(name: string, detail: unknown): void {
    this.trace.record('fault', this.scheduler.nowMs, -1, -1, -1, name, -1, detail);
    this.streams.scheduleChecks();
    this.streams.flushBacklogs();
  }

  /** Every (from, to) pair of distinct hosts across the two groups. */
  private *pairs(from: HostGroup, to: HostGroup): Generator<[number, number]> {
    const sources = this.indexSet(from);
    const targets = this.indexSet(to);
    for (const x of sources) for (const y of targets) if (x !== y) yield [x, y];
  }

  private indexSet(group: HostGroup): Set<number> {
    const list = names(group);
    if (list.length === 0) throw new InvalidArgumentError('a group of hosts must not be empty');
    return new Set(list.map((n) => this.hosts.get(n).index));
  }

  private disjointSets(groups: HostGroup[]): Set<number>[] {
    const sets = groups.map((g) => this.indexSet(g));
    const seen = new Set<number>();
    for (const set of sets) {
      for (const i of set) {
        if (seen.has(i)) throw new InvalidArgumentError(`host "${this.hosts.list[i]!.name}" appears in more than one group`);
        seen.add(i);
      }
    }
    return sets;
  }
}

function names(group: HostGroup): string[] {
  return typeof group === 'string' ? [group] : [...group];
}
