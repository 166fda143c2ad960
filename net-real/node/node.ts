import type { Logger as PinoLogger } from 'pino';
import type { Logger } from '../../core/index.ts';
import { startApps, type RunningApps } from '../../core/app/index.ts';
import { attachRpc, type MemberRpcOptions } from '../../core/cluster/index.ts';
import { registerReflection, type RpcClient, type RpcServer } from '../../core/rpc/index.ts';
import { Swim, type MembershipEvent } from '../../core/swim/index.ts';
import { createRealEnv, type RealEnv } from '../env.ts';
import { rpcServerLimitOptions, streamRouteOptions } from '../limits.ts';
import { keyringStateSeal } from '../keyring.ts';
import { AdminServer } from './admin.ts';
import { keyRoutes } from './admin-keys.ts';
import { faultRoutes, InboundDelay } from './fault-control.ts';
import { appStartError, appStatus, exportAppValues } from './apps.ts';
import { securityWarnings, type NodeConfig, type NodeSecurity } from './flags.ts';
import { NodeMetrics } from './metrics.ts';
import { RpcStats, servedCallInterceptor, unservedCallRecord } from './rpc-stats.ts';
import { nodeService } from './service.ts';
import { listenError, loadSecurity } from './startup.ts';

/** Deadline of the periodic `shoal.node.v1/status` call to a peer. */
export const rpcProbeTimeoutMs = 2_000;

/**
 * Time a leaving node keeps gossiping after announcing its departure, as multiples of the
 * gossip interval, so the `left` broadcast reaches everyone before the node goes quiet.
 */
export const leaveGossipRounds = 5;

/** Member addresses remembered for naming RPC peers. */
export const peerNamesMax = 100_000;

/** The core's Logger on top of pino. */
export function coreLogger(pino: PinoLogger): Logger {
  return { log: (level, message, fields) => pino[level](fields ?? {}, message) };
}

/**
 * One running node: SWIM membership and an RPC server on one QUIC/UDP port, an RPC client
 * for calls to peers, the apps of `config.apps` on them, and the admin HTTP endpoint.
 */
export class ShoalNode {
  readonly startedAtMs = performance.now();
  private probeTimer: NodeJS.Timeout | undefined;
  private shuttingDown: Promise<void> | undefined;
  /** Member names by address, kept from membership events, so RPC figures name their peers. */
  private readonly namesByAddress = new Map<string, string>();
  /** The RPC server and client on the node's port (made in `begin`, once SWIM runs). */
  server!: RpcServer;
  client!: RpcClient;
  /** The apps this node runs, with their reported values (started in `begin`). */
  apps: RunningApps | undefined;

  private constructor(
    readonly config: NodeConfig,
    readonly real: RealEnv,
    readonly swim: Swim,
    private readonly rpcOptions: MemberRpcOptions,
    readonly metrics: NodeMetrics,
    readonly rpcStats: RpcStats,
    readonly admin: AdminServer,
    private readonly log: PinoLogger,
  ) {}

