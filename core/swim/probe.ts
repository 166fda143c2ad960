import type { Awareness } from './awareness.ts';
import { MessageType } from './codec.ts';
import type { SwimConfig } from './config.ts';
import type { Dissemination } from './dissemination.ts';
import { failedProbeAwarenessDelta } from './formulas.ts';
import { heartbeat } from './health.ts';
import type { Member, SwimStats } from './member.ts';
import type { Suspects } from './suspects.ts';
import type { MemberTable } from './table.ts';
import type { SwimTimers } from './timers.ts';
import type { MemberUpdates } from './updates.ts';

/** Suspects told directly of their suspicion per probe period (buddy system). */
export const buddyNotifyMax = 2;

/** Random draws the dead probe makes looking for a dead member not yet reaped. */
export const deadProbeTriesMax = 8;

/**
 * This member's probes: one member per period in round-robin order (the period scaled by
 * Lifeguard's awareness), ping-req through k others when the direct ping goes unanswered,
 * nacks counted, and a probe without ack making its target suspect. Also the buddy
 * system and the periodic ping of a dead member.
 */
export class Prober {
  /** Sequence numbers of this member's pings, shared with the pings it relays. */
  private seq = 1;
  private target: Member | undefined;
  private targetSeq = 0;
  private acked = false;
  private nacks = 0;
  private expectedNacks = 0;
  /** When the next dead probe is due (a probe period at or after it runs it); NaN while no member is dead. */
  private deadProbeDueMs = NaN;

  constructor(
    private readonly name: string,
    private readonly config: Readonly<SwimConfig>,
    private readonly stats: SwimStats,
    private readonly timers: SwimTimers,
    private readonly awareness: Awareness,
    private readonly table: MemberTable,
    private readonly suspects: Suspects,
    private readonly updates: MemberUpdates,
    private readonly dissemination: Dissemination,
  ) {}

  /** A fresh ping sequence number. */
  nextSeq(): number {
    return this.seq++;
  }

  /** Closes the probe in flight and probes the next member. */
  tick(nowMs: number): void {
    this.finish();
    const target = this.table.nextProbeTarget();
    this.timers.set('probe', nowMs + this.awareness.scale(this.config.probeIntervalMs));
    this.deadProbeTick(nowMs);
    if (target === undefined) return;
    this.target = target;
    this.targetSeq = this.seq++;
    this.acked = false;
    this.nacks = 0;
    this.expectedNacks = 0;
    this.stats.probes++;
    const p = this.dissemination.newPacket();
    // Buddy system: a suspect learns of the suspicion from the probe itself and refutes at once.
    if (this.config.buddySystemEnabled && target.state === 'suspect') {
      p.add({ type: MessageType.Suspect, name: target.name, incarnation: target.incarnation, from: this.name });
    }
    p.add({ type: MessageType.Ping, seq: this.targetSeq, target: target.name });
    this.dissemination.sendWithGossip(target.address, p);
    this.timers.set('probeTimeout', nowMs + this.config.probeTimeoutMs);
    if (this.config.buddySystemEnabled) this.notifySuspects(target);
  }

  /** Direct probe unanswered: ask k other members to probe the target (ping-req). */
  timeout(): void {
    const target = this.target;
    if (target === undefined || this.acked) return;
    const k = this.config.indirectChecks;
    const wantNack = this.config.awarenessEnabled;
    const chosen = new Set<Member>();
    for (let tries = 0; tries < 3 * k && chosen.size < k; tries++) {
      const m = this.table.randomLive(target);
      if (m === undefined) break;
      if (m.state !== 'alive' || chosen.has(m)) continue;
      chosen.add(m);
      const p = this.dissemination.newPacket();
      p.add({ type: MessageType.IndirectPing, seq: this.targetSeq, target: target.name, targetAddress: target.address, wantNack });
      this.dissemination.send(m.address, p.view());
      this.stats.indirectProbes++;
    }
    if (wantNack) this.expectedNacks = chosen.size;
  }

