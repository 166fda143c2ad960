import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CallEndInfo } from '../../core/rpc/index.ts';
import type { MemberState, Swim, SwimStats } from '../../core/swim/index.ts';
import type { QuicTransport } from '../quic-transport.ts';
import type { AdminServer } from './admin.ts';
import type { RpcCallRecord } from './rpc-stats.ts';

/** Latency buckets in seconds: loopback calls take well under a millisecond, WAN ones up to seconds. */
export const rpcLatencyBucketsSeconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const memberStates: readonly MemberState[] = ['alive', 'suspect', 'dead', 'left'];

/** A counter whose value is read from a monotonically increasing source at scrape time. */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name, help, registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** A counter with one label whose values are read from a record of counts at scrape time. */
function mirroredLabelledCounter(registry: Registry, name: string, help: string, label: string, read: () => Readonly<Record<string, number>>): void {
  new Counter({
    name, help, labelNames: [label], registers: [registry],
    collect() {
      this.reset();
      for (const [value, n] of Object.entries(read())) this.inc({ [label]: value }, n);
    },
  });
}

/** Names the SwimStats counters had before they were exported by rule; they stay, for existing dashboards. */
const swimStatNames: Partial<Record<keyof SwimStats, string>> = {
  pushPulls: 'shoal_swim_pushpulls_total',
  bytesSent: 'shoal_gossip_bytes_sent_total',
  bytesReceived: 'shoal_gossip_bytes_received_total',
};

/** HELP texts; a field without one (newly added) gets a generic text naming the field. */
const swimStatHelp: Partial<Record<keyof SwimStats, string>> = {
  probes: 'Direct probes sent.',
  acks: 'Acks received for probes.',
  nacks: 'Nacks received: a member asked to probe indirectly could not reach the target.',
  indirectProbes: 'Indirect probes (ping-req) sent.',
  suspicions: 'Members this node started suspecting.',
  refutations: 'Suspicions about this node that it refuted (each one a false suspicion).',
  failedThenAlive: 'Members declared failed that were later seen alive (false failures or restarts).',
  failures: 'Members this node declared failed.',
  datagramsSent: 'Gossip datagrams sent.',
  datagramsReceived: 'Gossip datagrams received.',
  bytesSent: 'Gossip datagram bytes sent.',
  bytesReceived: 'Gossip datagram bytes received.',
  gossipBytesSent: 'Bytes of piggybacked broadcasts sent (excluding probe headers).',
  decodeErrors: 'Gossip packets that did not decode.',
  pushPulls: 'Push-pull state exchanges completed.',
  pushPullFailures: 'Push-pull state exchanges that failed (peer unreachable, timeout).',
  appDelegateErrors: 'Exceptions thrown by the app\'s gossip delegate (broadcast handler, push-pull state): caught, logged and counted.',
  incarnationsRejected: 'Messages refused for an incarnation no refutation could exceed.',
  pushPullRejected: 'Push-pull state frames refused: not authenticated (wrong key, replayed, stale) or malformed.',
  pushPullRefusedByPeer: 'Push-pull exchanges whose peer refused our state as unauthenticated (our gossip key is not theirs).',
  membersRefusedTotal: 'New members refused because the member table was full (membersMax).',
  membersRefusedPerPushPull: 'New members refused beyond pushPullNewMembersMax in one exchange.',
  membersRefusedRate: 'New members refused beyond newMembersPerSecondMax.',
};

/**
 * The metric of a SwimStats counter: its established name, else `shoal_swim_` and the field
 * in snake case with `_total` (a field already ending in `Total` does not get it twice).
 */
export function swimStatMetricName(field: string): string {
  const known = swimStatNames[field as keyof SwimStats];
  if (known !== undefined) return known;
  const snake = field.replace(/Total$/, '').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return `shoal_swim_${snake}_total`;
}

/**
 * The node's Prometheus metrics in their own Registry (never the global one, so several
 * nodes in one process, as in tests, do not collide). Membership and transport figures are
 * read at scrape time; RPC calls are counted as they end.
 */
export class NodeMetrics {
  readonly registry = new Registry();
  private readonly serverCalls: Counter<'method' | 'code'>;
  private readonly serverRefused: Counter<'code'>;
  private readonly serverLatency: Histogram<'method'>;
  private readonly clientCalls: Counter<'method' | 'code'>;
  private readonly clientLatency: Histogram<'method'>;