  static async start(config: NodeConfig, log: PinoLogger): Promise<ShoalNode> {
    const { tls, gossipKeys } = await loadSecurity(config);
    const real = await createRealEnv({
      bind: config.bind, tls, logger: coreLogger(log), limits: config.limits,
      ...(config.advertise === undefined ? {} : { advertise: config.advertise }),
      ...(gossipKeys === undefined ? {} : { gossipKeys }),
    }).catch((error: unknown) => {
      throw listenError('bind', config.bind, error);
    });
    // Push-pull is sealed with the gossip keyring: membership accepts from an exchange exactly what it accepts from gossip.
    const stateSeal = real.transport.keyring === undefined ? undefined : keyringStateSeal(real.transport.keyring);
    // `--fault-control`: membership's inbound datagrams pass through a delay the lab can set (`slow`).
    const inboundDelay = config.faultControl ? new InboundDelay() : undefined;
    const swimEnv = inboundDelay === undefined ? real.env : { ...real.env, transport: inboundDelay.wrap(real.env.transport) };
    const swim = new Swim(swimEnv, { name: config.name, tags: config.tags, config: config.swim, seeds: config.seeds, ...(stateSeal === undefined ? {} : { stateSeal }) });
    const holder: { metrics?: NodeMetrics } = {};
    const ref: { node?: ShoalNode } = {};
    const peerName = (address: string) => ref.node?.peerName(address) ?? address;
    const rpcStats = new RpcStats(() => real.env.clock.now());
    const served = servedCallInterceptor(() => real.env.clock.now(), {
      started: (call) => rpcStats.serverStarted(peerName(call.peer)),
      ended: (call, code, latencyMs) => {
        const peer = peerName(call.peer);
        rpcStats.serverEnded(peer);
        rpcStats.record({ side: 'server', method: call.method, code, latencyMs, peer });
        holder.metrics?.onServerCallEnd(call.method, code, latencyMs);
      },
    });
    const rpcOptions: MemberRpcOptions = {
      server: {
        interceptors: [served],
        ...rpcServerLimitOptions(config.limits, real.transport),
        onUnserved: (call) => {
          const record = unservedCallRecord(call, peerName(call.peer));
          rpcStats.record(record);
          holder.metrics?.onServerCallUnserved(record);
        },
      },
      client: {
        onCallEnd: (info) => {
          holder.metrics?.onClientCallEnd(info);
          rpcStats.record({ side: 'client', method: info.method, code: info.code, latencyMs: info.latencyMs, peer: peerName(info.address) });
        },
      },
      routing: streamRouteOptions(config.limits, real.transport),
    };
    const metrics = new NodeMetrics(swim, real.transport, { node: config.name });
    holder.metrics = metrics;
    exportAppValues(metrics.registry, () => ref.node?.apps);
    const admin = await AdminServer.start(config.admin, {
      health: () => swim.isRunning,
      notReadyReason: () => ref.node === undefined ? 'starting' : ref.node.notReadyReason,
      status: () => ref.node?.status(),
      metrics: async () => ({ contentType: metrics.contentType, body: await metrics.text() }),
      routes: new Map([
        ...keyRoutes(real.transport.keyring, (op, key, after) => log.info({ op, key, keys: after.keys }, `gossip key ${op}`)),
        ...(inboundDelay === undefined ? [] : faultRoutes(inboundDelay, (message, fields) => log.warn(fields, message))),
      ]),
    }, config.adminMaxConnections === undefined ? {} : { maxConnections: config.adminMaxConnections }).catch(async (error: unknown) => {
      await real.close();
      throw listenError('admin', config.admin, error);
    });
    metrics.observeAdmin(admin);
    // Held datagrams die with the node: the delay's timer is cancelled when the environment closes.
    const realEnv = inboundDelay === undefined ? real : { ...real, close: () => { inboundDelay.close(); return real.close(); } };
    const node = new ShoalNode(config, realEnv, swim, rpcOptions, metrics, rpcStats, admin, log);
    ref.node = node;
    for (const warning of node.security.warnings) log.warn({ insecure: config.insecure }, warning);
    try {
      node.begin();
    } catch (error) {
      await node.abandon();
      throw appStartError(config.apps, error);
    }
    return node;
  }

  /** Joined: another member is known alive, or this is the first member (no seeds). */
  get ready(): boolean {
    return this.notReadyReason === undefined;
  }

  /**
   * Why the node is not ready, or undefined. A node that has seeds but knows no other
   * member, while gossip or push-pull from peers fails to authenticate, says so: its key is
   * not the cluster's (or its clock is off by more than the replay window).
   */
  get notReadyReason(): string | undefined {
    if (!this.swim.isRunning) return 'not running';
    if (this.swim.liveMembers > 1 || this.config.seeds.length === 0) return undefined;
    const stats = this.swim.stats;
    const refused = this.real.transport.droppedUnauthenticated + stats.pushPullRejected + stats.pushPullRefusedByPeer;
    if (refused === 0) return 'not joined';
    return `not joined: cannot authenticate its peers (${refused} gossip packets or push-pull frames refused either way; `
      + 'is the gossip key the cluster\'s, and the clock within the replay window?)';
  }

  /** Gossip sealing: whether it is on, and what the keyring refused by reason. */
  private gossipStatus() {
    const keyring = this.real.transport.keyring;
    return {
      encrypted: keyring !== undefined,
      refused: keyring === undefined ? { unauthenticated: 0, stale: 0, replayed: 0 } : { ...keyring.refusals },
      replayCacheEvictions: keyring?.replayCacheEvictions ?? 0,
    };
  }

  get address(): string {
    return this.swim.address;
  }

  /** What protects this node's traffic, and what is off (`--insecure`). */
  get security(): NodeSecurity {
    const gossipEncrypted = this.real.transport.keyring !== undefined;
    return {
      insecure: this.config.insecure, mtls: this.config.mutual, gossipEncrypted,
      warnings: securityWarnings(this.config.insecure, this.config.mutual, gossipEncrypted),
    };
  }

