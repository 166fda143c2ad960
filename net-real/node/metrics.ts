import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CallEndInfo } from '../../core/rpc/index.ts';
import type { MemberState, Swim } from '../../core/swim/index.ts';
import type { QuicTransport } from '../quic-transport.ts';

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

/**
 * The node's Prometheus metrics in their own Registry (never the global one, so several
 * nodes in one process, as in tests, do not collide). Membership and transport figures are
 * read at scrape time; RPC calls are counted as they end.
 */
export class NodeMetrics {
  readonly registry = new Registry();
  private readonly serverCalls: Counter<'method' | 'code'>;
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
    const s = swim.stats;
    mirroredCounter(r, 'shoal_swim_probes_total', 'Direct probes sent.', () => s.probes);
    mirroredCounter(r, 'shoal_swim_indirect_probes_total', 'Indirect probes (ping-req) sent.', () => s.indirectProbes);
    mirroredCounter(r, 'shoal_swim_suspicions_total', 'Members this node started suspecting.', () => s.suspicions);
    mirroredCounter(r, 'shoal_swim_refutations_total', 'Suspicions about this node that it refuted (each one a false suspicion).', () => s.refutations);
    mirroredCounter(r, 'shoal_swim_failed_then_alive_total', 'Members declared failed that were later seen alive (false failures or restarts).', () => s.failedThenAlive);
    mirroredCounter(r, 'shoal_swim_failures_total', 'Members this node declared failed.', () => s.failures);
    mirroredCounter(r, 'shoal_swim_pushpulls_total', 'Push-pull state exchanges completed.', () => s.pushPulls);
    mirroredCounter(r, 'shoal_swim_decode_errors_total', 'Gossip packets that did not decode.', () => s.decodeErrors);
    mirroredCounter(r, 'shoal_gossip_bytes_sent_total', 'Gossip datagram bytes sent.', () => s.bytesSent);
    mirroredCounter(r, 'shoal_gossip_bytes_received_total', 'Gossip datagram bytes received.', () => s.bytesReceived);
    mirroredCounter(r, 'shoal_gossip_dropped_unauthenticated_total', 'Gossip packets dropped because no key of the keyring opened them.', () => transport.droppedUnauthenticated);
    mirroredCounter(r, 'shoal_quic_packets_sent_total', 'QUIC packets sent (all connections).', () => transport.quicPacketsSent);
    this.serverCalls = new Counter({ name: 'shoal_rpc_server_calls_total', help: 'RPC calls served, by method and status.', labelNames: ['method', 'code'], registers: [r] });
    this.serverLatency = new Histogram({ name: 'shoal_rpc_server_latency_seconds', help: 'Time from a call\'s arrival to its trailer.', labelNames: ['method'], buckets: rpcLatencyBucketsSeconds, registers: [r] });
    this.clientCalls = new Counter({ name: 'shoal_rpc_client_calls_total', help: 'RPC calls this node made, by method and status.', labelNames: ['method', 'code'], registers: [r] });
    this.clientLatency = new Histogram({ name: 'shoal_rpc_client_latency_seconds', help: 'Latency of calls this node made.', labelNames: ['method'], buckets: rpcLatencyBucketsSeconds, registers: [r] });
  }

  /** A served call ended (see `servedCallInterceptor`). */
  readonly onServerCallEnd = (method: string, code: string, latencyMs: number): void => {
    this.serverCalls.inc({ method, code });
    this.serverLatency.observe({ method }, latencyMs / 1000);
  };

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
