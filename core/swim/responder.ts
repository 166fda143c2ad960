import type { Address } from '../address.ts';
import type { Clock } from '../clock.ts';
import { MessageType, type PacketBuilder } from './codec.ts';
import type { SwimConfig } from './config.ts';
import type { Dissemination } from './dissemination.ts';
import { heartbeat } from './health.ts';
import type { MemberTable } from './table.ts';
import type { SwimTimers } from './timers.ts';

/** Indirect probes this node relays at once; beyond it, requests are dropped. */
export const relaysMax = 1024;

interface Relay {
  readonly requester: Address;
  readonly seq: number;
  readonly wantNack: boolean;
  readonly deadlineMs: number;
  readonly target: string;
}

/** Where relayed pings take their sequence numbers (shared with this member's own probes). */
export interface PingSequence {
  nextSeq(): number;
}

/**
 * Answers to other members' probes: an ack to a ping (with our verdict on the sender
 * when we hold it suspect or dead), and ping-reqs relayed to their target, the ack passed
 * back or, past the probe timeout, a nack (Lifeguard).
 */
export class Responder {
  private readonly relays = new Map<number, Relay>();

  constructor(
    private readonly name: string,
    private readonly clock: Clock,
    private readonly config: Readonly<SwimConfig>,
    private readonly timers: SwimTimers,
    private readonly table: MemberTable,
    private readonly sequence: PingSequence,
    private readonly dissemination: Dissemination,
  ) {}

  /** A ping from `from` numbered `seq`: ack it, with gossip. */
  ping(from: Address, seq: number): void {
    this.dissemination.sendWithGossip(from, this.noticeTo(from), { type: MessageType.Ack, seq });
  }

  /** A ping-req: probe `target` on behalf of `requester`. */
  relay(requester: Address, seq: number, target: string, targetAddress: Address, wantNack: boolean): void {
    if (this.relays.size >= relaysMax) return;
    const relaySeq = this.sequence.nextSeq();
    this.relays.set(relaySeq, { requester, seq, wantNack, deadlineMs: this.clock.now() + this.config.probeTimeoutMs, target });
    const p = this.dissemination.newPacket();
    p.add({ type: MessageType.Ping, seq: relaySeq, target });
    this.dissemination.send(targetAddress, p.view());
    this.arm();
  }

  /** An ack for a relayed ping: passed back to the requester. */
  ack(seq: number, nowMs: number): void {
    const r = this.relays.get(seq);
    if (r === undefined) return;
    this.relays.delete(seq);
    const target = this.table.get(r.target);
    if (target !== undefined) heartbeat(this.table, target, nowMs, this.config);
    this.dissemination.sendMessage(r.requester, { type: MessageType.Ack, seq: r.seq });
  }

  /** Relays past their deadline are dropped, with a nack to requesters that asked for one. */
  tick(nowMs: number): void {
    for (const [seq, r] of this.relays) {
      if (r.deadlineMs > nowMs) continue;
      this.relays.delete(seq);
      if (r.wantNack) this.dissemination.sendMessage(r.requester, { type: MessageType.Nack, seq: r.seq });
    }
    this.arm();
  }

  private arm(): void {
    let next = Infinity;
    for (const r of this.relays.values()) if (r.deadlineMs < next) next = r.deadlineMs;
    if (next === Infinity) this.timers.clear('relay');
    else this.timers.set('relay', next);
  }

  /**
   * A packet for a member that just pinged us, carrying our verdict on it when we hold it
   * suspect or dead: it refutes at once instead of waiting for gossip that may already be
   * spent (a member whose outbound path was cut hears of its own death during the cut,
   * refutes, and its refutation is lost; after the heal this is how the others learn).
   */
  private noticeTo(from: Address): PacketBuilder {
    const p = this.dissemination.newPacket();
    if (!this.table.anySuspectOrDead) return p;
    const sender = this.table.unwellAt(from);
    if (sender === undefined) return p;
    const type = sender.state === 'dead' ? MessageType.Dead : MessageType.Suspect;
    p.add({ type, name: sender.name, incarnation: sender.incarnation, from: this.name });
    return p;
  }
}
