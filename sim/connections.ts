import {
  ConnectTimeoutError, ConnectionLostError, ConnectionRefusedError, ConnectionResetError, chance, parseAddress,
  type Address, type Connection, type TransportError,
} from '../core/index.ts';
import { CheckEvent, SegmentEvent } from './events.ts';
import type { Hosts, SimHost } from './hosts.ts';
import type { Network } from './network.ts';
import type { SeededRandom } from './random.ts';
import type { Scheduler } from './scheduler.ts';
import { ConnectionEnd, Seg, checkBacklog, networkEventError, segLabels, segment, type Segment, type StreamFabric } from './streams.ts';
import type { Trace } from './trace.ts';

/** What the stream network is configured with. */
export interface StreamLimits {
  readonly idleTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxStreamsPerConnection: number;
  readonly connectionBufferBytesMax: number;
  readonly streamChunking: boolean;
}

/** One direction of a connection's path. */
class Pipe {
  lastDeliverAtMs = 0;
  readonly backlog: Segment[] = [];
  backlogBytes = 0;
}

const sides = [0, 1] as const;

/** The shared record of one connection: its two ends and the two directions of its path. */
export class SimConnection {
  readonly ends: [ConnectionEnd | undefined, ConnectionEnd | undefined] = [undefined, undefined];
  readonly epochs: [number, number];
  readonly pipes: [Pipe, Pipe] = [new Pipe(), new Pipe()];
  /** When each side's host instance went away (crash or restart). */
  readonly goneAtMs: [number | undefined, number | undefined] = [undefined, undefined];
  established = false;
  checkAtMs = Infinity;
  resetSent = false;
  constructor(readonly hosts: [SimHost, SimHost], epoch0: number, readonly connectDeadlineMs: number) {
    this.epochs = [epoch0, -1];
  }
  get live(): boolean {
    return this.ends.some((end) => end !== undefined && end.state !== 'closed');
  }
}

/**
 * The stream model: connections that behave like QUIC's. Segments travel in order on each
 * direction of a connection's path; while the path is cut, held or its far host paused
 * they wait in a backlog (as if retransmitted), and a path that stays unusable for the
 * idle timeout fails both ends. The per-end state machines are in `streams.ts`.
 */
