/**
 * Why the node turned something a peer sent away. Stable snake_case names: they are the
 * `reason` label of `shoal_transport_refused_total` and the keys of `/status`. Append-only.
 */
export const refusalReasons = [
  /** A new inbound connection over `maxInboundConnections` (its Initial packets are dropped). */
  'connections',
  /** A stream over the per-connection stream bound, or opened beside a connection's first stream before it was routed (reset at once). */
  'streams',
  /** A call or a partial frame over the RPC buffer bounds (RESOURCE_EXHAUSTED, or the connection closed). */
  'buffered_bytes',
  /** A connection whose first stream did not deliver its 4 routing bytes in time (closed). */
  'route_timeout',
  /** An inbound connection without any stream for too long (closed). */
  'streamless_connection',
  /** A UDP datagram that is neither gossip nor QUIC (no QUIC fixed bit): dropped. */
  'unknown_datagram',
  /** A QUIC packet read while `quicBacklogPacketsMax` already waited for the library: dropped (QUIC resends it). */
  'quic_backlog',
] as const;

export type RefusalReason = (typeof refusalReasons)[number];

/**
 * Inbound QUIC connections at once, in handshake or open. An idle connection costs
 * ~160 KiB of server RSS, so 512 hold ~80 MiB; a cluster member needs about two per peer
 * (an RPC client and a push-pull exchange), so this serves clusters of ~250 members.
 */
export const maxInboundConnectionsDefault = 512;

/** Longest an inbound connection may stay without a stream: RPC and push-pull open theirs right after the handshake. */
export const streamlessConnectionTimeoutMsDefault = 5_000;

/** What a watched connection must offer: its stream count and a way to drop it. */
export interface GuardedConnection {
  readonly openStreamCount: number;
  abort(): void;
}

interface Watch {
  readonly connection: GuardedConnection;
  /** Since when (performance.now) the connection has had no stream; undefined while it has one. */
  streamlessSinceMs: number | undefined;
}

/** Sweeps per streamless timeout: a streamless connection closes within 1.25 timeouts. */
const sweepsPerTimeout = 4;

/**
 * The transport's node-wide refusal counters, and the one rule that needs a clock: an
 * inbound connection that holds no stream for `streamlessTimeoutMs` is closed. A legitimate
 * peer opens its stream right after the handshake (RPC and push-pull both do), so a
 * connection without one only holds the ~160 KiB a QUIC connection costs.
 *
 * One unref'd timer sweeps the watched connections, running only while there are some.
 */
export class InboundGuard {
  private readonly counts: Record<RefusalReason, number>;
  private readonly watches = new Map<GuardedConnection, Watch>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly streamlessTimeoutMs: number) {
    this.counts = Object.fromEntries(refusalReasons.map((reason) => [reason, 0])) as Record<RefusalReason, number>;
  }

  /** Refusals so far, by reason (a copy). */
  get refusals(): Readonly<Record<RefusalReason, number>> {
    return { ...this.counts };
  }

  refuse(reason: RefusalReason): void {
    this.counts[reason]++;
  }

  /** Starts watching an accepted connection for streamlessness. */
  watch(connection: GuardedConnection): void {
    this.watches.set(connection, { connection, streamlessSinceMs: performance.now() });
    if (this.sweepTimer !== undefined) return;
    this.sweepTimer = setInterval(() => this.sweep(performance.now()), Math.max(1, Math.floor(this.streamlessTimeoutMs / sweepsPerTimeout)));
    this.sweepTimer.unref();
  }

  /** The peer opened a stream: the connection is in use. */
  streamOpened(connection: GuardedConnection): void {
    const watch = this.watches.get(connection);
    if (watch !== undefined) watch.streamlessSinceMs = undefined;
  }

  forget(connection: GuardedConnection): void {
    this.watches.delete(connection);
  }

  get watchedCount(): number {
    return this.watches.size;
  }

  stop(): void {
    this.watches.clear();
    this.stopSweeping();
  }

  private stopSweeping(): void {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /** Closes every watched connection that has been without a stream for the timeout. */
  sweep(nowMs: number): void {
    for (const watch of [...this.watches.values()]) {
      if (watch.connection.openStreamCount > 0) {
        watch.streamlessSinceMs = undefined;
        continue;
      }
      watch.streamlessSinceMs ??= nowMs;
      if (nowMs - watch.streamlessSinceMs < this.streamlessTimeoutMs) continue;
      this.watches.delete(watch.connection);
      this.refuse('streamless_connection');
      watch.connection.abort();
    }
    if (this.watches.size === 0) this.stopSweeping();
  }
}
