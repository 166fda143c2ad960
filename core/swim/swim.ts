import type { Address } from '../address.ts';
import type { Env } from '../env.ts';
import { defaultInterner, type Interner } from '../intern.ts';
import { DecodeError, InvalidArgumentError } from '../errors.ts';
import { TimerTable } from '../timers.ts';
import { Admission } from './admission.ts';
import { AppGossip, type SwimDelegate } from './app.ts';
import { Awareness } from './awareness.ts';
import { IncarnationRangeError, MessageType, decodePacket, noTags, selfName, type SelfName, type SwimMessage, type Tags } from './codec.ts';
import { resolveSwimConfig, type SwimConfig, type SwimConfigInput } from './config.ts';
import { Dissemination } from './dissemination.ts';
import { MembershipEvents } from './events.ts';
import { StateExchange } from './exchange.ts';
import { viewOf } from './health.ts';
import { LocalMember } from './local.ts';
import { Member, emptyStats, type MemberView, type MembershipEvent, type SwimStats } from './member.ts';
import { Prober } from './probe.ts';
import type { StateSeal } from './pushpull.ts';
import { Reaper } from './reaper.ts';
import { Refusals } from './refusals.ts';
import { Responder } from './responder.ts';
import { Suspects } from './suspects.ts';
import { MemberTable } from './table.ts';
import type { SwimTimer, SwimTimers } from './timers.ts';
import { MemberUpdates } from './updates.ts';

export type { SwimDelegate } from './app.ts';

export interface SwimOptions {
  /** This member's name, unique in the cluster. */
  name: string;
  /** Key/value metadata gossiped with the member. @default {} */
  tags?: Tags;
  /** Overrides on top of a preset (`preset: 'lan' | 'wan' | 'local'`). @default LAN */
  config?: SwimConfigInput;
  /** Addresses to join through; any of them may be down. @default [] (first member) */
  seeds?: readonly Address[];
  /**
   * Authenticates push-pull state frames (real mode: the gossip keyring), so membership
   * accepts from an exchange exactly what it accepts from gossip. @default none (plaintext:
   * the simulator, and real nodes started with `--insecure` and no gossip key)
   */
  stateSeal?: StateSeal;
}

/**
 * A SWIM member with Lifeguard (see docs/MEMBERSHIP.md). Callback-style on the Env: all
 * deadlines live in one TimerTable, every decision draws from `env.random`. This class
 * wires the parts (docs/MEMBERSHIP.md, "Inside"), holds the public API, and dispatches
 * datagrams and timers to them.
 */
export class Swim {
  readonly name: string;
  readonly address: Address;
  readonly config: Readonly<SwimConfig>;
  readonly stats: SwimStats = emptyStats();
  private readonly env: Env;
  private readonly interner: Interner;
  private readonly timers: SwimTimers;
  private readonly awareness: Awareness;
  private readonly table: MemberTable;
  private readonly refusals: Refusals;
  private readonly dissemination: Dissemination;
  private readonly events: MembershipEvents;
  private readonly local: LocalMember;
  private readonly updates: MemberUpdates;
  private readonly reaper: Reaper;
  private readonly prober: Prober;
  private readonly responder: Responder;
  private readonly app: AppGossip;
  private readonly exchange: StateExchange;
  private running = false;
  /** This member's name as the pings it answers carry it. */
  private readonly selfName: SelfName | undefined;

  constructor(env: Env, options: SwimOptions) {
    if (typeof options.name !== 'string' || options.name.length === 0) throw new InvalidArgumentError('Swim needs a non-empty name');
    this.env = env;
    const interner = this.interner = env.interner ?? defaultInterner;
    const name = this.name = options.name;
    this.selfName = selfName(name);
    this.address = env.transport.localAddress;
    const c = this.config = Object.freeze(resolveSwimConfig(options.config));
    const seeds = (options.seeds ?? []).filter((s) => s !== this.address);
    const { clock, random } = env;
    const stats = this.stats;
    // The tags are copied: a caller changing its object later must not change them behind the incarnation.
    const self = new Member(name, this.address, 0, options.tags === undefined ? noTags : { ...options.tags });
    const table = this.table = new MemberTable(self, random, clock.now());
    const timers = this.timers = new TimerTable(clock, (key, now) => this.onTimer(key, now));
    const awareness = this.awareness = new Awareness(c.awarenessMax, c.awarenessEnabled);
    const refusals = this.refusals = new Refusals(stats, env.logger);
    const dissemination = this.dissemination = new Dissemination(env.transport.datagrams, interner, c, stats, table, timers);
    const events = this.events = new MembershipEvents(clock);
    const local = this.local = new LocalMember(self, clock, awareness, stats, table, dissemination, events);
    const suspects = new Suspects(c, timers);
    const reaper = this.reaper = new Reaper(name, c, stats, timers, table, suspects, dissemination);
    const admission = new Admission(c, refusals, clock.now());
    const updates = this.updates = new MemberUpdates(name, clock, c, stats, table, local, admission, suspects, reaper, dissemination, events);
    const prober = this.prober = new Prober(name, c, stats, timers, awareness, table, suspects, updates, dissemination);
    this.responder = new Responder(name, clock, c, timers, table, prober, dissemination);
    const app = this.app = new AppGossip(name, dissemination, refusals);
    this.exchange = new StateExchange(name, seeds, clock, random, c, stats, timers, interner, table, admission, updates, app, refusals, env.transport.streams, options.stateSeal);
    local.checkTags();
  }

