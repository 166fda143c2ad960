import type { Address } from '../address.ts';
import type { Clock } from '../clock.ts';
import type { DecodeError } from '../errors.ts';
import type { Interner } from '../intern.ts';
import { randomInt, type Random } from '../random.ts';
import type { Connection, StreamService } from '../transport.ts';
import type { Admission } from './admission.ts';
import type { AppGossip } from './app.ts';
import { IncarnationRangeError, MessageType } from './codec.ts';
import type { SwimConfig } from './config.ts';
import { pushPullIntervalMs } from './formulas.ts';
import type { Member, SwimStats } from './member.ts';
import { PushPull, type PushPullHost, type PushPullRejection, type StateSeal } from './pushpull.ts';
import type { Refusals } from './refusals.ts';
import { KeptStateFrame } from './stateframe.ts';
import { WireState, encodeStateEntry, stateEntryBytesMax, type OutgoingState, type StateMessage } from './state.ts';
import type { MemberTable } from './table.ts';
import type { SwimTimers } from './timers.ts';
import type { MemberUpdates } from './updates.ts';

/**
 * Membership's side of push-pull anti-entropy (`PushPull` moves the frames): joining
 * through the seeds, the periodic exchange with a random member, one catch-up after the
 * join, this node's state as entries, and a peer's entries merged as Alive, Suspect and
 * Dead messages under the admission bounds of an exchange.
 */
export class StateExchange implements PushPullHost {
  private readonly pushPull: PushPull;
  private readonly entryScratch = new Uint8Array(stateEntryBytesMax);
  private catchUpArmed = false;
  /** This node's state frame, patched as the table changes (`localStateFrame`). */
  private readonly kept: KeptStateFrame;

  constructor(
    private readonly name: string,
    /** Addresses to join through, this node's own excluded. */
    private readonly seeds: readonly Address[],
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly config: Readonly<SwimConfig>,
    private readonly stats: SwimStats,
    private readonly timers: SwimTimers,
    private readonly interner: Interner,
    private readonly table: MemberTable,
    private readonly admission: Admission,
    private readonly updates: MemberUpdates,
    private readonly app: AppGossip,
    private readonly refusals: Refusals,
    streams: StreamService,
    seal: StateSeal | undefined,
  ) {
    const c = config;
    this.kept = new KeptStateFrame(table, table.get(name)!, (m) => this.entryWire(m));
    this.pushPull = new PushPull(streams, this, c.pushPullConcurrentMax, c.pushPullBytesMax, c.pushPullTimeoutMs, seal, interner, table);
  }

  /** Joins through every seed at once; retried while no other member is known. */
  join(): void {
    if (this.seeds.length === 0) return;
    if (this.table.liveCount > 1) return;
    for (const seed of this.seeds) if (this.pushPull.start(seed, this.clock.now(), true)) this.stats.pushPulls++;
    this.armDeadline();
    this.timers.setIn('join', this.config.joinRetryIntervalMs);
  }

  /** The periodic exchange, with a random member. */
  tick(): void {
    const c = this.config;
    this.timers.setIn('pushPull', pushPullIntervalMs(c.pushPullIntervalMs, this.table.liveCount));
    // Dead members are candidates until reaped: that is how a healed partition merges back.
    const m = this.table.randomReachable(this.clock.now(), c.deadReapMs);
    if (m === undefined) return;
    if (this.pushPull.start(m.address, this.clock.now(), false)) this.stats.pushPulls++;
    this.armDeadline();
  }

  /** The catch-up exchange goes to a seed: every member that joined through it is known there. */
  catchUp(): void {
    const seeds = this.seeds;
    const to = seeds.length > 0 ? seeds[randomInt(this.random, seeds.length)]! : this.table.randomLive(undefined)?.address;
    if (to !== undefined && this.pushPull.start(to, this.clock.now(), false)) this.stats.pushPulls++;
    this.armDeadline();
  }

  accept(connection: Connection): void {
    this.pushPull.accept(connection, this.clock.now());
    this.armDeadline();
  }

  /** Abandons the exchanges past their deadline. */
  expire(nowMs: number): void {
    this.pushPull.expire(nowMs);
    this.armDeadline();
  }

  closeAll(): void {
    this.pushPull.closeAll();
  }

  // ------------------------------------------------------------------ PushPullHost

  localState(join: boolean): OutgoingState {
    const wires: Uint8Array[] = [];
    for (const m of this.table.values()) wires.push(this.entryWire(m));
    const members = { wires };
    const appState = this.app.localState(join);
    return appState === undefined ? { join, members } : { join, members, appState };
  }

  /**
   * The frame of `localState(join)`, kept and patched with the table's changes
   * (`KeptStateFrame`), unless the application has push-pull state of its own (it is
   * asked at every exchange).
   */
  localStateFrame(join: boolean, bytesMax: number): Uint8Array | undefined {
    if (this.app.hasLocalState()) {
      this.kept.drop();
      return undefined;
    }
    return this.kept.frame(join, bytesMax);
  }

