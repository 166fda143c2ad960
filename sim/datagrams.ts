import { DatagramTooLargeError, chance, parseAddress, slowHeldMax, type Address } from '../core/index.ts';
import { DatagramEvent } from './events.ts';
import type { Hosts, SimHost } from './hosts.ts';
import { hostIndexMax, type Network } from './network.ts';
import type { SeededRandom } from './random.ts';
import type { Scheduler } from './scheduler.ts';
import type { Trace } from './trace.ts';

/** A message waiting on a held link direction. */
export interface HeldMessage {
  readonly from: string;
  readonly to: string;
  readonly bytes: number;
  readonly sentAtMs: number;
  readonly channel: string;
}

/** What a datagram network is bounded by. */
export interface DatagramLimits {
  readonly maxDatagramBytes: number;
  readonly socketBufferBytes: number;
  readonly heldMessagesMax: number;
}

interface Held {
  readonly event: DatagramEvent;
  readonly sentAtMs: number;
}

/**
 * Datagrams: unreliable, unordered, size-bounded messages. A send is decided at once from
 * the link's state and model (dropped, held, or delivered after a sampled latency, maybe
 * twice, maybe late); a delivery reaches the host unless it is down, slow (put back) or
 * paused (buffered up to its socket buffer).
 */
export class DatagramNetwork {
  /** Held datagrams per direction (key: from × hostIndexMax + to), in send order. */
  private readonly heldMessages = new Map<number, Held[]>();

  constructor(
    private readonly scheduler: Scheduler,
    private readonly hosts: Hosts,
    private readonly network: Network,
    private readonly random: SeededRandom,
    private readonly trace: Trace,
    private readonly limits: DatagramLimits,
  ) {}

  send(host: SimHost, epoch: number, to: Address, payload: Uint8Array): void {
    const bytes = payload.length;
    if (bytes > this.limits.maxDatagramBytes) throw new DatagramTooLargeError(bytes, this.limits.maxDatagramBytes);
    const dst = this.hosts.at(to);
    const msg = this.trace.nextMessage();
    const nowMs = this.scheduler.nowMs;
    const dstIndex = dst === undefined ? -1 : dst.index;
    this.trace.record('send', nowMs, host.index, dstIndex, bytes, 'dgram', msg);
    this.trace.payloads?.(msg, payload);
    if (host.epoch !== epoch || !host.up) return this.trace.drop(nowMs, host.index, dstIndex, bytes, 'crashed-sender', msg);
    if (dst === undefined) {
      parseAddress(to);
      return this.trace.drop(nowMs, host.index, -1, bytes, 'no-route', msg);
    }
    const state = this.network.state(host.index, dst.index);
    if (state === 'partitioned') return this.trace.drop(nowMs, host.index, dstIndex, bytes, 'partitioned', msg);
    const model = this.network.model(host.index, dst.index);
    const random = this.random;
    if (chance(random, model.model.loss)) return this.trace.drop(nowMs, host.index, dstIndex, bytes, 'loss', msg);
    // The receiver gets its own copy, as from a socket: the sender may reuse its buffer.
    const data = new Uint8Array(payload);
    const event = new DatagramEvent(dst, host, data, msg);
    if (state === 'held') return this.hold(host, dst, event);
    const departMs = host.bytesPerMs === Infinity ? nowMs : this.hosts.departureMs(host, bytes);
    let delay = model.sampleLatency(random);
    if (chance(random, model.model.reorder)) delay += model.sampleReorderDelay(random);
    this.scheduler.schedule(event, departMs + delay);
    if (chance(random, model.model.duplicate)) {
      this.scheduler.schedule(new DatagramEvent(dst, host, data, msg), departMs + model.sampleLatency(random));
    }
  }

  deliver(event: DatagramEvent): void {
    const host = event.to;
    const bytes = event.data.length;
    const nowMs = this.scheduler.nowMs;
    if (!host.up) return this.trace.drop(nowMs, event.from.index, host.index, bytes, 'host-down', event.msg, host.index);
    if (event.slowed) {
      // Held by a process that has since crashed: the new one never received it.
      if (event.slowedEpoch !== host.epoch) return this.trace.drop(nowMs, event.from.index, host.index, bytes, 'host-down', event.msg, host.index);
      host.slowHeld--;
    } else if (this.hosts.mustWait(event, host)) {
      // A slow host holds at most `slowHeldMax` datagrams, as a real node's fault control does.
      if (host.slowHeld >= slowHeldMax) return this.trace.drop(nowMs, event.from.index, host.index, bytes, 'buffer-full', event.msg, host.index);
      host.slowHeld++;
      event.slowedEpoch = host.epoch;
      return this.hosts.putBack(event, host);
    }
    if (host.paused) {
      if (host.deferredDatagramBytes + bytes > this.limits.socketBufferBytes) {
        return this.trace.drop(nowMs, event.from.index, host.index, bytes, 'buffer-full', event.msg, host.index);
      }
      host.deferredDatagramBytes += bytes;
      host.deferred.push(event);
      return;
    }
    this.trace.record('deliver', nowMs, host.index, event.from.index, bytes, 'dgram', event.msg);
    host.transport!.datagrams.onDatagram?.(event.from.address, event.data);
  }

  /** The datagrams currently held from `from` to `to`, oldest first. */
  held(from: SimHost, to: SimHost): HeldMessage[] {
    const list = this.heldMessages.get(from.index * hostIndexMax + to.index) ?? [];
    return list.map(({ event, sentAtMs }) => ({ from: from.name, to: to.name, bytes: event.data.length, sentAtMs, channel: 'dgram' }));
  }

  /** Delivers what was held from host `from` to host `to` (indices), in the order it was sent. */
  release(from: number, to: number): void {
    const key = from * hostIndexMax + to;
    const list = this.heldMessages.get(key);
    this.heldMessages.delete(key);
    if (list === undefined) return;
    const model = this.network.model(from, to);
    const nowMs = this.scheduler.nowMs;
    let atMs = nowMs;
    for (const { event } of list) {
      atMs = Math.max(atMs, nowMs + model.sampleLatency(this.random));
      this.scheduler.schedule(event, atMs);
    }
  }

  private hold(from: SimHost, to: SimHost, event: DatagramEvent): void {
    const key = from.index * hostIndexMax + to.index;
    let list = this.heldMessages.get(key);
    if (list === undefined) {
      list = [];
      this.heldMessages.set(key, list);
    }
    const nowMs = this.scheduler.nowMs;
    if (list.length >= this.limits.heldMessagesMax) return this.trace.drop(nowMs, from.index, to.index, event.data.length, 'buffer-full', event.msg);
    list.push({ event, sentAtMs: nowMs });
  }
}