  /** The `/status` document (shape in docs/OPERATIONS.md, read by the dashboard). */
  status() {
    const now = this.real.env.clock.now();
    return {
      node: {
        name: this.swim.name, address: this.swim.address, incarnation: this.swim.incarnation, localHealth: this.swim.localHealth,
        inFlight: this.server.activeCalls, uptimeMs: Math.round(performance.now() - this.startedAtMs), admin: this.admin.address,
      },
      timeMs: now,
      ready: this.ready,
      notReadyReason: this.notReadyReason ?? null,
      security: this.security,
      gossip: this.gossipStatus(),
      members: this.swim.members(),
      stats: { ...this.swim.stats },
      transport: { connections: this.real.transport.connectionCount, droppedUnauthenticated: this.real.transport.droppedUnauthenticated, quicPacketsSent: this.real.transport.quicPacketsSent, quicSendErrors: this.real.transport.quicSendErrors, refused: this.real.transport.refusals },
      rpc: this.rpcStats.summary(this.clientInFlight()),
      apps: appStatus(this.apps),
    };
  }

  /** A member's name for an address it advertises; other addresses (clients) stay as they are. */
  peerName(address: string): string {
    return this.namesByAddress.get(address) ?? address;
  }

  /** Calls this node's RPC client has in flight, by peer. */
  private clientInFlight(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const address of this.client.connectedAddresses()) {
      const n = this.client.inFlight(address);
      if (n > 0) out[this.peerName(address)] = n;
    }
    return out;
  }

  /**
   * Joins and serves: SWIM starts, RPC joins it on the port (`attachRpc`, the simulator's
   * wiring), then the node's own service and the apps. An app whose `start` throws throws
   * here (`AppStartError`), and the node is abandoned.
   */
  private begin(): void {
    this.swim.subscribe((event: MembershipEvent) => {
      // Bounded: a cluster whose members keep changing addresses starts the map afresh.
      if (this.namesByAddress.size >= peerNamesMax) this.namesByAddress.clear();
      if (event.name !== '') this.namesByAddress.set(event.address, event.name);
      this.log.info({ event: event.type, member: event.name, address: event.address, incarnation: event.incarnation, from: event.from }, `member ${event.type}`);
      this.admin.publish('member', event);
    });
    this.swim.start();
    ({ server: this.server, client: this.client } = attachRpc(this.real.env, this.swim, this.rpcOptions));
    registerReflection(this.server);
    this.server.register(nodeService, {
      status: () => ({
        name: this.swim.name, address: this.swim.address, incarnation: this.swim.incarnation, liveMembers: this.swim.liveMembers,
        localHealth: this.swim.localHealth, uptimeMs: Math.round(performance.now() - this.startedAtMs),
      }),
    });
    this.apps = startApps({ env: this.real.env, swim: this.swim, server: this.server, client: this.client }, this.config.apps);
    if (this.config.rpcProbeMs > 0) {
      this.probeTimer = setInterval(() => this.probePeer(), this.config.rpcProbeMs);
      this.probeTimer.unref();
    }
    this.log.info({
      address: this.swim.address, admin: this.admin.address, seeds: this.config.seeds, config: this.swim.config,
      apps: this.config.apps.map((p) => ({ name: p.app.name, source: p.source, services: p.app.services.map((s) => s.name) })),
    }, 'node started');
  }

  /** Calls `status` on one random live peer, so RPC metrics reflect real traffic. */
  private probePeer(): void {
    const peers = this.swim.members().filter((m) => m.name !== this.swim.name && m.state === 'alive');
    if (peers.length === 0) return;
    const peer = peers[Math.floor(Math.random() * peers.length)]!;
    this.client.service(nodeService, peer.address).status({}, { timeoutMs: rpcProbeTimeoutMs })
      .catch((error: unknown) => this.log.debug({ peer: peer.name, error: (error as Error).message }, 'rpc probe failed'));
  }

  /** A node that could not begin: everything it opened closes, without a goodbye to the cluster. */
  private async abandon(): Promise<void> {
    this.swim.stop();
    this.client?.close();
    await this.admin.close();
    await this.real.close();
  }

  /**
   * Graceful shutdown: announce the departure and keep gossiping a few rounds, drain RPC
   * calls, then close every connection, the socket and the admin endpoint.
   */
  shutdown(drainMs = 5_000): Promise<void> {
    this.shuttingDown ??= (async () => {
      this.log.info('leaving the cluster');
      if (this.probeTimer !== undefined) clearInterval(this.probeTimer);
      this.swim.leave();
      await new Promise((resolve) => setTimeout(resolve, leaveGossipRounds * this.swim.config.gossipIntervalMs));
      await this.server.shutdown({ deadlineMs: drainMs });
      this.apps?.stop();
      this.client.close();
      this.swim.stop();
      await this.admin.close();
      await this.real.close();
      this.log.info('stopped');
    })();
    return this.shuttingDown;
  }
}