  constructor(swim: Swim, transport: QuicTransport, labels: { node: string }) {
    const r = this.registry;
    r.setDefaultLabels(labels);
    new Gauge({
      name: 'shoal_members', help: 'Members this node knows, by state (the node itself included).', labelNames: ['state'], registers: [r],
      collect() {
        const counts = new Map<MemberState, number>(memberStates.map((s) => [s, 0]));
        for (const m of swim.members()) counts.set(m.state, (counts.get(m.state) ?? 0) + 1);
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    new Gauge({ name: 'shoal_local_health', help: 'Lifeguard local health awareness score (0 = healthy).', registers: [r], collect() {
      this.set(swim.localHealth);
    } });
    new Gauge({ name: 'shoal_incarnation', help: 'This node\'s incarnation number.', registers: [r], collect() {
      this.set(swim.incarnation);
    } });
    new Gauge({ name: 'shoal_quic_connections', help: 'Open QUIC connections, both directions.', registers: [r], collect() {
      this.set(transport.connectionCount);
    } });
    // Every numeric SwimStats field, so a counter added to SwimStats is exported without a change here.
    const stats = () => swim.stats as unknown as Readonly<Record<string, unknown>>;
    for (const [field, value] of Object.entries(stats())) {
      if (typeof value !== 'number') continue;
      const help = swimStatHelp[field as keyof SwimStats] ?? `SwimStats.${field}: a SWIM counter since start (see core/swim/member.ts).`;
      mirroredCounter(r, swimStatMetricName(field), help, () => stats()[field] as number);
    }
    mirroredCounter(r, 'shoal_gossip_dropped_unauthenticated_total', 'Gossip packets dropped because no key of the keyring opened them.', () => transport.droppedUnauthenticated);
    mirroredCounter(r, 'shoal_quic_packets_sent_total', 'QUIC packets sent (all connections).', () => transport.quicPacketsSent);
    mirroredCounter(r, 'shoal_quic_send_errors_total', 'QUIC packets the kernel refused to send for a passing reason (EPERM from a firewall, ENOBUFS, ...): dropped like loss.', () => transport.quicSendErrors);
    mirroredLabelledCounter(r, 'shoal_gossip_refused_total', 'Sealed gossip packets and push-pull frames the keyring refused, by reason: unauthenticated (no key opens it), stale (timestamp outside the replay window), replayed (nonce already seen).', 'reason',
      () => transport.keyring?.refusals ?? {});
    mirroredLabelledCounter(r, 'shoal_transport_refused_total', 'Connections, streams, bytes and datagrams the QUIC transport refused, by reason.', 'reason', () => transport.refusals);
    this.serverCalls = new Counter({
      name: 'shoal_rpc_server_calls_total', labelNames: ['method', 'code'], registers: [r],
      help: 'RPC calls that reached this node, by method and status: served, refused on arrival and abandoned (cancelled, connection lost) included.',
    });
    this.serverRefused = new Counter({
      name: 'shoal_rpc_server_refused_total', labelNames: ['code'], registers: [r],
      help: 'RPC calls refused on arrival, before any handler ran (RESOURCE_EXHAUSTED: over maxConcurrentCalls; UNAVAILABLE: shutting down; UNIMPLEMENTED).',
    });
    this.serverLatency = new Histogram({ name: 'shoal_rpc_server_latency_seconds', help: 'Time from a call\'s arrival to its trailer.', labelNames: ['method'], buckets: rpcLatencyBucketsSeconds, registers: [r] });
    this.clientCalls = new Counter({ name: 'shoal_rpc_client_calls_total', help: 'RPC calls this node made, by method and status.', labelNames: ['method', 'code'], registers: [r] });
    this.clientLatency = new Histogram({ name: 'shoal_rpc_client_latency_seconds', help: 'Latency of calls this node made.', labelNames: ['method'], buckets: rpcLatencyBucketsSeconds, registers: [r] });
  }

  /** A served call ended (see `servedCallInterceptor`). */
  readonly onServerCallEnd = (method: string, code: string, latencyMs: number): void => {
    this.serverCalls.inc({ method, code });
    this.serverLatency.observe({ method }, latencyMs / 1000);
  };

  /** A call the interceptors never saw (`RpcServerOptions.onUnserved`, through `unservedCallRecord`): counted, without a latency. */
  readonly onServerCallUnserved = (record: RpcCallRecord): void => {
    this.serverCalls.inc({ method: record.method, code: record.code });
    if (record.refused === true) this.serverRefused.inc({ code: record.code });
  };

  /** Exports the admin endpoint's own figures (it starts after the metrics exist). */
  observeAdmin(admin: AdminServer): void {
    const r = this.registry;
    new Gauge({ name: 'shoal_admin_connections', help: 'Admin HTTP connections open now.', registers: [r], collect() {
      this.set(admin.connections);
    } });
    new Gauge({ name: 'shoal_admin_event_clients', help: '/events clients attached now.', registers: [r], collect() {
      this.set(admin.eventClients);
    } });
    mirroredCounter(r, 'shoal_admin_events_dropped_slow_clients_total', '/events clients dropped because their unsent backlog stayed too large.', () => admin.droppedSlowClients);
    mirroredLabelledCounter(r, 'shoal_admin_refused_total', 'Admin connections and requests refused or closed, by reason.', 'reason', () => admin.refusals);
  }

  /** For `RpcClientOptions.onCallEnd`. */
  readonly onClientCallEnd = (info: CallEndInfo): void => {
    this.clientCalls.inc({ method: info.method, code: info.code });
    this.clientLatency.observe({ method: info.method }, info.latencyMs / 1000);
  };

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
