import { DatagramTooLargeError, parseAddress, slowHeldMax, type Address } from '../core/index.ts';
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

/** Free datagram events kept for reuse at most. */
const freeEventsMax = 16_384;
/** What a free event holds instead of the payload it delivered (which it must not keep alive). */
const noData = new Uint8Array(0);

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
  /** Delivered datagram events, for reuse (see `event`). */
  private readonly freeEvents: DatagramEvent[] = [];
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
    const trace = this.trace;
    const msg = trace.nextMessage();
    const nowMs = this.scheduler.nowMs;
    trace.datagram('send', nowMs, host.index, dst === undefined ? -1 : dst.index, bytes, msg);
    if (trace.payloads !== undefined) trace.payloads(msg, payload);
    if (host.epoch !== epoch || !host.up || dst === undefined || this.network.hasOverrides) return this.sendChecked(host, epoch, to, dst, payload, bytes, msg);
    this.dispatchTo(host, dst, payload, bytes, msg, 'healthy');
  }

  /** The rest of `send` when the sender is gone, the address unknown, or the link has a state of its own. */
  private sendChecked(host: SimHost, epoch: number, to: Address, dst: SimHost | undefined, payload: Uint8Array, bytes: number, msg: number): void {
    const nowMs = this.scheduler.nowMs;
    const dstIndex = dst === undefined ? -1 : dst.index;
    if (host.epoch !== epoch || !host.up) return this.trace.drop(nowMs, host.index, dstIndex, bytes, 'crashed-sender', msg);
    if (dst === undefined) {
      parseAddress(to);
      return this.trace.drop(nowMs, host.index, -1, bytes, 'no-route', msg);
    }
    const state = this.network.state(host.index, dst.index);
    if (state === 'partitioned') return this.trace.drop(nowMs, host.index, dstIndex, bytes, 'partitioned', msg);
    this.dispatchTo(host, dst, payload, bytes, msg, state);
  }

  /** A send on a link that is healthy or held: the loss, latency, reorder and duplicate draws, in that order. */
  private dispatchTo(host: SimHost, dst: SimHost, payload: Uint8Array, bytes: number, msg: number, state: 'healthy' | 'held'): void {
    const model = this.network.model(host.index, dst.index);
    const random = this.random;
    const link = model.model;
    if (link.loss > 0 && random.next() < link.loss) return this.trace.drop(this.scheduler.nowMs, host.index, dst.index, bytes, 'loss', msg);
    // The receiver gets its own copy, as from a socket: the sender may reuse its buffer.
    const data = new Uint8Array(payload);
    const event = this.event(dst, host, data, msg);
    if (state === 'held') return this.hold(host, dst, event);
    const departMs = host.bytesPerMs === Infinity ? this.scheduler.nowMs : this.hosts.departureMs(host, bytes);
    let delay = model.sampleLatency(random);
    if (link.reorder > 0 && random.next() < link.reorder) delay += model.sampleReorderDelay(random);
    this.scheduler.schedule(event, departMs + delay);
    if (link.duplicate > 0 && random.next() < link.duplicate) {
      this.scheduler.schedule(this.event(dst, host, data, msg), departMs + model.sampleLatency(random));
    }
  }

  /**
   * A datagram event: a delivered one reused if any is free, so the events in flight stay
   * the same few thousand objects (warm in the cache) instead of one new object per send
   * that lives through its flight.
   */
  private event(to: SimHost, from: SimHost, data: Uint8Array, msg: number): DatagramEvent {
    const event = this.freeEvents.pop();
    if (event === undefined) return new DatagramEvent(to, from, data, msg);
    event.to = to;
    event.fromIndex = from.index;
    event.fromAddress = from.address;
    event.data = data;
    event.bytes = data.length;
    event.msg = msg;
    return event;
  }

  deliver(event: DatagramEvent): void {
    const host = event.to;
    // Up, not slow, not paused, and the datagram never put back: straight to the host.
    if (!host.up || event.slowed || host.paused || host.slowDelayMs > 0 || host.slowLastMs > this.scheduler.nowMs) return this.deliverChecked(event);
    this.trace.datagram('deliver', this.scheduler.nowMs, host.index, event.fromIndex, event.bytes, event.msg);
    host.datagrams!.onDatagram?.(event.fromAddress, event.data);
    // Nothing refers to the event any more (a held or deferred one went the other way): free
    // it, after the callback so that an error it throws still names this datagram's host.
    if (this.freeEvents.length < freeEventsMax) {
      event.data = noData;
      this.freeEvents.push(event);
    }
  }

  /** `deliver` when the host is down, slow or paused, or the datagram was put back. */
  private deliverChecked(event: DatagramEvent): void {
    const host = event.to;
    const bytes = event.bytes;
    const nowMs = this.scheduler.nowMs;
    if (!host.up) return this.trace.drop(nowMs, event.fromIndex, host.index, bytes, 'host-down', event.msg, host.index);
    if (event.slowed) {
      // Held by a process that has since crashed: the new one never received it.
      if (event.slowedEpoch !== host.epoch) return this.trace.drop(nowMs, event.fromIndex, host.index, bytes, 'host-down', event.msg, host.index);
      // Once: a held datagram that came due while its host was paused comes back here on resume.
      if (event.slowHeldCounted) {
        event.slowHeldCounted = false;
        host.slowHeld--;
      }
    } else if (this.hosts.mustWait(event, host)) {
      // A slow host holds at most `slowHeldMax` datagrams, as a real node's fault control does.
      if (host.slowHeld >= slowHeldMax) return this.trace.drop(nowMs, event.fromIndex, host.index, bytes, 'buffer-full', event.msg, host.index);
      host.slowHeld++;
      event.slowHeldCounted = true;
      event.slowedEpoch = host.epoch;
      return this.hosts.putBack(event, host);
    }
    if (host.paused) {
      if (host.deferredDatagramBytes + bytes > this.limits.socketBufferBytes) {
        return this.trace.drop(nowMs, event.fromIndex, host.index, bytes, 'buffer-full', event.msg, host.index);
      }
      host.deferredDatagramBytes += bytes;
      host.deferred.push(event);
      return;
    }
    this.trace.datagram('deliver', nowMs, host.index, event.fromIndex, bytes, event.msg);
    host.datagrams!.onDatagram?.(event.fromAddress, event.data);
  }

  /** The datagrams currently held from `from` to `to`, oldest first. */
  held(from: SimHost, to: SimHost): HeldMessage[] {
    const list = this.heldMessages.get(from.index * hostIndexMax + to.index) ?? [];
    return list.map(({ event, sentAtMs }) => ({ from: from.name, to: to.name, bytes: event.bytes, sentAtMs, channel: 'dgram' }));
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
    if (list.length >= this.limits.heldMessagesMax) return this.trace.drop(nowMs, from.index, to.index, event.bytes, 'buffer-full', event.msg);
    list.push({ event, sentAtMs: nowMs });
  }
}