  merge(remote: StateMessage, peer: Address, ownJoin: boolean): void {
    this.admission.beginExchange(ownJoin);
    try {
      this.mergeEntries(remote, peer);
    } finally {
      this.admission.endExchange();
    }
    this.app.mergeRemoteState(remote.appState, remote.join);
  }

  completed(_to: Address, ok: boolean, join: boolean): void {
    if (!ok) this.stats.pushPullFailures++;
    this.armDeadline();
    if (ok && join) this.catchUpAfterJoin();
  }

  rejected(peer: Address, reason: PushPullRejection, error: DecodeError | undefined): void {
    if (error instanceof IncarnationRangeError) {
      this.refusals.count('incarnationsRejected', 'refused a push-pull state with an incarnation that could never be refuted', { from: peer, incarnation: error.incarnation });
    }
    this.refusals.count('pushPullRejected', `refused a push-pull state frame: ${reason}`, { from: peer, reason, ...(error === undefined ? {} : { error: error.message }) });
  }

  refusedByPeer(peer: Address): void {
    this.refusals.count('pushPullRefusedByPeer', 'a peer refused our push-pull state as unauthenticated (is our gossip key the cluster\'s?)', { peer });
  }

  // ------------------------------------------------------------------ inside

  /**
   * One early push-pull a few probe periods after joining. Members started together join
   * through seeds that do not know each other yet, and the gossip announcing them is
   * spent after a few transmissions; without this a member could miss another for a whole
   * push-pull interval (memberlist has this gap). Once per start, so the cost is bounded.
   */
  private catchUpAfterJoin(): void {
    if (this.catchUpArmed) return;
    this.catchUpArmed = true;
    this.timers.setIn('catchUp', (1 + 2 * this.random.next()) * this.config.probeIntervalMs);
  }

  private armDeadline(): void {
    const next = this.pushPull.nextDeadlineMs();
    if (next === Infinity) this.timers.clear('pushPullDeadline');
    else this.timers.set('pushPullDeadline', next);
  }

  /**
   * A member's push-pull entry, encoded once per version and state and kept on the shared
   * version (`MemberVersion.wire`): every node that holds the member as it is encodes
   * nothing more.
   */
  private entryWire(m: Member): Uint8Array {
    const state = wireState(m.state);
    const v = m.version;
    return v.wire(state) ?? v.keepWire(state, this.interner.bytes(encodeStateEntry({ name: v.name, address: v.address, incarnation: v.incarnation, state, tags: v.tags }, this.entryScratch)));
  }

  private mergeEntries(remote: StateMessage, peer: Address): void {
    // The peer's verdict of suspect or dead is its own, independent of ours: it counts as a
    // confirmation of a suspicion we already hold (memberlist counts it as ours, so a
    // suspicion this node started waits out the maximum timeout even when every peer has
    // long declared the member dead and their dead messages were lost). A peer we cannot
    // name (an address we do not know) confirms nothing.
    // Looked up before anything is merged, and only when a verdict would act on a member
    // (the lookup scans the table): a verdict of suspect or dead about a member we hold
    // live at no newer incarnation, or about us. A peer's dead members, most often already
    // dead here too, need no name. (A verdict that only becomes one to act on once an
    // earlier entry of the same message changed its member, possible only in a message that
    // names a member twice, looks the peer up when it comes.)
    let from = this.verdictActs(remote) ? this.peerName(peer) : undefined;
    for (const e of remote.members) {
      switch (e.state) {
        case WireState.Alive:
          this.updates.onAlive({ type: MessageType.Alive, name: e.name, address: e.address, incarnation: e.incarnation, tags: e.tags });
          break;
        case WireState.Left:
          this.updates.onDead({ type: MessageType.Dead, name: e.name, incarnation: e.incarnation, from: e.name });
          break;
        default:
          // A peer's verdict of dead is only a suspicion here: we verify it ourselves.
          if (!this.verdictActsOn(e)) break;
          from ??= this.peerName(peer);
          this.updates.onSuspect({ type: MessageType.Suspect, name: e.name, incarnation: e.incarnation, from });
      }
    }
  }

  /** Whether any verdict of suspect or dead in `remote` would act here (see `verdictActsOn`). */
  private verdictActs(remote: StateMessage): boolean {
    for (const e of remote.members) if ((e.state === WireState.Suspect || e.state === WireState.Dead) && this.verdictActsOn(e)) return true;
    return false;
  }

  /** Whether a verdict about `e`'s member does anything (else `onSuspect` returns at once: unknown, older, or not live). */
  private verdictActsOn(e: { name: string; incarnation: number }): boolean {
    if (e.name === this.name) return true;
    const m = this.table.get(e.name);
    return m !== undefined && e.incarnation >= m.incarnation && m.live;
  }

  /** The name of the member at `peer`, this node's own when none is known there (O(n)). */
  private peerName(peer: Address): string {
    return this.table.at(peer)?.name ?? this.name;
  }
}

function wireState(state: Member['state']): (typeof WireState)[keyof typeof WireState] {
  switch (state) {
    case 'alive': return WireState.Alive;
    case 'suspect': return WireState.Suspect;
    case 'dead': return WireState.Dead;
    case 'left': return WireState.Left;
  }
}