  // ------------------------------------------------------------------ public API

  /** Sets the application's delegate (app gossip and push-pull state); undefined removes it. */
  setDelegate(delegate: SwimDelegate | undefined): void {
    this.app.setDelegate(delegate);
  }

  /**
   * Disseminates an application broadcast to every member (piggybacked on probes and
   * gossip like membership updates, each member passing it on once). At most
   * `appBroadcastBytesMax` bytes (`LimitExceededError`); when the broadcast queue is full
   * the most-transmitted entries make room, so delivery is best effort.
   */
  broadcast(payload: Uint8Array): void {
    this.app.broadcast(payload);
  }

  /** Starts probing, gossiping and joining through the seeds. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.dissemination.running = true;
    const { random, transport } = this.env;
    this.app.start(random);
    transport.datagrams.onDatagram = (from, payload) => this.onDatagram(from, payload);
    transport.streams.onConnection = (connection) => this.exchange.accept(connection);
    this.dissemination.queueBroadcast(this.local.aliveMessage());
    const c = this.config;
    // Stagger the first probe and push-pull so members started together do not synchronise.
    this.timers.setIn('probe', random.next() * c.probeIntervalMs);
    if (c.pushPullIntervalMs > 0) this.timers.setIn('pushPull', random.next() * c.pushPullIntervalMs);
    this.exchange.join();
  }

  /** Announces a graceful departure; keeps answering probes and gossiping until `stop`. */
  leave(): void {
    if (!this.running || this.local.hasLeft) return;
    this.prober.stop();
    this.local.leave();
    // Tell a few members directly, so the leave does not wait for the next gossip round.
    const now = this.env.clock.now();
    for (let i = 0; i < this.config.gossipNodes; i++) {
      const m = this.table.randomReachable(now, this.config.gossipToTheDeadMs);
      if (m !== undefined) this.dissemination.sendWithGossip(m.address, undefined);
    }
  }

  /** Stops everything at once (no announcement: call `leave` first for a graceful exit). */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.dissemination.running = false;
    this.timers.clearAll();
    this.exchange.closeAll();
    const t = this.env.transport;
    t.datagrams.onDatagram = undefined;
    t.streams.onConnection = undefined;
  }

  /** Every known member, the local node included, as of now. */
  members(): MemberView[] {
    const now = this.env.clock.now();
    const views: MemberView[] = [];
    for (const m of this.table.values()) views.push(viewOf(this.table, m, this.table.changedAtMs(m), now, this.config));
    return views;
  }

  /** One member's view, or undefined when unknown. */
  member(name: string): MemberView | undefined {
    const m = this.table.get(name);
    return m === undefined ? undefined : viewOf(this.table, m, this.table.changedAtMs(m), this.env.clock.now(), this.config);
  }

  /** Alive or suspect members, the local node included. */
  get liveMembers(): number {
    return this.table.liveCount;
  }

  get incarnation(): number {
    return this.local.incarnation;
  }

  /** Lifeguard's local health awareness score (0 = healthy). */
  get localHealth(): number {
    return this.awareness.score;
  }

  get isRunning(): boolean {
    return this.running;
  }

  subscribe(listener: (e: MembershipEvent) => void): () => void {
    return this.events.subscribe(listener);
  }

  /** Replaces this member's tags; gossiped with a new incarnation. */
  setTags(tags: Tags): void {
    this.local.setTags(tags);
  }

  // ------------------------------------------------------------------ dispatch

  private onTimer(key: SwimTimer, now: number): void {
    switch (key) {
      case 'probe': return this.prober.tick(now);
      case 'probeTimeout': return this.prober.timeout();
      case 'gossip': return this.dissemination.gossipTick(this.env.clock.now());
      case 'pushPull': return this.exchange.tick();
      case 'pushPullDeadline': return this.exchange.expire(now);
      case 'suspicion': return this.updates.suspicionTick(now);
      case 'relay': return this.responder.tick(now);
      case 'reap': return this.reaper.tick(now);
      case 'join': return this.exchange.join();
      case 'catchUp': return this.exchange.catchUp();
    }
  }

  private onDatagram(from: Address, payload: Uint8Array): void {
    this.stats.datagramsReceived++;
    this.stats.bytesReceived += payload.length;
    let messages: SwimMessage[];
    try {
      messages = decodePacket(payload, this.interner, this.table, this.selfName);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      this.stats.decodeErrors++;
      if (error instanceof IncarnationRangeError) this.refusals.count('incarnationsRejected', 'refused a message with an incarnation that could never be refuted', { from, incarnation: error.incarnation });
      return;
    }
    for (const m of messages) this.handle(from, m);
  }

  private handle(from: Address, m: SwimMessage): void {
    switch (m.type) {
      case MessageType.Ping:
        // A ping for another name reached a reused address: stay silent.
        if (m.target !== this.name) return;
        return this.responder.ping(from, m.seq);
      case MessageType.IndirectPing:
        return this.responder.relay(from, m.seq, m.target, m.targetAddress, m.wantNack);
      case MessageType.Ack: {
        const now = this.env.clock.now();
        if (!this.prober.ack(m.seq, now)) this.responder.ack(m.seq, now);
        return;
      }
      case MessageType.Nack: return this.prober.nack(m.seq);
      case MessageType.Alive: return this.updates.onAlive(m);
      case MessageType.Suspect: return this.updates.onSuspect(m);
      case MessageType.Dead: return this.updates.onDead(m);
      case MessageType.AppBroadcast: return this.app.received(m);
    }
  }
}