export class StreamNetwork {
  private readonly connections = new Set<SimConnection>();
  private readonly fabric: StreamFabric;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly hosts: Hosts,
    private readonly network: Network,
    private readonly random: SeededRandom,
    private readonly trace: Trace,
    private readonly limits: StreamLimits,
  ) {
    this.fabric = {
      maxStreams: limits.maxStreamsPerConnection,
      send: (end, seg) => this.sendSegment(end.link as SimConnection, end.side, seg),
      ended: (end) => this.connectionEnded(end),
    };
  }

  connect(host: SimHost, epoch: number, to: Address): Connection {
    parseAddress(to);
    const nowMs = this.scheduler.nowMs;
    const dst = this.hosts.at(to);
    const conn = new SimConnection([host, dst ?? host], epoch, nowMs + this.limits.connectTimeoutMs);
    const end = new ConnectionEnd(this.fabric, 0, to, conn);
    conn.ends[0] = end;
    if (host.epoch !== epoch || !host.up) {
      this.localFail(conn, 0, networkEventError(() => new ConnectTimeoutError(`connect to ${to}: the connecting host is down`)));
      return end;
    }
    host.connections.add(conn);
    this.connections.add(conn);
    this.trace.record('connection', nowMs, host.index, dst?.index ?? -1, -1, 'connect');
    if (dst === undefined || dst === host) {
      this.localFail(conn, 0, networkEventError(() => new ConnectionRefusedError(`connect to ${to}: no such host`)));
      return end;
    }
    this.sendSegment(conn, 0, segment(Seg.Connect));
    this.scheduleCheck(conn, conn.connectDeadlineMs);
    return end;
  }

  deliver(event: SegmentEvent): void {
    const { conn, seg, side, msg } = event;
    const host = conn.hosts[side];
    const peer = conn.hosts[1 - side]!;
    const bytes = seg.data?.length ?? 0;
    const nowMs = this.scheduler.nowMs;
    if (seg.type === Seg.Connect) {
      if (!host.up) return this.trace.drop(nowMs, peer.index, host.index, bytes, 'host-down', msg, host.index);
      if (this.hosts.putBackIfSlow(event, host)) return;
      if (host.paused) return void host.deferred.push(event);
      this.trace.record('deliver', nowMs, host.index, peer.index, bytes, segLabels[seg.type], msg);
      this.accept(conn, host);
      return;
    }
    if (msg >= 0 && (!host.up || host.epoch !== conn.epochs[side])) {
      this.trace.drop(nowMs, peer.index, host.index, bytes, host.up ? 'stale' : 'host-down', msg, host.index);
      if (host.up) this.resetFrom(conn, side);
      return;
    }
    if (this.hosts.putBackIfSlow(event, host)) return;
    if (host.paused) return void host.deferred.push(event);
    if (msg >= 0) this.trace.record('deliver', nowMs, host.index, peer.index, bytes, segLabels[seg.type], msg);
    const end = conn.ends[side];
    if (end === undefined) return;
    if (seg.type === Seg.Data && this.limits.streamChunking && bytes > 1) {
      for (const piece of this.split(seg.data!)) end.receive(segment(Seg.Data, seg.streamId, piece));
      return;
    }
    end.receive(seg);
  }

  /** The connect or idle timeout of `event.conn` may have run out. */
  check(event: CheckEvent): void {
    const conn = event.conn;
    const nowMs = this.scheduler.nowMs;
    if (event.atMs !== conn.checkAtMs && conn.checkAtMs !== Infinity && conn.checkAtMs > nowMs) return;
    conn.checkAtMs = Infinity;
    if (!conn.live) return;
    if (!conn.established) {
      if (nowMs >= conn.connectDeadlineMs) {
        this.localFail(conn, 0, networkEventError(() => new ConnectTimeoutError(`connect to ${conn.hosts[1].address}: no answer within ${this.limits.connectTimeoutMs} ms`)));
      }
      return;
    }
    const since = this.unreachableSince(conn);
    if (since === undefined) return;
    const idle = this.limits.idleTimeoutMs;
    if (nowMs - since < idle) return this.scheduleCheck(conn, since + idle);
    for (const side of sides) {
      const peer = conn.hosts[1 - side]!;
      this.localFail(conn, side, networkEventError(() => new ConnectionLostError(`nothing heard from ${peer.address} for ${idle} ms (idle timeout)`)));
    }
  }

  /** `host`'s process went away (crash or restart): its ends are gone and what they queued is lost. */
  hostGone(host: SimHost): void {
    for (const conn of host.connections) {
      for (const side of sides) {
        if (conn.hosts[side] !== host || conn.goneAtMs[side] !== undefined) continue;
        conn.goneAtMs[side] = this.scheduler.nowMs;
        conn.ends[side] = undefined;
        const pipe = conn.pipes[side];
        pipe.backlog.length = 0;
        pipe.backlogBytes = 0;
      }
    }
    host.connections.clear();
    this.scheduleChecks();
  }

  /** `host` restarted: peers' connections to its old process learn of it from a stateless reset. */
  hostRestarted(host: SimHost): void {
    for (const conn of this.connections) {
      for (const side of sides) {
        if (conn.hosts[side] === host && conn.goneAtMs[side] !== undefined) this.resetFrom(conn, side);
      }
    }
  }

  /** Something about paths changed (a fault): look again at when each connection times out. */
  scheduleChecks(): void {
    for (const conn of this.connections) {
      if (conn.live) this.scheduleCheckFor(conn);
      else this.connections.delete(conn);
    }
  }

  /** Sends what waits behind paths that can carry it again. */
  flushBacklogs(): void {
    for (const conn of this.connections) {
      for (const side of sides) {
        const pipe = conn.pipes[side];
        if (pipe.backlog.length === 0) continue;
        const from = conn.hosts[side];
        const to = conn.hosts[1 - side]!;
        if (!from.up || from.paused || this.network.state(from.index, to.index) !== 'healthy') continue;
        const backlog = pipe.backlog.splice(0);
        pipe.backlogBytes = 0;
        for (const seg of backlog) this.transmit(conn, side, seg);
      }
    }
  }

  private sendSegment(conn: SimConnection, side: 0 | 1, seg: Segment): void {
    const from = conn.hosts[side];
    const to = conn.hosts[1 - side]!;
    if (!from.up || from.epoch !== conn.epochs[side]) return;
    const pipe = conn.pipes[side];
    const bytes = seg.data?.length ?? 0;
    if (pipe.backlog.length > 0 || this.network.state(from.index, to.index) !== 'healthy') {
      checkBacklog(pipe.backlogBytes + bytes, this.limits.connectionBufferBytesMax, to.address);
      pipe.backlog.push(seg);
      pipe.backlogBytes += bytes;
      this.scheduleCheckFor(conn);
      return;
    }
    this.transmit(conn, side, seg);
  }

  private transmit(conn: SimConnection, side: 0 | 1, seg: Segment): void {
    const from = conn.hosts[side];
    const to = conn.hosts[1 - side]!;
    const bytes = seg.data?.length ?? 0;
    const msg = this.trace.nextMessage();
    const nowMs = this.scheduler.nowMs;
    this.trace.record('send', nowMs, from.index, to.index, bytes, segLabels[seg.type], msg);
    if (seg.data !== null) this.trace.payloads?.(msg, seg.data);
    const model = this.network.model(from.index, to.index);
    let delay = this.hosts.departureMs(from, bytes) - nowMs + model.sampleLatency(this.random);
    // A lost packet on a reliable stream costs a retransmission, not the bytes.
    for (let i = 0; i < 8 && chance(this.random, model.model.loss); i++) delay += model.retransmitMs;
    const pipe = conn.pipes[side];
    const atMs = Math.max(pipe.lastDeliverAtMs, nowMs + delay);
    pipe.lastDeliverAtMs = atMs;
    this.scheduler.schedule(new SegmentEvent(conn, side === 0 ? 1 : 0, seg, msg), atMs);
  }

  private accept(conn: SimConnection, host: SimHost): void {
    const handler = host.transport!.streams.onConnection;
    conn.epochs[1] = host.epoch;
    if (handler === undefined) {
      conn.epochs[1] = -1;
      this.sendRaw(conn, 1, segment(Seg.Refuse, -1, null, 0, networkEventError(() => new ConnectionRefusedError(`${host.address} accepts no connections`))));
      return;
    }
    const end = new ConnectionEnd(this.fabric, 1, conn.hosts[0].address, conn);
    conn.ends[1] = end;
    conn.established = true;
    host.connections.add(conn);
    this.sendSegment(conn, 1, segment(Seg.Accept));
    handler(end);
  }

  /** Sends a segment from a side that may have no live end (refusals, stateless resets). */
  private sendRaw(conn: SimConnection, side: 0 | 1, seg: Segment): void {
    const from = conn.hosts[side];
    const to = conn.hosts[1 - side]!;
    if (this.network.state(from.index, to.index) !== 'healthy') return;
    this.transmit(conn, side, seg);
  }

  /** The host on `side` no longer knows this connection: tell the other side (once). */
  private resetFrom(conn: SimConnection, side: 0 | 1): void {
    if (conn.resetSent || conn.ends[1 - side] === undefined) return;
    conn.resetSent = true;
    const peer = conn.hosts[1 - side]!;
    this.sendRaw(conn, side, segment(Seg.Fail, -1, null, 0,
      networkEventError(() => new ConnectionResetError(`${conn.hosts[side].address} restarted and no longer knows the connection from ${peer.address}`))));
  }

  /** Closes one end locally (timeouts): delivered as an event so a paused host sees it on resume. */
  private localFail(conn: SimConnection, side: 0 | 1, error: TransportError): void {
    if (conn.ends[side] === undefined) return;
    this.scheduler.schedule(new SegmentEvent(conn, side, segment(Seg.Fail, -1, null, 0, error), -1), this.scheduler.nowMs);
  }

  private connectionEnded(end: ConnectionEnd): void {
    const conn = end.link as SimConnection;
    this.trace.record('connection', this.scheduler.nowMs, conn.hosts[end.side].index, conn.hosts[1 - end.side]!.index, -1, 'closed');
    if (!conn.live) {
      this.connections.delete(conn);
      conn.hosts[0].connections.delete(conn);
      conn.hosts[1].connections.delete(conn);
    }
  }

  /** Since when nothing can cross this connection's path (undefined: it can now). */
  private unreachableSince(conn: SimConnection): number | undefined {
    const [a, b] = conn.hosts;
    let since: number | undefined;
    const consider = (t: number | undefined) => {
      if (t !== undefined && (since === undefined || t < since)) since = t;
    };
    consider(this.network.brokenSinceMs(a.index, b.index));
    consider(this.network.brokenSinceMs(b.index, a.index));
    for (const side of sides) {
      const host = conn.hosts[side];
      if (conn.goneAtMs[side] !== undefined) consider(conn.goneAtMs[side]);
      else if (host.paused) consider(host.pausedSinceMs);
    }
    return since;
  }

  private scheduleCheckFor(conn: SimConnection): void {
    if (!conn.established) return;
    const since = this.unreachableSince(conn);
    if (since !== undefined) this.scheduleCheck(conn, since + this.limits.idleTimeoutMs);
  }

  private scheduleCheck(conn: SimConnection, atMs: number): void {
    const nowMs = this.scheduler.nowMs;
    if (conn.checkAtMs <= atMs && conn.checkAtMs >= nowMs) return;
    conn.checkAtMs = atMs;
    const timeMs = Math.max(atMs, nowMs);
    this.scheduler.schedule(new CheckEvent(conn, timeMs), timeMs);
  }

  private split(data: Uint8Array): Uint8Array[] {
    const pieces: Uint8Array[] = [];
    let offset = 0;
    while (offset < data.length) {
      const rest = data.length - offset;
      const size = rest === 1 || chance(this.random, 0.3) ? rest : 1 + Math.floor(this.random.next() * rest);
      pieces.push(data.subarray(offset, offset + size));
      offset += size;
    }
    return pieces;
  }
}
