import type { Address } from '../address.ts';
import type { Env } from '../env.ts';
import { defaultInterner, type Interner } from '../intern.ts';
import { DecodeError, InvalidArgumentError, LimitExceededError, TransportError } from '../errors.ts';
import { PhiAccrualDetector } from '../phi/index.ts';
import { randomInt, shuffle } from '../random.ts';
import { TimerTable } from '../timers.ts';
import { Awareness } from './awareness.ts';
import { BroadcastQueue } from './broadcast.ts';
import { IncarnationRangeError, MessageType, PacketBuilder, Writer, decodePacket, encodeMessage, noTags, writeMessage, type AliveMessage, type AppBroadcastMessage, type DeadMessage, type SuspectMessage, type SwimMessage, type Tags } from './codec.ts';
import { resolveSwimConfig, type SwimConfig, type SwimConfigInput } from './config.ts';
import { expectedConfirmations, failedProbeAwarenessDelta, pushPullIntervalMs, retransmitLimit, suspicionTimeoutBoundsMs } from './formulas.ts';
import { Member, emptyStats, type MemberHealth, type MemberView, type MembershipEvent, type MembershipEventType, type SwimStats } from './member.ts';
import { PartitionDetector } from './partition.ts';
import { PushPull, type PushPullRejection, type StateSeal } from './pushpull.ts';
import { Suspicion } from './suspicion.ts';
import { Tombstones } from './tombstones.ts';
import { WireState, encodeStateEntry, stateEntryBytesMax, type StateEntry, type StateMessage } from './state.ts';

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
 * What an application adds to membership (memberlist's delegates): broadcasts of its own,
 * disseminated epidemically on SWIM's packets, and state exchanged in push-pull. Each
 * callback runs inside the protocol: an exception is caught, logged and counted
 * (`stats.appDelegateErrors`), never allowed to stop the member.
 */
export interface SwimDelegate {
  /** An application broadcast arrived; each (origin, seq) is delivered once per node. */
  onBroadcast?(payload: Uint8Array, origin: string): void;
  /** State to send in a push-pull exchange (both directions). */
  localState?(join: boolean): Uint8Array | undefined;
  /** State a peer sent in a push-pull exchange. */
  mergeRemoteState?(state: Uint8Array, join: boolean): void;
}

/** Application broadcasts remembered (by origin and sequence) so each is delivered and passed on once. */
export const appBroadcastSeenMax = 4_096;

/** How a new member reached this node, for the admission bounds. */
type Admission = 'gossip' | 'push-pull' | 'own-join';

/** The counters a refusal increments. */
type RefusalStat = 'appDelegateErrors' | 'incarnationsRejected' | 'pushPullRejected' | 'pushPullRefusedByPeer' | 'membersRefusedTotal' | 'membersRefusedPerPushPull' | 'membersRefusedRate';

type TimerKey = 'probe' | 'probeTimeout' | 'gossip' | 'pushPull' | 'pushPullDeadline' | 'suspicion' | 'relay' | 'reap' | 'join' | 'catchUp' | 'deadProbe';

/** Suspects told directly of their suspicion per probe period (buddy system). */
export const buddyNotifyMax = 2;

/** Indirect probes this node relays at once; beyond it, requests are dropped. */
export const relaysMax = 1024;

interface Relay {
  readonly requester: Address;
  readonly seq: number;
  readonly wantNack: boolean;
  readonly deadlineMs: number;
  readonly target: string;
}

/**
 * A SWIM member with Lifeguard (see docs/MEMBERSHIP.md). Callback-style on the Env: all
 * deadlines live in one TimerTable, every decision draws from `env.random`.
 */
export class Swim {
  readonly name: string;
  readonly address: Address;
  readonly config: Readonly<SwimConfig>;
  readonly stats: SwimStats = emptyStats();
  private readonly env: Env;
  private readonly interner: Interner;
  private readonly seeds: readonly Address[];
  private readonly self: Member;
  private readonly table = new Map<string, Member>();
  /** Members by address (the local node excluded), to know who a datagram or exchange came from. */
  private readonly byAddress = new Map<Address, Member>();
  private joinCatchUpArmed = false;
  /** Other members in probe order; reshuffled on wrap. */
  private readonly probeList: Member[] = [];
  private probeCursor = 0;
  private readonly timers: TimerTable<TimerKey>;
  private readonly awareness: Awareness;
  private readonly broadcasts: BroadcastQueue;
  private readonly packet: PacketBuilder;
  private readonly scratch: Uint8Array;
  private readonly stateScratch = new Uint8Array(stateEntryBytesMax);
  private readonly pushPull: PushPull;
  private readonly partition: PartitionDetector;
  private readonly listeners = new Set<(e: MembershipEvent) => void>();
  private readonly relays = new Map<number, Relay>();
  private readonly suspects = new Set<Member>();
  private readonly deadQueue: Member[] = [];
  private readonly tombstones: Tombstones;
  private deadQueueHead = 0;
  /** Alive or suspect members, the local node included: the n of every formula. */
  private liveCount = 1;
  private nextSeq = 1;
  private probeTarget: Member | undefined;
  private probeSeq = 0;
  private probeAcked = false;
  private probeNacks = 0;
  private probeExpectedNacks = 0;
  private running = false;
  private leaving = false;
  /** How the messages being handled now arrived, and how many new members this exchange may still add. */
  private admission: Admission = 'gossip';
  private admissionLeft = Infinity;
  /** Token bucket of `newMembersPerSecondMax`. */
  private newMemberTokens: number;
  private newMemberTokensAtMs: number;
  private delegate: SwimDelegate | undefined;
  /** Next sequence number of this node's own application broadcasts (starts at a random value per start). */
  private appSeq = 0;
  /** Application broadcasts already delivered, oldest first (bounded by `appBroadcastSeenMax`). */
  private readonly appSeen = new Set<string>();

  constructor(env: Env, options: SwimOptions) {
    if (typeof options.name !== 'string' || options.name.length === 0) throw new InvalidArgumentError('Swim needs a non-empty name');
    this.env = env;
    this.interner = env.interner ?? defaultInterner;
    this.name = options.name;
    this.address = env.transport.localAddress;
    this.config = Object.freeze(resolveSwimConfig(options.config));
    this.seeds = (options.seeds ?? []).filter((s) => s !== this.address);
    const c = this.config;
    this.self = new Member(this.name, this.address, 0, options.tags ?? noTags, env.clock.now());
    this.table.set(this.name, this.self);
    this.timers = new TimerTable(env.clock, (key, now) => this.onTimer(key, now));
    this.awareness = new Awareness(c.awarenessMax, c.awarenessEnabled);
    this.broadcasts = new BroadcastQueue(c.broadcastQueueMax);
    const packetBytes = Math.min(c.packetBytesMax, env.transport.datagrams.maxDatagramBytes);
    this.packet = new PacketBuilder(packetBytes);
    this.scratch = new Uint8Array(packetBytes);
    this.pushPull = new PushPull(env.transport.streams, {
      localState: (join) => this.localState(join),
      merge: (remote, peer, ownJoin) => this.merge(remote, peer, ownJoin),
      completed: (_to, ok, join) => {
        if (!ok) this.stats.pushPullFailures++;
        this.armPushPullDeadline();
        if (ok && join) this.catchUpAfterJoin();
      },
      rejected: (peer, reason, error) => this.pushPullRejected(peer, reason, error),
      refusedByPeer: (peer) => this.refused('pushPullRefusedByPeer', 'a peer refused our push-pull state as unauthenticated (is our gossip key the cluster\'s?)', { peer }),
    }, c.pushPullConcurrentMax, c.pushPullBytesMax, c.pushPullTimeoutMs, options.stateSeal, this.interner, this.knownAlive);
    this.newMemberTokens = 2 * c.newMembersPerSecondMax;
    this.newMemberTokensAtMs = env.clock.now();
    this.tombstones = new Tombstones(c.deadReapMs);
    this.partition = new PartitionDetector(c.partitionWindowMs, c.partitionFraction, c.partitionMembersMin);
    this.encodeSelfTagsCheck();
  }

  // ------------------------------------------------------------------ public API

  /** Sets the application's delegate (app gossip and push-pull state); undefined removes it. */
  setDelegate(delegate: SwimDelegate | undefined): void {
    this.delegate = delegate;
  }

  /**
   * Disseminates an application broadcast to every member (piggybacked on probes and
   * gossip like membership updates, each member passing it on once). At most
   * `appBroadcastBytesMax` bytes (`LimitExceededError`); when the broadcast queue is full
   * the most-transmitted entries make room, so delivery is best effort.
   */
  broadcast(payload: Uint8Array): void {
    const m: AppBroadcastMessage = { type: MessageType.AppBroadcast, origin: this.name, seq: this.appSeq++, payload: payload.slice() };
    const bytes = this.encoded(m);
    this.seenAppBroadcast(m);
    this.broadcasts.enqueue(appBroadcastKey(m), bytes);
    if (this.running && !this.timers.has('gossip')) this.timers.setIn('gossip', this.config.gossipIntervalMs);
  }

  /** Starts probing, gossiping and joining through the seeds. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.appSeq = randomInt(this.env.random, 0x7fff_ffff);
    const t = this.env.transport;
    t.datagrams.onDatagram = (from, payload) => this.onDatagram(from, payload);
    t.streams.onConnection = (connection) => {
      this.pushPull.accept(connection, this.now());
      this.armPushPullDeadline();
    };
    this.queueBroadcast(this.aliveMessage(this.self));
    const c = this.config;
    // Stagger the first probe and push-pull so members started together do not synchronise.
    this.timers.setIn('probe', this.env.random.next() * c.probeIntervalMs);
    if (c.pushPullIntervalMs > 0) this.timers.setIn('pushPull', this.env.random.next() * c.pushPullIntervalMs);
    if (c.deadProbeIntervalMs > 0) this.timers.setIn('deadProbe', (1 + this.env.random.next()) * c.deadProbeIntervalMs);
    this.join();
  }

  /**
   * One early push-pull a few probe periods after joining. Members started together join
   * through seeds that do not know each other yet, and the gossip announcing them is
   * spent after a few transmissions; without this a member could miss another for a whole
   * push-pull interval (memberlist has this gap). Once per start, so the cost is bounded.
   */
  private catchUpAfterJoin(): void {
    if (this.joinCatchUpArmed) return;
    this.joinCatchUpArmed = true;
    this.timers.setIn('catchUp', (1 + 2 * this.env.random.next()) * this.config.probeIntervalMs);
  }

  /**
   * Pings one dead member (not yet reaped) with our verdict attached. Nothing is concluded from
   * silence (it is dead as far as we know); an answer carries its refutation, and its
   * ack carries its verdict on us if it holds us dead. This is what merges the two sides
   * of a healed partition within a few periods (memberlist leaves it to push-pull, or to
   * serf's reconnect loop).
   */
  private deadProbe(): void {
    this.timers.setIn('deadProbe', this.config.deadProbeIntervalMs);
    const now = this.now();
    const list = this.probeList;
    for (let tries = 0; tries < 8 && list.length > 0; tries++) {
      const m = list[randomInt(this.env.random, list.length)]!;
      if (m.state !== 'dead' || now - m.stateChangedAtMs >= this.config.deadReapMs) continue;
      const p = this.packet.reset();
      p.add({ type: MessageType.Dead, name: m.name, incarnation: m.incarnation, from: this.name });
      p.add({ type: MessageType.Ping, seq: this.nextSeq++, target: m.name });
      this.send(m.address, p.view());
      return;
    }
  }

  /** The catch-up exchange goes to a seed: every member that joined through it is known there. */
  private catchUp(): void {
    const seeds = this.seeds.filter((s) => s !== this.address);
    const to = seeds.length > 0 ? seeds[randomInt(this.env.random, seeds.length)]! : this.randomMember(undefined, true)?.address;
    if (to !== undefined && this.pushPull.start(to, this.now(), false)) this.stats.pushPulls++;
    this.armPushPullDeadline();
  }

  /** Announces a graceful departure; keeps answering probes and gossiping until `stop`. */
  leave(): void {
    if (!this.running || this.leaving) return;
    this.leaving = true;
    this.setState(this.self, 'left');
    this.timers.clear('probe');
    this.timers.clear('probeTimeout');
    const leaveMessage: DeadMessage = { type: MessageType.Dead, name: this.name, incarnation: this.self.incarnation, from: this.name };
    this.queueBroadcast(leaveMessage);
    // Tell a few members directly, so the leave does not wait for the next gossip round.
    for (let i = 0; i < this.config.gossipNodes; i++) {
      const m = this.randomMember(undefined, false);
      if (m !== undefined) this.sendWithGossip(m.address, undefined);
    }
  }

  /** Stops everything at once (no announcement: call `leave` first for a graceful exit). */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.timers.clearAll();
    this.pushPull.closeAll();
    const t = this.env.transport;
    t.datagrams.onDatagram = undefined;
    t.streams.onConnection = undefined;
  }

  /** Every known member, the local node included, as of now. */
  members(): MemberView[] {
    const now = this.now();
    const views: MemberView[] = [];
    for (const m of this.table.values()) views.push(this.view(m, now));
    return views;
  }

  /** One member's view, or undefined when unknown. */
  member(name: string): MemberView | undefined {
    const m = this.table.get(name);
    return m === undefined ? undefined : this.view(m, this.now());
  }

  /** Alive or suspect members, the local node included. */
  get liveMembers(): number {
    return this.liveCount;
  }

  get incarnation(): number {
    return this.self.incarnation;
  }

  /** Lifeguard's local health awareness score (0 = healthy). */
  get localHealth(): number {
    return this.awareness.score;
  }

  get isRunning(): boolean {
    return this.running;
  }

  subscribe(listener: (e: MembershipEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Replaces this member's tags; gossiped with a new incarnation. */
  setTags(tags: Tags): void {
    this.self.tags = { ...tags };
    this.encodeSelfTagsCheck();
    this.self.incarnation++;
    this.queueBroadcast(this.aliveMessage(this.self));
  }

  // ------------------------------------------------------------------ timers

  private onTimer(key: TimerKey, now: number): void {
    switch (key) {
      case 'probe': return this.probeTick(now);
      case 'probeTimeout': return this.probeTimeout();
      case 'gossip': return this.gossipTick();
      case 'pushPull': return this.pushPullTick();
      case 'pushPullDeadline':
        this.pushPull.expire(now);
        return this.armPushPullDeadline();
      case 'suspicion': return this.suspicionTick(now);
      case 'relay': return this.relayTick(now);
      case 'reap': return this.reapTick(now);
      case 'join': return this.join();
      case 'catchUp': return this.catchUp();
      case 'deadProbe': return this.deadProbe();
    }
  }

  private probeTick(now: number): void {
    this.finishProbe();
    const target = this.nextProbeTarget();
    this.timers.set('probe', now + this.awareness.scale(this.config.probeIntervalMs));
    if (target === undefined) return;
    this.probeTarget = target;
    this.probeSeq = this.nextSeq++;
    this.probeAcked = false;
    this.probeNacks = 0;
    this.probeExpectedNacks = 0;
    this.stats.probes++;
    const p = this.packet.reset();
    // Buddy system: a suspect learns of the suspicion from the probe itself and refutes at once.
    if (this.config.buddySystemEnabled && target.state === 'suspect') {
      p.add({ type: MessageType.Suspect, name: target.name, incarnation: target.incarnation, from: this.name });
    }
    p.add({ type: MessageType.Ping, seq: this.probeSeq, target: target.name });
    this.sendWithGossip(target.address, p);
    this.timers.set('probeTimeout', now + this.config.probeTimeoutMs);
    if (this.config.buddySystemEnabled) this.notifySuspects(target);
  }

  /**
   * Buddy system, extended: a suspicion whose gossip was lost (this node was cut off when
   * it spread) would otherwise expire unseen by the suspect. Telling the suspect directly,
   * a few per period, gives it the chance to refute whatever the probe order.
   */
  private notifySuspects(probed: Member): void {
    let sent = 0;
    for (const m of this.suspects) {
      if (sent >= buddyNotifyMax) break;
      if (m === probed) continue;
      this.sendMessage(m.address, { type: MessageType.Suspect, name: m.name, incarnation: m.incarnation, from: this.name });
      sent++;
    }
  }

  /** Direct probe unanswered: ask k other members to probe the target (ping-req). */
  private probeTimeout(): void {
    const target = this.probeTarget;
    if (target === undefined || this.probeAcked) return;
    const k = this.config.indirectChecks;
    const wantNack = this.config.awarenessEnabled;
    const chosen = new Set<Member>();
    for (let tries = 0; tries < 3 * k && chosen.size < k; tries++) {
      const m = this.randomMember(target, true);
      if (m === undefined) break;
      if (m.state !== 'alive' || chosen.has(m)) continue;
      chosen.add(m);
      const p = this.packet.reset();
      p.add({ type: MessageType.IndirectPing, seq: this.probeSeq, target: target.name, targetAddress: target.address, wantNack });
      this.send(m.address, p.view());
      this.stats.indirectProbes++;
    }
    if (wantNack) this.probeExpectedNacks = chosen.size;
  }

  /** Closes the probe in flight: a probe without ack makes the target suspect. */
  private finishProbe(): void {
    const target = this.probeTarget;
    if (target === undefined) return;
    this.probeTarget = undefined;
    this.timers.clear('probeTimeout');
    if (this.probeAcked) return;
    this.awareness.apply(failedProbeAwarenessDelta(this.probeExpectedNacks, this.probeNacks));
    if (target.live && this.table.get(target.name) === target) {
      this.onSuspect({ type: MessageType.Suspect, name: target.name, incarnation: target.incarnation, from: this.name });
    }
  }

  /** Round-robin over the probe list, skipping dead and left members; reshuffles on wrap. */
  private nextProbeTarget(): Member | undefined {
    const list = this.probeList;
    for (let checked = 0; checked < list.length; checked++) {
      if (this.probeCursor >= list.length) {
        this.probeCursor = 0;
        shuffle(this.env.random, list);
        for (let i = 0; i < list.length; i++) list[i]!.probeIndex = i;
      }
      const m = list[this.probeCursor++]!;
      if (m.live) return m;
    }
    return undefined;
  }

  private gossipTick(): void {
    if (this.broadcasts.size === 0) return;
    const now = this.now();
    for (let i = 0; i < this.config.gossipNodes && this.broadcasts.size > 0; i++) {
      const m = this.randomMember(undefined, false, now);
      if (m === undefined) break;
      this.sendWithGossip(m.address, undefined);
    }
    if (this.broadcasts.size > 0) this.timers.setIn('gossip', this.config.gossipIntervalMs);
  }

  private pushPullTick(): void {
    const c = this.config;
    this.timers.setIn('pushPull', pushPullIntervalMs(c.pushPullIntervalMs, this.liveCount));
    // Dead members are candidates until reaped: that is how a healed partition merges back.
    const m = this.randomMember(undefined, false, this.now(), c.deadReapMs);
    if (m === undefined) return;
    if (this.pushPull.start(m.address, this.now(), false)) this.stats.pushPulls++;
    this.armPushPullDeadline();
  }

  private armPushPullDeadline(): void {
    const next = this.pushPull.nextDeadlineMs();
    if (next === Infinity) this.timers.clear('pushPullDeadline');
    else this.timers.set('pushPullDeadline', next);
  }

  /** Joins through every seed at once; retried while no other member is known. */
  private join(): void {
    if (!this.running || this.seeds.length === 0) return;
    if (this.liveCount > 1) return;
    for (const seed of this.seeds) if (this.pushPull.start(seed, this.now(), true)) this.stats.pushPulls++;
    this.armPushPullDeadline();
    this.timers.setIn('join', this.config.joinRetryIntervalMs);
  }

  private suspicionTick(now: number): void {
    for (const m of [...this.suspects]) {
      if (m.suspicion !== undefined && m.suspicion.deadlineMs <= now) {
        this.onDead({ type: MessageType.Dead, name: m.name, incarnation: m.incarnation, from: this.name });
      }
    }
    this.armSuspicion();
  }

  private armSuspicion(): void {
    let next = Infinity;
    for (const m of this.suspects) if (m.suspicion !== undefined && m.suspicion.deadlineMs < next) next = m.suspicion.deadlineMs;
    if (next === Infinity) this.timers.clear('suspicion');
    else if (this.timers.deadline('suspicion') !== next) this.timers.set('suspicion', next);
  }

  private relayTick(now: number): void {
    for (const [seq, r] of this.relays) {
      if (r.deadlineMs > now) continue;
      this.relays.delete(seq);
      if (r.wantNack) this.sendMessage(r.requester, { type: MessageType.Nack, seq: r.seq });
    }
    this.armRelay();
  }

  private armRelay(): void {
    let next = Infinity;
    for (const r of this.relays.values()) if (r.deadlineMs < next) next = r.deadlineMs;
    if (next === Infinity) this.timers.clear('relay');
    else this.timers.set('relay', next);
  }

  /** Forgets dead and left members `deadReapMs` after they were declared, oldest first. */
  private reapTick(now: number): void {
    const q = this.deadQueue;
    while (this.deadQueueHead < q.length) {
      const m = q[this.deadQueueHead]!;
      const stillGone = !m.live && this.table.get(m.name) === m;
      if (stillGone && m.stateChangedAtMs + this.config.deadReapMs > now) break;
      this.deadQueueHead++;
      if (stillGone) {
        this.remove(m);
        this.tombstones.bury(m.name, m.incarnation, m.state === 'left', now);
      }
    }
    if (this.deadQueueHead > 1024 && this.deadQueueHead * 2 > q.length) {
      q.splice(0, this.deadQueueHead);
      this.deadQueueHead = 0;
    }
    this.armReap();
  }

  private armReap(): void {
    const head = this.deadQueue[this.deadQueueHead];
    if (head === undefined) this.timers.clear('reap');
    else if (!this.timers.has('reap')) this.timers.set('reap', head.stateChangedAtMs + this.config.deadReapMs);
  }

  // ------------------------------------------------------------------ datagrams

  private onDatagram(from: Address, payload: Uint8Array): void {
    this.stats.datagramsReceived++;
    this.stats.bytesReceived += payload.length;
    let messages: SwimMessage[];
    try {
      messages = decodePacket(payload, this.interner, this.knownAlive);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      this.stats.decodeErrors++;
      if (error instanceof IncarnationRangeError) this.refused('incarnationsRejected', 'refused a message with an incarnation that could never be refuted', { from, incarnation: error.incarnation });
      return;
    }
    for (const m of messages) this.handle(from, m);
  }

  private pushPullRejected(peer: Address, reason: PushPullRejection, error: DecodeError | undefined): void {
    if (error instanceof IncarnationRangeError) {
      this.refused('incarnationsRejected', 'refused a push-pull state with an incarnation that could never be refuted', { from: peer, incarnation: error.incarnation });
    }
    this.refused('pushPullRejected', `refused a push-pull state frame: ${reason}`, { from: peer, reason, ...(error === undefined ? {} : { error: error.message }) });
  }

  /**
   * Counts a refusal and logs it: the first, then each time the count doubles, so a flood
   * of bad input cannot flood the log.
   */
  private refused(stat: RefusalStat, message: string, fields: Record<string, unknown>): void {
    const count = ++this.stats[stat];
    if ((count & (count - 1)) === 0) this.env.logger.log('warn', message, { ...fields, [stat]: count });
  }

  /** Whether a member this node has never seen may be added now (see the `membersMax` family of bounds). */
  private admitNewMember(name: string): boolean {
    const c = this.config;
    if (this.table.size >= c.membersMax) {
      this.refused('membersRefusedTotal', 'refused a new member: the member table is full', { member: name, membersMax: c.membersMax });
      return false;
    }
    if (this.admission === 'own-join') return true;
    if (this.admissionLeft <= 0) {
      this.refused('membersRefusedPerPushPull', 'refused a new member: too many in one push-pull', { member: name, pushPullNewMembersMax: c.pushPullNewMembersMax });
      return false;
    }
    const now = this.now();
    const capacity = 2 * c.newMembersPerSecondMax;
    this.newMemberTokens = Math.min(capacity, this.newMemberTokens + (now - this.newMemberTokensAtMs) * c.newMembersPerSecondMax / 1000);
    this.newMemberTokensAtMs = now;
    if (this.newMemberTokens < 1) {
      this.refused('membersRefusedRate', 'refused a new member: new members arrive faster than allowed', { member: name, newMembersPerSecondMax: c.newMembersPerSecondMax });
      return false;
    }
    this.newMemberTokens--;
    this.admissionLeft--;
    return true;
  }

  private handle(from: Address, m: SwimMessage): void {
    switch (m.type) {
      case MessageType.Ping:
        // A ping for another name reached a reused address: stay silent.
        if (m.target !== this.name) return;
        return this.sendWithGossip(from, this.noticeTo(from), { type: MessageType.Ack, seq: m.seq });
      case MessageType.IndirectPing:
        return this.relay(from, m.seq, m.target, m.targetAddress, m.wantNack);
      case MessageType.Ack:
        return this.onAck(m.seq);
      case MessageType.Nack:
        if (m.seq === this.probeSeq && this.probeTarget !== undefined) {
          this.probeNacks++;
          this.stats.nacks++;
        }
        return;
      case MessageType.Alive: return this.onAlive(m);
      case MessageType.Suspect: return this.onSuspect(m);
      case MessageType.Dead: return this.onDead(m);
      case MessageType.AppBroadcast: return this.onAppBroadcast(m);
    }
  }

  private onAppBroadcast(m: AppBroadcastMessage): void {
    if (!this.seenAppBroadcast(m)) return;
    this.broadcasts.enqueue(appBroadcastKey(m), this.encoded(m));
    if (this.running && !this.timers.has('gossip')) this.timers.setIn('gossip', this.config.gossipIntervalMs);
    const onBroadcast = this.delegate?.onBroadcast;
    if (onBroadcast !== undefined) this.callDelegate('onBroadcast', () => onBroadcast(m.payload, m.origin));
  }

  /** Remembers a broadcast; false if it was already seen. */
  private seenAppBroadcast(m: AppBroadcastMessage): boolean {
    const key = appBroadcastKey(m);
    if (this.appSeen.has(key)) return false;
    if (this.appSeen.size >= appBroadcastSeenMax) this.appSeen.delete(this.appSeen.values().next().value!);
    this.appSeen.add(key);
    return true;
  }

  /** Runs application code; what it throws is logged and counted, never propagated. */
  private callDelegate<T>(callback: string, body: () => T): T | undefined {
    try {
      return body();
    } catch (error) {
      this.refused('appDelegateErrors', `application delegate ${callback} threw`, { error: (error as Error)?.message ?? String(error) });
      return undefined;
    }
  }

  /**
   * A packet for a member that just pinged us, carrying our verdict on it when we hold it
   * suspect or dead: it refutes at once instead of waiting for gossip that may already be
   * spent (a member whose outbound path was cut hears of its own death during the cut,
   * refutes, and its refutation is lost; after the heal this is how the others learn).
   */
  private noticeTo(from: Address): PacketBuilder {
    const p = this.packet.reset();
    const sender = this.byAddress.get(from);
    if (sender === undefined || sender.state === 'alive' || sender.state === 'left') return p;
    const type = sender.state === 'dead' ? MessageType.Dead : MessageType.Suspect;
    p.add({ type, name: sender.name, incarnation: sender.incarnation, from: this.name });
    return p;
  }

  private relay(requester: Address, seq: number, target: string, targetAddress: Address, wantNack: boolean): void {
    if (this.relays.size >= relaysMax) return;
    const relaySeq = this.nextSeq++;
    this.relays.set(relaySeq, { requester, seq, wantNack, deadlineMs: this.now() + this.config.probeTimeoutMs, target });
    const p = this.packet.reset();
    p.add({ type: MessageType.Ping, seq: relaySeq, target });
    this.send(targetAddress, p.view());
    this.armRelay();
  }

  private onAck(seq: number): void {
    const now = this.now();
    if (seq === this.probeSeq && this.probeTarget !== undefined) {
      if (this.probeAcked) return;
      this.probeAcked = true;
      this.stats.acks++;
      this.awareness.apply(-1);
      this.heartbeat(this.probeTarget, now);
      return;
    }
    const r = this.relays.get(seq);
    if (r === undefined) return;
    this.relays.delete(seq);
    const target = this.table.get(r.target);
    if (target !== undefined) this.heartbeat(target, now);
    this.sendMessage(r.requester, { type: MessageType.Ack, seq: r.seq });
  }

  /**
   * Feeds a member's phi detector. The detector is created at the second ack (replaying the
   * first): round-robin probing acks each member about once per n periods, so most members
   * of a large cluster never get a second one, and a detector costs far more than two numbers.
   */
  private heartbeat(m: Member, now: number): void {
    if (m.phi !== undefined) return m.phi.heartbeat(now);
    if (m.firstHeartbeatMs < 0) {
      m.firstHeartbeatMs = now;
      // Round-robin probing reaches each member about once per n periods.
      m.firstIntervalMs = this.config.probeIntervalMs * Math.max(1, this.liveCount - 1);
      return;
    }
    m.phi = this.detector(m);
    m.phi.heartbeat(now);
  }

  /** A detector that has seen the member's first heartbeat. */
  private detector(m: Member): PhiAccrualDetector {
    const c = this.config;
    const phi = new PhiAccrualDetector({ model: c.phiModel, windowSize: c.phiWindowSize, firstIntervalMs: m.firstIntervalMs, minStdDevMs: c.probeIntervalMs });
    phi.heartbeat(m.firstHeartbeatMs);
    return phi;
  }

  private phiOf(m: Member, now: number): number {
    if (m.phi !== undefined) return m.phi.phi(now);
    return m.firstHeartbeatMs < 0 ? 0 : this.detector(m).phi(now);
  }

  // ------------------------------------------------------------------ state machine

  /**
   * An Alive of a reaped member no newer than its verdict: refused, and the member is told
   * (at most once per probe interval), so one that restarted refutes with a higher incarnation.
   */
  private refusedByTombstone(a: AliveMessage): boolean {
    const now = this.now();
    const t = this.tombstones.refusing(a.name, a.incarnation, now);
    if (t === undefined) return false;
    this.stats.staleAlivesRefused++;
    if (now - t.toldAtMs >= this.config.probeIntervalMs) {
      t.toldAtMs = now;
      this.sendMessage(a.address, { type: MessageType.Dead, name: a.name, incarnation: t.incarnation, from: t.left ? a.name : this.name });
    }
    return true;
  }

  /** An Alive that `onAlive` would ignore: about another member, at an incarnation already held. */
  private readonly knownAlive = (name: string, incarnation: number): boolean => {
    if (name === this.name) return false;
    const m = this.table.get(name);
    return m !== undefined && incarnation <= m.incarnation;
  };

  private onAlive(a: AliveMessage): void {
    if (a.name === this.name) {
      if (a.incarnation > this.self.incarnation && !this.leaving) this.refute(a.incarnation);
      return;
    }
    let m = this.table.get(a.name);
    if (m === undefined) {
      if (this.refusedByTombstone(a) || !this.admitNewMember(a.name)) return;
      m = new Member(a.name, a.address, a.incarnation, a.tags, this.now());
      this.add(m);
      // The members a joining node pulls from its seeds were gossiped when they joined:
      // passing every one on again would make each join cost O(n log n) messages per
      // member already there (a storm of n² log n while a cluster starts).
      if (this.admission !== 'own-join') this.queueBroadcast(a);
      this.emit('joined', m, { tags: m.tags });
      return;
    }
    if (a.incarnation <= m.incarnation) return;
    const previous = m.state;
    const tagsChanged = !sameTags(m.tags, a.tags);
    m.incarnation = a.incarnation;
    if (m.address !== a.address) {
      if (this.byAddress.get(m.address) === m) this.byAddress.delete(m.address);
      m.address = a.address;
      this.byAddress.set(m.address, m);
    }
    m.tags = a.tags;
    this.clearSuspicion(m);
    this.setState(m, 'alive');
    this.queueBroadcast(a);
    if (previous === 'suspect') this.emit('alive', m);
    else if (previous === 'dead' || previous === 'left') {
      if (previous === 'dead') this.stats.failedThenAlive++;
      this.emit('joined', m, { tags: m.tags });
    } else if (tagsChanged) this.emit('updated', m, { tags: m.tags });
    if (previous !== 'alive') this.partitionReturn(m);
  }

  private onSuspect(s: SuspectMessage): void {
    if (s.name === this.name) return this.accused(s.incarnation, s.from);
    const m = this.table.get(s.name);
    if (m === undefined || s.incarnation < m.incarnation || !m.live) return;
    if (m.state === 'suspect' && m.suspicion !== undefined && s.incarnation === m.incarnation) {
      // An independent confirmation shortens the timeout and is gossiped on.
      if (m.suspicion.confirm(s.from)) {
        this.queueBroadcast(s);
        this.armSuspicion();
      }
      return;
    }
    m.incarnation = s.incarnation;
    this.clearSuspicion(m);
    this.setState(m, 'suspect');
    const c = this.config;
    const { minMs, maxMs } = suspicionTimeoutBoundsMs(c.suspicionMult, c.suspicionMaxTimeoutMult, this.liveCount, c.probeIntervalMs);
    const expected = c.dynamicSuspicionEnabled ? expectedConfirmations(c.suspicionMult, this.liveCount) : 0;
    m.suspicion = new Suspicion(s.incarnation, s.from, this.now(), expected, minMs, maxMs);
    this.suspects.add(m);
    this.armSuspicion();
    this.stats.suspicions++;
    this.queueBroadcast(s);
    this.emit('suspect', m, { phi: this.phiOf(m, this.now()), from: s.from });
    this.unreachable(m);
  }

  /**
   * A member became suspect or was declared failed: both are evidence that it cannot be
   * reached. Counting failures too matters when probing slows (Lifeguard) and the members
   * behind a cut become suspect one by one further apart than the detection window.
   */
  private unreachable(m: Member): void {
    const detected = this.partition.suspected(m.name, this.now(), this.table.size - 1);
    if (detected !== undefined) this.emitPartition('partition-detected', detected);
  }

  private onDead(d: DeadMessage): void {
    if (d.name === this.name) return this.accused(d.incarnation, d.from);
    const m = this.table.get(d.name);
    if (m === undefined || d.incarnation < m.incarnation || !m.live) return;
    const left = d.from === d.name;
    m.incarnation = d.incarnation;
    this.clearSuspicion(m);
    this.setState(m, left ? 'left' : 'dead');
    this.queueBroadcast(d);
    if (!left) this.stats.failures++;
    this.emit(left ? 'left' : 'failed', m, left ? {} : { from: d.from });
    if (!left) this.unreachable(m);
    this.deadQueue.push(m);
    this.armReap();
  }

  /** Someone (`from`) suspects us or holds us dead: refute unless already past it, and tell them. */
  private accused(incarnation: number, from: string): void {
    if (this.leaving) return;
    if (incarnation >= this.self.incarnation) this.refute(incarnation);
    this.tellAlive(from);
  }

  private refute(seenIncarnation: number): void {
    this.self.incarnation = Math.max(this.self.incarnation, seenIncarnation) + 1;
    this.awareness.apply(1);
    this.stats.refutations++;
    this.queueBroadcast(this.aliveMessage(this.self));
    this.emit('refuted', this.self);
  }

  /**
   * `name` suspects us or holds us dead. Whether we just refuted or had refuted before
   * (and our refutation missed it: its gossip was spent, or lost across a cut that has
   * since healed), tell it directly rather than hope gossip reaches it: it holds the
   * suspicion timer. Once per notice, so this stays bounded by gossip and probes.
   */
  private tellAlive(name: string): void {
    const m = name === this.name ? undefined : this.table.get(name);
    if (m !== undefined) this.sendMessage(m.address, this.aliveMessage(this.self));
  }

  private partitionReturn(m: Member): void {
    const healed = this.partition.returned(m.name);
    if (healed !== undefined) this.emitPartition('partition-healed', healed);
  }

  private clearSuspicion(m: Member): void {
    if (m.suspicion === undefined) return;
    m.suspicion = undefined;
    this.suspects.delete(m);
    this.armSuspicion();
  }

  private setState(m: Member, state: Member['state']): void {
    if (m.state === state) return;
    const wasLive = m.live;
    m.state = state;
    m.stateChangedAtMs = this.now();
    if (wasLive !== m.live) this.liveCount += m.live ? 1 : -1;
  }

  /** Adds a new member at a random position of the probe list (bounds time to first probe). */
  private add(m: Member): void {
    this.table.set(m.name, m);
    this.byAddress.set(m.address, m);
    this.liveCount++;
    const list = this.probeList;
    const at = randomInt(this.env.random, list.length + 1);
    const displaced = list[at];
    list.push(m);
    m.probeIndex = list.length - 1;
    if (displaced !== undefined) {
      list[at] = m;
      m.probeIndex = at;
      list[list.length - 1] = displaced;
      displaced.probeIndex = list.length - 1;
    }
  }

  private remove(m: Member): void {
    this.table.delete(m.name);
    if (this.byAddress.get(m.address) === m) this.byAddress.delete(m.address);
    this.broadcasts.remove(m.name);
    this.clearSuspicion(m);
    if (m.live) this.liveCount--;
    const list = this.probeList;
    const last = list.pop()!;
    if (last !== m) {
      list[m.probeIndex] = last;
      last.probeIndex = m.probeIndex;
    }
    m.probeIndex = -1;
  }

  // ------------------------------------------------------------------ push-pull

  private localState(join: boolean): StateMessage {
    const members: StateEntry[] = [];
    for (const m of this.table.values()) members.push(this.stateEntry(m));
    const local = this.delegate?.localState;
    const appState = local === undefined ? undefined : this.callDelegate('localState', () => local(join));
    return appState === undefined ? { join, members } : { join, members, appState };
  }

  /**
   * A member's push-pull entry, encoded, cached on the member until its incarnation or
   * state changes (its address and tags change only with its incarnation), the bytes shared.
   */
  private stateEntry(m: Member): StateEntry {
    const state = wireState(m.state);
    const cached = m.entry;
    if (cached !== undefined && cached.incarnation === m.incarnation && cached.state === state) return cached;
    const entry: StateEntry = { name: m.name, address: m.address, incarnation: m.incarnation, state, tags: m.tags };
    entry.wire = this.interner.bytes(encodeStateEntry(entry, this.stateScratch));
    m.entry = entry;
    return entry;
  }

  private merge(remote: StateMessage, peer: Address, ownJoin: boolean): void {
    this.admission = ownJoin ? 'own-join' : 'push-pull';
    this.admissionLeft = this.config.pushPullNewMembersMax;
    try {
      this.mergeEntries(remote, peer);
    } finally {
      this.admission = 'gossip';
      this.admissionLeft = Infinity;
    }
    const mergeRemote = this.delegate?.mergeRemoteState;
    const appState = remote.appState;
    if (mergeRemote !== undefined && appState !== undefined) this.callDelegate('mergeRemoteState', () => mergeRemote(appState, remote.join));
  }

  private mergeEntries(remote: StateMessage, peer: Address): void {
    // The peer's verdict of suspect or dead is its own, independent of ours: it counts as a
    // confirmation of a suspicion we already hold (memberlist counts it as ours, so a
    // suspicion this node started waits out the maximum timeout even when every peer has
    // long declared the member dead and their dead messages were lost). A peer we cannot
    // name (an address we do not know) confirms nothing.
    const from = this.byAddress.get(peer)?.name ?? this.name;
    for (const e of remote.members) {
      switch (e.state) {
        case WireState.Alive:
          this.onAlive({ type: MessageType.Alive, name: e.name, address: e.address, incarnation: e.incarnation, tags: e.tags });
          break;
        case WireState.Left:
          this.onDead({ type: MessageType.Dead, name: e.name, incarnation: e.incarnation, from: e.name });
          break;
        default:
          // A peer's verdict of dead is only a suspicion here: we verify it ourselves.
          this.onSuspect({ type: MessageType.Suspect, name: e.name, incarnation: e.incarnation, from });
      }
    }
  }

  // ------------------------------------------------------------------ sending

  /** Sends `packet` (or an empty one) plus `extra`, filled with pending broadcasts, to `to`. */
  private sendWithGossip(to: Address, packet: PacketBuilder | undefined, extra?: SwimMessage): void {
    const p = packet ?? this.packet.reset();
    if (extra !== undefined) p.add(extra);
    const before = p.view().length;
    this.broadcasts.fill(p, retransmitLimit(this.config.retransmitMult, this.liveCount));
    const view = p.view();
    this.stats.gossipBytesSent += view.length - before;
    if (view.length > 1) this.send(to, view);
  }

  /** Sends one message on its own, without gossip (relay answers must stay small and quick). */
  private sendMessage(to: Address, m: SwimMessage): void {
    const p = this.packet.reset();
    p.add(m);
    this.send(to, p.view());
  }

  private send(to: Address, bytes: Uint8Array): void {
    try {
      this.env.transport.datagrams.send(to, bytes);
      this.stats.datagramsSent++;
      this.stats.bytesSent += bytes.length;
    } catch (error) {
      if (!(error instanceof TransportError) && !(error instanceof InvalidArgumentError)) throw error;
    }
  }

  private queueBroadcast(m: SwimMessage & { name: string }): void {
    this.broadcasts.enqueue(m.name, this.encoded(m));
    if (this.running && !this.timers.has('gossip')) this.timers.setIn('gossip', this.config.gossipIntervalMs);
  }

  /**
   * A random other member: live ones, or without `liveOnly` also dead ones declared within
   * `deadWithinMs` (so a healed partition is found again). O(1) expected.
   */
  private randomMember(exclude: Member | undefined, liveOnly: boolean, now = this.now(), deadWithinMs = this.config.gossipToTheDeadMs): Member | undefined {
    const list = this.probeList;
    if (list.length === 0) return undefined;
    for (let tries = 0; tries < 16; tries++) {
      const m = list[randomInt(this.env.random, list.length)]!;
      if (m === exclude) continue;
      if (m.live) return m;
      if (!liveOnly && m.state === 'dead' && now - m.stateChangedAtMs < deadWithinMs) return m;
    }
    return undefined;
  }

  // ------------------------------------------------------------------ views and events

  private view(m: Member, now: number): MemberView {
    const phi = this.phiOf(m, now);
    return {
      name: m.name, address: m.address, state: m.state, incarnation: m.incarnation, tags: m.tags, phi,
      health: healthOf(m.state, phi, this.config.phiDegradedThreshold), stateChangedAtMs: m.stateChangedAtMs,
    };
  }

  private emit(type: MembershipEventType, m: Member, extra: Partial<MembershipEvent> = {}): void {
    if (this.listeners.size === 0) return;
    const event: MembershipEvent = { type, name: m.name, address: m.address, incarnation: m.incarnation, atMs: this.now(), ...extra };
    for (const listener of this.listeners) listener(event);
  }

  private emitPartition(type: 'partition-detected' | 'partition-healed', members: readonly string[]): void {
    if (this.listeners.size === 0) return;
    const event: MembershipEvent = { type, name: '', address: '', incarnation: 0, atMs: this.now(), members };
    for (const listener of this.listeners) listener(event);
  }

  /** A message encoded once, its bytes shared with every member that queues the same update. */
  private encoded(m: SwimMessage): Uint8Array {
    const w = new Writer(this.scratch);
    writeMessage(w, m);
    return this.interner.bytes(this.scratch.subarray(0, w.offset));
  }

  private aliveMessage(m: Member): AliveMessage {
    return { type: MessageType.Alive, name: m.name, address: m.address, incarnation: m.incarnation, tags: m.tags };
  }

  /** Refuses tags that could never be gossiped (too many, too large). */
  private encodeSelfTagsCheck(): void {
    try {
      encodeMessage(this.aliveMessage(this.self), this.scratch);
    } catch (error) {
      if (error instanceof LimitExceededError) throw new InvalidArgumentError(`tags of ${this.name} too large to gossip: ${error.message}`);
      throw error;
    }
  }

  private now(): number {
    return this.env.clock.now();
  }
}

export function healthOf(state: Member['state'], phi: number, degradedThreshold: number): MemberHealth {
  if (state === 'suspect') return 'suspect';
  if (state === 'dead' || state === 'left') return 'dead';
  return phi >= degradedThreshold ? 'degraded' : 'healthy';
}

function wireState(state: Member['state']): (typeof WireState)[keyof typeof WireState] {
  switch (state) {
    case 'alive': return WireState.Alive;
    case 'suspect': return WireState.Suspect;
    case 'dead': return WireState.Dead;
    case 'left': return WireState.Left;
  }
}

function appBroadcastKey(m: AppBroadcastMessage): string {
  return `\u0000app\u0000${m.origin}\u0000${m.seq}`;
}

function sameTags(a: Tags, b: Tags): boolean {
  if (a === b) return true;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}
