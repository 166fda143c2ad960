import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger as PinoLogger } from 'pino';
import { ConfigError, type Logger } from '../../core/index.ts';
import { installExampleMember, type ExampleMember } from '../../core/cluster/index.ts';
import { RpcClient, RpcServer } from '../../core/rpc/index.ts';
import { Swim, type MembershipEvent } from '../../core/swim/index.ts';
import { createRealEnv, type RealEnv } from '../env.ts';
import { loadTlsMaterial, type TlsMaterial } from '../tls.ts';
import { AdminServer } from './admin.ts';
import { NodeFlagError, type NodeConfig } from './flags.ts';
import { NodeMetrics } from './metrics.ts';
import { RpcStats, servedCallInterceptor } from './rpc-stats.ts';
import { nodeService } from './service.ts';

const devCertScript = fileURLToPath(new URL('../../certs/make-dev-certs.sh', import.meta.url));

/** Deadline of the periodic `shoal.node.v1/status` call to a peer. */
export const rpcProbeTimeoutMs = 2_000;

/**
 * Time a leaving node keeps gossiping after announcing its departure, as multiples of the
 * gossip interval, so the `left` broadcast reaches everyone before the node goes quiet.
 */
export const leaveGossipRounds = 5;

/** Member addresses remembered for naming RPC peers. */
export const peerNamesMax = 100_000;

/** Makes (or reuses) a development CA and this node's certificate in `dir`. */
export function ensureDevCerts(dir: string, name: string, mutual: boolean): { cert: string; key: string; ca: string; mutual: boolean } {
  const paths = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`), ca: join(dir, 'ca.pem'), mutual };
  if (!existsSync(paths.cert) || !existsSync(paths.key) || !existsSync(paths.ca)) {
    mkdirSync(dir, { recursive: true });
    try {
      execFileSync('bash', [devCertScript, dir, name], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      throw new NodeFlagError(`--dev-certs: cannot make certificates in ${dir}: ${(error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message}`);
    }
  }
  return paths;
}

/** The core's Logger on top of pino. */
export function coreLogger(pino: PinoLogger): Logger {
  return { log: (level, message, fields) => pino[level](fields ?? {}, message) };
}

/**
 * One running node: SWIM membership and an RPC server on one QUIC/UDP port, an RPC client
 * for calls to peers, and the admin HTTP endpoint.
 */
export class ShoalNode {
  readonly startedAtMs = performance.now();
  private probeTimer: NodeJS.Timeout | undefined;
  private shuttingDown: Promise<void> | undefined;
  /** Member names by address, kept from membership events, so RPC figures name their peers. */
  private readonly namesByAddress = new Map<string, string>();
  /** The director/worker example's registries and services on this node (installed in `begin`). */
  example!: ExampleMember;

  private constructor(
    readonly config: NodeConfig,
    readonly real: RealEnv,
    readonly swim: Swim,
    readonly server: RpcServer,
    readonly client: RpcClient,
    readonly metrics: NodeMetrics,
    readonly rpcStats: RpcStats,
    readonly admin: AdminServer,
    private readonly log: PinoLogger,
  ) {}

  static async start(config: NodeConfig, log: PinoLogger): Promise<ShoalNode> {
    const paths = config.tls ?? ensureDevCerts(config.devCertsDir!, config.name, config.mutual);
    let tls: TlsMaterial;
    try {
      tls = await loadTlsMaterial(paths);
    } catch (error) {
      if (error instanceof ConfigError) throw new NodeFlagError(error.message);
      throw error;
    }
    const real = await createRealEnv({
      bind: config.bind, tls, logger: coreLogger(log),
      ...(config.advertise === undefined ? {} : { advertise: config.advertise }),
      ...(config.gossipKeys === undefined ? {} : { gossipKeys: config.gossipKeys }),
    });
    const swim = new Swim(real.env, { name: config.name, tags: config.tags, config: config.swim, seeds: config.seeds });
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
    const server = new RpcServer(real.env, { interceptors: [served] });
    const client = new RpcClient(real.env, {
      onCallEnd: (info) => {
        holder.metrics?.onClientCallEnd(info);
        rpcStats.record({ side: 'client', method: info.method, code: info.code, latencyMs: info.latencyMs, peer: peerName(info.address) });
      },
    });
    const metrics = new NodeMetrics(swim, real.transport, { node: config.name });
    holder.metrics = metrics;
    const admin = await AdminServer.start(config.admin, {
      health: () => swim.isRunning,
      ready: () => ref.node?.ready ?? false,
      status: () => ref.node?.status(),
      metrics: async () => ({ contentType: metrics.contentType, body: await metrics.text() }),
    });
    const node = new ShoalNode(config, real, swim, server, client, metrics, rpcStats, admin, log);
    ref.node = node;
    node.begin();
    return node;
  }

  /** Joined: another member is known alive, or this is the first member (no seeds). */
  get ready(): boolean {
    return this.swim.isRunning && (this.swim.liveMembers > 1 || this.config.seeds.length === 0);
  }

  get address(): string {
    return this.swim.address;
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
      members: this.swim.members(),
      stats: { ...this.swim.stats },
      transport: { connections: this.real.transport.connectionCount, droppedUnauthenticated: this.real.transport.droppedUnauthenticated, quicPacketsSent: this.real.transport.quicPacketsSent },
      rpc: this.rpcStats.summary(this.clientInFlight()),
      example: {
        worker: this.example.isWorker, director: this.example.strategy ?? null, workerFilter: this.config.workerFilter,
        workers: this.example.workers.pool().map((w) => ({ name: w.id, address: w.address, inFlight: w.inFlight })),
      },
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

  private begin(): void {
    this.server.register(nodeService, {
      status: () => ({
        name: this.swim.name, address: this.swim.address, incarnation: this.swim.incarnation, liveMembers: this.swim.liveMembers,
        localHealth: this.swim.localHealth, uptimeMs: Math.round(performance.now() - this.startedAtMs),
      }),
    });
    this.swim.subscribe((event: MembershipEvent) => {
      // Bounded: a cluster whose members keep changing addresses starts the map afresh.
      if (this.namesByAddress.size >= peerNamesMax) this.namesByAddress.clear();
      if (event.name !== '') this.namesByAddress.set(event.address, event.name);
      this.log.info({ event: event.type, member: event.name, address: event.address, incarnation: event.incarnation, from: event.from }, `member ${event.type}`);
      this.admin.publish('member', event);
    });
    this.swim.start();
    // The same wiring as the simulator's cluster hosts: RPC and push-pull share the port.
    this.example = installExampleMember(this.real.env, this.swim, this.server, this.client, {
      workerFilter: this.config.workerFilter, director: this.config.director ?? false,
    });
    if (this.config.rpcProbeMs > 0) {
      this.probeTimer = setInterval(() => this.probePeer(), this.config.rpcProbeMs);
      this.probeTimer.unref();
    }
    this.log.info({
      address: this.swim.address, admin: this.admin.address, seeds: this.config.seeds, config: this.swim.config,
      worker: this.example.isWorker, director: this.example.strategy ?? null,
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
      this.client.close();
      this.swim.stop();
      await this.admin.close();
      await this.real.close();
      this.log.info('stopped');
    })();
    return this.shuttingDown;
  }
}