  /** An ack for the probe in flight (true: it was ours, whether new or a duplicate). */
  ack(seq: number, nowMs: number): boolean {
    if (seq !== this.targetSeq || this.target === undefined) return false;
    if (this.acked) return true;
    this.acked = true;
    // Nothing is left for the timeout to do: a wake-up spared (one per probe period at every member).
    this.timers.clear('probeTimeout');
    this.stats.acks++;
    this.awareness.apply(-1);
    heartbeat(this.table, this.target, nowMs, this.config);
    return true;
  }

  /** A relay of the probe in flight did not reach the target either: not our own network's fault. */
  nack(seq: number): void {
    if (seq !== this.targetSeq || this.target === undefined) return;
    this.nacks++;
    this.stats.nacks++;
  }

  /**
   * The dead probe's schedule, kept by the probe periods rather than a timer of its own (a
   * wake-up every `deadProbeIntervalMs` at every member, a tenth of a large cluster's
   * events): while a member is dead, the first probe period at least `deadProbeIntervalMs`
   * after the last dead probe (or after the first period that saw a dead member) runs one.
   * With no dead member, nothing. A member whose probing slows (Lifeguard's awareness) or
   * stops (it left) dead-probes as slowly, or not at all.
   */
  private deadProbeTick(nowMs: number): void {
    const interval = this.config.deadProbeIntervalMs;
    if (interval <= 0 || !this.table.anyDead) {
      this.deadProbeDueMs = NaN;
      return;
    }
    if (Number.isNaN(this.deadProbeDueMs)) {
      this.deadProbeDueMs = nowMs + interval;
      return;
    }
    // A millisecond early is on time: the periods are not exact multiples in floating point.
    if (nowMs + 1 < this.deadProbeDueMs) return;
    this.deadProbeDueMs = nowMs + interval;
    this.deadProbe(nowMs);
  }

  /** The member is leaving: no more probes. */
  stop(): void {
    this.timers.clear('probe');
    this.timers.clear('probeTimeout');
  }

  /**
   * Pings one dead member (not yet reaped) with our verdict attached. Nothing is concluded from
   * silence (it is dead as far as we know); an answer carries its refutation, and its
   * ack carries its verdict on us if it holds us dead. This is what merges the two sides
   * of a healed partition within a few periods (memberlist leaves it to push-pull, or to
   * serf's reconnect loop). Runs every `deadProbeIntervalMs` while a member is dead (see `deadProbeTick`).
   */
  deadProbe(nowMs: number): void {
    const m = this.table.randomRecentlyDead(deadProbeTriesMax, nowMs, this.config.deadReapMs);
    if (m === undefined) return;
    const p = this.dissemination.newPacket();
    p.add({ type: MessageType.Dead, name: m.name, incarnation: m.incarnation, from: this.name });
    p.add({ type: MessageType.Ping, seq: this.seq++, target: m.name });
    this.dissemination.send(m.address, p.view());
  }

  /** Closes the probe in flight: a probe without ack makes the target suspect. */
  private finish(): void {
    const target = this.target;
    if (target === undefined) return;
    this.target = undefined;
    this.timers.clear('probeTimeout');
    if (this.acked) return;
    this.awareness.apply(failedProbeAwarenessDelta(this.expectedNacks, this.nacks));
    if (target.live && this.table.get(target.name) === target) {
      this.updates.onSuspect({ type: MessageType.Suspect, name: target.name, incarnation: target.incarnation, from: this.name });
    }
  }

  /**
   * Buddy system, extended: a suspicion whose gossip was lost (this node was cut off when
   * it spread) would otherwise expire unseen by the suspect. Telling the suspect directly,
   * a few per period, gives it the chance to refute whatever the probe order.
   */
  private notifySuspects(probed: Member): void {
    // A suspicion is held only for a member in state suspect: the table, at hand after
    // picking the target, answers the usual case without the suspicions' set.
    if (!this.table.anySuspect || this.suspects.size === 0) return;
    let sent = 0;
    for (const m of this.suspects.values()) {
      if (sent >= buddyNotifyMax) break;
      if (m === probed) continue;
      this.dissemination.sendMessage(m.address, { type: MessageType.Suspect, name: m.name, incarnation: m.incarnation, from: this.name });
      sent++;
    }
  }
}
