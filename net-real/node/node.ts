import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger as PinoLogger } from 'pino';
import { ConfigError, type Logger } from '../../core/index.ts';
import { RpcClient, RpcServer } from '../../core/rpc/index.ts';
import { Swim, type MembershipEvent } from '../../core/swim/index.ts';
import { createRealEnv, type RealEnv } from '../env.ts';
import { loadTlsMaterial, type TlsMaterial } from '../tls.ts';
import { AdminServer } from './admin.ts';
import { routeConnection } from './demux.ts';
import { NodeFlagError, type NodeConfig } from './flags.ts';
import { NodeMetrics } from './metrics.ts';
import { nodeService } from './service.ts';

const devCertScript = fileURLToPath(new URL('../../certs/make-dev-certs.sh', import.meta.url));

/** Deadline of the periodic `shoal.node.v1/status` call to a peer. */
export const rpcProbeTimeoutMs = 2_000;

/**
 * Time a leaving node keeps gossiping after announcing its departure, as multiples of the
 * gossip interval, so the `left` broadcast reaches everyone before the node goes quiet.
 */
export const leaveGossipRounds = 5;

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

  private constructor(
    readonly config: NodeConfig,
    readonly real: RealEnv,
    readonly swim: Swim,
    readonly server: RpcServer,
    readonly client: RpcClient,
    readonly metrics: NodeMetrics,
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
    const server = new RpcServer(real.env, { interceptors: [(call, next) => holder.metrics!.serverInterceptor(call, next)] });
    const client = new RpcClient(real.env, { onCallEnd: (info) => holder.metrics?.onClientCallEnd(info) });
    const metrics = new NodeMetrics(swim, real.transport, { node: config.name });
    holder.metrics = metrics;
    const ref: { node?: ShoalNode } = {};
    const admin = await AdminServer.start(config.admin, {
      health: () => swim.isRunning,
      ready: () => ref.node?.ready ?? false,
      status: () => ref.node?.status(),
      metrics: async () => ({ contentType: metrics.contentType, body: await metrics.text() }),
    });
    const node = new ShoalNode(config, real, swim, server, client, metrics, admin, log);
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
      rpc: null,
    };
  }

  private begin(): void {
    this.server.register(nodeService, {
      status: () => ({
        name: this.swim.name, address: this.swim.address, incarnation: this.swim.incarnation, liveMembers: this.swim.liveMembers,
        localHealth: this.swim.localHealth, uptimeMs: Math.round(performance.now() - this.startedAtMs),
      }),
    });
    this.swim.subscribe((event: MembershipEvent) => {
      this.log.info({ event: event.type, member: event.name, address: event.address, incarnation: event.incarnation, from: event.from }, `member ${event.type}`);
      this.admin.publish('member', event);
    });
    this.swim.start();
    // SWIM took every incoming connection; share them with the RPC server by first byte.
    const swimAccept = this.real.transport.streams.onConnection;
    this.real.transport.streams.onConnection = (connection) => routeConnection(connection, {
      rpc: (c) => this.server.accept(c),
      other: (c) => swimAccept?.(c),
    });
    if (this.config.rpcProbeMs > 0) {
      this.probeTimer = setInterval(() => this.probePeer(), this.config.rpcProbeMs);
      this.probeTimer.unref();
    }
    this.log.info({ address: this.swim.address, admin: this.admin.address, seeds: this.config.seeds, config: this.swim.config }, 'node started');
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
