import type { Address } from '../address.ts';
import { InvalidArgumentError, TransportError } from '../errors.ts';
import type { Interner } from '../intern.ts';
import type { DatagramService } from '../transport.ts';
import { BroadcastQueue } from './broadcast.ts';
import { MessageType, PacketBuilder, Writer, encodeMessage, writeMessage, type SwimMessage } from './codec.ts';
import type { SwimConfig } from './config.ts';
import { retransmitLimit } from './formulas.ts';
import type { MemberVersion, SwimStats } from './member.ts';
import type { MemberTable } from './table.ts';
import type { SwimTimers } from './timers.ts';

/**
 * Everything this member sends by datagram: single messages, packets, and the broadcast
 * queue piggybacked on them (memberlist's transmit-limited queue, each update sent at most
 * retransmit limit times), plus the gossip round that sends what probes did not carry.
 */
export class Dissemination {
  /** Set while the member runs: a queued broadcast then arms the gossip round. */
  running = false;
  private readonly queue: BroadcastQueue;
  private readonly packet: PacketBuilder;
  private readonly scratch: Uint8Array;

  constructor(
    private readonly datagrams: DatagramService,
    private readonly interner: Interner,
    private readonly config: Readonly<SwimConfig>,
    private readonly stats: SwimStats,
    private readonly table: MemberTable,
    private readonly timers: SwimTimers,
  ) {
    this.queue = new BroadcastQueue(config.broadcastQueueMax);
    const packetBytes = Math.min(config.packetBytesMax, datagrams.maxDatagramBytes);
    this.packet = new PacketBuilder(packetBytes);
    this.scratch = new Uint8Array(packetBytes);
  }

  /** The one packet being built, emptied (valid until the next call). */
  newPacket(): PacketBuilder {
    return this.packet.reset();
  }

  /** Sends `packet` (or an empty one) plus `extra`, filled with pending broadcasts, to `to`. */
  sendWithGossip(to: Address, packet: PacketBuilder | undefined, extra?: SwimMessage): void {
    const p = packet ?? this.packet.reset();
    if (extra !== undefined) p.add(extra);
    const before = p.length;
    this.queue.fill(p, retransmitLimit(this.config.retransmitMult, this.table.liveCount));
    this.stats.gossipBytesSent += p.length - before;
    if (p.length > 1) this.send(to, p.view());
  }

  /** Sends one message on its own, without gossip (relay answers must stay small and quick). */
  sendMessage(to: Address, m: SwimMessage): void {
    const p = this.packet.reset();
    p.add(m);
    this.send(to, p.view());
  }

  send(to: Address, bytes: Uint8Array): void {
    try {
      this.datagrams.send(to, bytes);
      this.stats.datagramsSent++;
      this.stats.bytesSent += bytes.length;
    } catch (error) {
      if (!(error instanceof TransportError) && !(error instanceof InvalidArgumentError)) throw error;
    }
  }

  /** Queues an update about a member (replacing a pending one about the same member). */
  queueBroadcast(m: SwimMessage & { name: string }): void {
    this.queueEncoded(m.name, this.encoded(m));
  }

  /**
   * Queues the Alive of member version `v` (the message it was seen in: the same name,
   * address, incarnation and tags, so the same bytes), encoded once for every node that
   * passes it on.
   */
  queueAlive(v: MemberVersion): void {
    // Encoded by a node with larger packets, it may not fit ours: encoding it here then
    // refuses it as before (`LimitExceededError`).
    const cached = v.alive;
    const bytes = cached !== undefined && cached.length <= this.scratch.length ? cached
      : (v.alive = this.encoded({ type: MessageType.Alive, name: v.name, address: v.address, incarnation: v.incarnation, tags: v.tags }));
    this.queueEncoded(v.name, bytes);
  }

  /** Queues encoded bytes under `key`, replacing a pending broadcast with the same key. */
  queueEncoded(key: string, bytes: Uint8Array): void {
    this.queue.enqueue(key, bytes);
    if (this.running && !this.timers.has('gossip')) this.timers.setIn('gossip', this.config.gossipIntervalMs);
  }

  /** Drops the pending update about a member (it was reaped). */
  forget(name: string): void {
    this.queue.remove(name);
  }

  /** A message encoded once, its bytes shared with every member that queues the same update. */
  encoded(m: SwimMessage): Uint8Array {
    const w = new Writer(this.scratch);
    writeMessage(w, m);
    return this.interner.bytes(this.scratch.subarray(0, w.offset));
  }

  /** Encodes `m` into scratch space only to check it fits (throws `LimitExceededError`). */
  checkEncodable(m: SwimMessage): void {
    encodeMessage(m, this.scratch);
  }

  /** Sends pending broadcasts to `gossipNodes` random members; again each interval while any are left. */
  gossipTick(nowMs: number): void {
    if (this.queue.size === 0) return;
    for (let i = 0; i < this.config.gossipNodes && this.queue.size > 0; i++) {
      const m = this.table.randomReachable(nowMs, this.config.gossipToTheDeadMs);
      if (m === undefined) break;
      this.sendWithGossip(m.address, undefined);
    }
    if (this.queue.size > 0) this.timers.setIn('gossip', this.config.gossipIntervalMs);
  }
}
