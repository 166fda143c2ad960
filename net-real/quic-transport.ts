import { createHmac, randomBytes, timingSafeEqual, webcrypto } from 'node:crypto';
import type { RemoteInfo } from 'node:dgram';
import { QUICClient, QUICServer, events, type QUICConfig, type QUICConnection } from '@matrixai/quic';
import type Logger from '@matrixai/logger';
import {
  ConfigError, DatagramTooLargeError, connectTimeoutMsDefault, formatAddress, parseAddress, streamBufferBytesMaxDefault,
  type Address, type Connection, type DatagramService, type StreamService, type Transport,
} from '../core/index.ts';
import {
  Keyring, gossipVersionPlain, plainOverheadBytes, sealedOverheadBytes,
} from './keyring.ts';
import { quicLibraryLogger } from './library-logger.ts';
import { QuicConnectionAdapter, closeFlushTimeoutMsDefault, type ConnectionLimits } from './quic-connection.ts';
import { mapConnectError, streamCodeToReason, streamReasonToCode } from './quic-errors.ts';
import { SharedUdpSocket } from './quic-socket.ts';
import {
  InboundGuard, maxInboundConnectionsDefault, streamlessConnectionTimeoutMsDefault, type RefusalReason,
} from './inbound-guard.ts';
import type { TlsMaterial } from './tls.ts';
import { verifyClientCertificate, verifyServerCertificate } from './tls-verify.ts';

/** Largest UDP payload sent off loopback: there is no path-MTU discovery, 1 350 fits every common path. */
export const packetBytesMax = 1350;

export interface QuicTransportOptions {
  /** `host:port` to bind the node's one UDP port (QUIC and gossip). Port 0 picks a free port. */
  bind: Address;
  /**
   * The address peers reach this node at, when it differs from `bind` (NAT, a wildcard
   * bind). Required when binding a wildcard host.
   * @default the bound address
   */
  advertise?: Address;
  tls: TlsMaterial;
  /** Seals gossip datagrams; without it they travel in plaintext (development only). */
  keyring?: Keyring;
  /**
   * A connection with nothing heard for this long fails with `ConnectionLostError`. The
   * library's default (0) never detects a dead peer, so this must be > 0.
   * @default 10000
   */
  idleTimeoutMs?: number;
  /**
   * Interval of keep-alive pings on idle connections, so an idle but healthy connection
   * never hits the idle timeout. Must be below `idleTimeoutMs`.
   * @default idleTimeoutMs / 3
   */
  keepAliveIntervalMs?: number;
  /**
   * A handshake not finished within this fails with `ConnectTimeoutError`.
   * @default 5000 (`connectTimeoutMsDefault`, as in the simulator), or idleTimeoutMs if that is shorter
   */
  connectTimeoutMs?: number;
  /**
   * Most streams open at once on a connection, both directions. The QUIC stream credit
   * each endpoint grants is twice this, so closed streams the library has not yet
   * collected never push a peer past its credit. All nodes must use the same value.
   * Streams a peer opens past it are reset (the `streams` refusal). `shoal node` sets 8
   * (`--max-streams-per-connection`): RPC and push-pull use one stream per connection.
   * @default 1000
   */
  maxStreams?: number;
  /** Most bytes a stream buffers before `write` throws `LimitExceededError`. @default 4 MiB */
  streamBufferBytesMax?: number;
  /**
   * Longest a graceful `Connection.close()` (and `close()` of the transport) waits for what
   * was written to reach the peer before tearing the connection down anyway; see
   * `closeFlushTimeoutMsDefault`.
   * @default 2000
   */
  closeFlushTimeoutMs?: number;
  /**
   * Largest UDP payload, for QUIC packets and sealed gossip alike. Keep ≤ 1 350 off
   * loopback; larger values only work if every peer uses the same value.
   * @default 1350
   */
  maxPacketBytes?: number;
  /** Kernel receive buffer asked for the UDP socket; the ~208 KiB default overflows under load. @default 4 MiB */
  receiveBufferBytes?: number;
  /**
   * Inbound connections at once, in handshake or open. Initial packets that would start
   * one more are dropped (counted as the `connections` refusal) before any handshake work.
   * @default 512 (`maxInboundConnectionsDefault`)
   */
  maxInboundConnections?: number;
  /**
   * An inbound connection without a stream for this long is closed (the
   * `streamless_connection` refusal). @default 5000
   */
  streamlessConnectionTimeoutMs?: number;
  /**
   * QUIC receive window, for each connection and each stream alike, and never grown: the
   * most bytes a peer may have sent that the library holds unread or out of order (after a
   * loss, everything past the gap waits). A slow or lossy node holds up to this per
   * connection; it also caps one connection's throughput at window / round trip.
   * @default the library's: 10 MiB per connection and 1 MiB per stream, grown up to 24 / 16 MiB
   */
  receiveWindowBytes?: number;
  /** Logger handed to the QUIC library. @default a WARN-level logger */
  libraryLogger?: Logger;
}

/** Strips the IPv4-mapped prefix a dual-stack socket reports, so addresses compare equal. */
function normalizeHost(host: string): string {
  return host.startsWith('::ffff:') && host.includes('.') ? host.slice('::ffff:'.length) : host;
}

/** Like `parseAddress`, but port 0 (pick a free port) is allowed. */
export function parseBindAddress(address: string): { host: string; port: number } {
  if (address.endsWith(':0')) return { host: parseAddress(`${address.slice(0, -2)}:1`).host, port: 0 };
  return parseAddress(address);
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/** The library's flow-control settings for `receiveWindowBytes` (nothing when unset: its own defaults). */
function receiveWindow(bytes: number | undefined): Partial<QUICConfig> {
  if (bytes === undefined) return {};
  const window = positive('receiveWindowBytes', bytes);
  return {
    initialMaxData: window, maxConnectionWindow: window,
    initialMaxStreamDataBidiLocal: window, initialMaxStreamDataBidiRemote: window, maxStreamWindow: window,
  };
}

function positive(field: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) throw new ConfigError(field, `must be a positive number, got ${value}`);
  return value;
}

/**
 * The real `Transport`: streams over QUIC (`@matrixai/quic`), datagrams over plain UDP,
 * both on one UDP socket. Start it with `QuicTransport.start(options)`; stop it with
 * `close()`.
 */
export class QuicTransport implements Transport {
  readonly datagrams: DatagramService;
  readonly streams: StreamService;
  /** Gossip packets dropped because no key authenticated them (or they were of the wrong kind). */
  droppedUnauthenticated = 0;

  private readonly connections = new Set<QuicConnectionAdapter>();
  private readonly clients = new Set<QUICClient>();
  private closing = false;

  private constructor(
    readonly localAddress: Address,
    private readonly socket: SharedUdpSocket,
    private readonly server: QUICServer,
    private readonly clientConfig: Partial<QUICConfig>,
    private readonly options: Required<Pick<QuicTransportOptions, 'connectTimeoutMs' | 'maxPacketBytes'>> & { keyring: Keyring | undefined },
    private readonly limits: ConnectionLimits,
    private readonly logger: Logger,
    private readonly guard: InboundGuard,
  ) {
    const overhead = options.keyring === undefined ? plainOverheadBytes : sealedOverheadBytes;
    const maxDatagramBytes = options.maxPacketBytes - overhead;
    this.datagrams = {
      maxDatagramBytes,
      onDatagram: undefined,
      send: (to, payload) => this.sendDatagram(to, payload, maxDatagramBytes),
    };
    this.streams = {
      onConnection: undefined,
      connect: (to) => this.connect(to),
    };
    socket.onGossip = (packet, from) => this.receiveGossip(packet, from);
    server.addEventListener(events.EventQUICServerConnection.name, (event) => {
      this.accept((event as events.EventQUICServerConnection).detail);
    });
  }

  /** The keyring sealing gossip, for rotation at run time (undefined: plaintext gossip). */
  get keyring(): Keyring | undefined {
    return this.options.keyring;
  }

  static async start(options: QuicTransportOptions): Promise<QuicTransport> {
    const idleTimeoutMs = positive('idleTimeoutMs', options.idleTimeoutMs ?? 10_000);
    const keepAliveIntervalMs = positive('keepAliveIntervalMs', options.keepAliveIntervalMs ?? Math.floor(idleTimeoutMs / 3));
    if (keepAliveIntervalMs >= idleTimeoutMs) throw new ConfigError('keepAliveIntervalMs', `must be below idleTimeoutMs (${idleTimeoutMs})`);
    const maxStreams = positive('maxStreams', options.maxStreams ?? 1000);
    const maxPacketBytes = positive('maxPacketBytes', options.maxPacketBytes ?? packetBytesMax);
    if (maxPacketBytes < 1200) throw new ConfigError('maxPacketBytes', 'QUIC requires at least 1200');
    const bind = parseBindAddress(options.bind);
    const logger = options.libraryLogger ?? quicLibraryLogger();
    const common: Partial<QUICConfig> = {
      ca: options.tls.ca,
      maxIdleTimeout: idleTimeoutMs,
      keepAliveIntervalTime: keepAliveIntervalMs,
      initialMaxStreamsBidi: maxStreams * 2,
      ...receiveWindow(options.receiveWindowBytes),
      maxSendUdpPayloadSize: maxPacketBytes,
      maxRecvUdpPayloadSize: maxPacketBytes,
      applicationProtos: ['shoal/1'],
    };
    // The library never finishes a handshake that has a verify callback but no peer
    // verification, so the callback goes only where the peer is verified.
    const mutual = options.tls.mutual ?? false;
    const guard = new InboundGuard(positive('streamlessConnectionTimeoutMs', options.streamlessConnectionTimeoutMs ?? streamlessConnectionTimeoutMsDefault));
    const socket = new SharedUdpSocket({
      logger: logger.getChild('socket'),
      maxServerConnections: positive('maxInboundConnections', options.maxInboundConnections ?? maxInboundConnectionsDefault),
      onRefused: (reason) => guard.refuse(reason),
    });
    await socket.start({ host: bind.host, port: bind.port });
    socket.setReceiveBufferBytes(options.receiveBufferBytes ?? 4 * 1024 * 1024);
    const server = new QUICServer({
      socket,
      crypto: quicServerCrypto(),
      config: { ...common, key: options.tls.key, cert: options.tls.cert, verifyPeer: mutual, ...(mutual ? { verifyCallback: verifyClientCertificate } : {}) },
      reasonToCode: streamReasonToCode,
      codeToReason: streamCodeToReason,
      logger: logger.getChild('server'),
    });
    await server.start();
    const clientConfig: Partial<QUICConfig> = {
      ...common, verifyPeer: true, verifyCallback: verifyServerCertificate,
      ...(mutual ? { key: options.tls.key, cert: options.tls.cert } : {}),
    };
    const boundHost = normalizeHost(socket.host);
    let localAddress = options.advertise;
    if (localAddress === undefined) {
      if (isWildcard(boundHost)) {
        await server.stop({ force: true });
        await socket.stop({ force: true });
        throw new ConfigError('advertise', `bound to the wildcard ${boundHost}: give the address peers reach this node at`);
      }
      localAddress = formatAddress(boundHost, socket.port);
    } else {
      parseAddress(localAddress);
    }
    return new QuicTransport(localAddress, socket, server, clientConfig,
      { connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs ?? Math.min(connectTimeoutMsDefault, idleTimeoutMs)), maxPacketBytes, keyring: options.keyring },
      {
        maxStreams, onStreamRefused: () => guard.refuse('streams'),
        streamBufferBytesMax: positive('streamBufferBytesMax', options.streamBufferBytesMax ?? streamBufferBytesMaxDefault),
        closeFlushTimeoutMs: positive('closeFlushTimeoutMs', options.closeFlushTimeoutMs ?? closeFlushTimeoutMsDefault),
      },
      logger, guard);
  }

  /** The port actually bound (useful after binding port 0). */
  get boundPort(): number {
    return this.socket.port;
  }

  /** QUIC packets the kernel refused to send for a passing reason (EPERM, ENOBUFS, ...), dropped like loss. */
  get quicSendErrors(): number {
    return this.socket.quicSendErrors;
  }

  /** QUIC packets sent so far (all connections). */
  get quicPacketsSent(): number {
    return this.socket.quicPacketsSent;
  }

  /** Bytes of QUIC packets sent so far (UDP payloads, all connections). */
  get quicBytesSent(): number {
    return this.socket.quicBytesSent;
  }

  /** Largest QUIC packet (UDP payload) sent so far. */
  get quicPacketBytesMax(): number {
    return this.socket.quicPacketBytesMax;
  }

  /** The configured largest UDP payload (QUIC packets and sealed gossip). */
  get maxPacketBytes(): number {
    return this.options.maxPacketBytes;
  }

  /** Open connections in both directions, counting closed ones still flushing what was written. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Inbound connections now, in handshake or open (bounded by `maxInboundConnections`). */
  get inboundConnectionCount(): number {
    return this.socket.serverConnectionCount;
  }

  /**
   * What this node turned away, by reason (see `refusalReasons`): counted here, by the
   * socket and the connections, and by the layers above through `recordRefusal`.
   */
  get refusals(): Readonly<Record<RefusalReason, number>> {
    return this.guard.refusals;
  }

  /** Counts a refusal made above the transport on the node's behalf (stream routing, RPC buffering). */
  recordRefusal(reason: RefusalReason): void {
    this.guard.refuse(reason);
  }

  /**
   * Closes every connection (peers see `ConnectionClosedError`) after flushing what was
   * written (at most `closeFlushTimeoutMs`), then releases the socket.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const connections = [...this.connections];
    for (const connection of connections) connection.close();
    await Promise.all(connections.map((c) => c.released));
    await this.teardown();
  }

  /**
   * Dies without a word: every packet in and out is dropped from now on, then the state is
   * released. Peers learn of it only through their idle timeout. For tests and drills.
   */
  async crash(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.socket.blackhole();
    for (const connection of [...this.connections]) connection.abort();
    await this.teardown();
  }

  private async teardown(): Promise<void> {
    this.guard.stop();
    await Promise.allSettled([...this.clients].map((c) => c.destroy({ force: true })));
    await this.server.stop({ force: true }).catch(() => undefined);
    await this.socket.stop({ force: true }).catch(() => undefined);
  }

  private connect(to: Address): Connection {
    const { host, port } = parseAddress(to);
    const connection = this.track(new QuicConnectionAdapter(to, this.limits, (c) => this.connections.delete(c)));
    if (this.closing) {
      queueMicrotask(() => connection.fail(mapConnectError(new Error('transport is closed'), to)));
      return connection;
    }
    const abort = new AbortController();
    connection.setRelease(() => abort.abort());
    const pending = QUICClient.createQUICClient({
      host, port, socket: this.socket,
      crypto: quicClientCrypto,
      config: this.clientConfig,
      reasonToCode: streamReasonToCode,
      codeToReason: streamCodeToReason,
      logger: this.logger.getChild('client'),
    }, { timer: this.options.connectTimeoutMs, signal: abort.signal });
    pending.then((client) => {
      this.clients.add(client);
      void client.closedP.then(() => this.clients.delete(client));
      connection.bind(client.connection, () => void client.destroy({ force: true }).catch(() => undefined));
    }, (error: unknown) => connection.fail(mapConnectError(error, to)));
    return connection;
  }

  private accept(lib: QUICConnection): void {
    const onConnection = this.streams.onConnection;
    if (onConnection === undefined || this.closing) {
      void lib.stop({ isApp: true, errorCode: 1, force: true }).catch(() => undefined);
      return;
    }
    const remote = formatAddress(normalizeHost(lib.remoteHost), lib.remotePort);
    const connection = this.track(new QuicConnectionAdapter(remote, this.limits, (c) => {
      this.connections.delete(c);
      this.guard.forget(c);
    }));
    connection.bind(lib, () => void lib.stop({ isApp: true, errorCode: 0, force: true }).catch(() => undefined));
    this.guard.watch(connection);
    lib.addEventListener(events.EventQUICConnectionStream.name, () => this.guard.streamOpened(connection));
    onConnection(connection);
  }

  private track(connection: QuicConnectionAdapter): QuicConnectionAdapter {
    this.connections.add(connection);
    return connection;
  }

  private sendDatagram(to: Address, payload: Uint8Array, maxDatagramBytes: number): void {
    if (payload.length > maxDatagramBytes) throw new DatagramTooLargeError(payload.length, maxDatagramBytes);
    const { host, port } = parseAddress(to);
    const keyring = this.options.keyring;
    const packet = keyring === undefined ? Buffer.concat([Buffer.of(gossipVersionPlain), payload]) : keyring.seal(payload);
    this.socket.sendGossip(packet, port, host);
  }

  private receiveGossip(packet: Buffer, from: RemoteInfo): void {
    const keyring = this.options.keyring;
    let payload: Uint8Array | undefined;
    if (keyring === undefined) payload = packet[0] === gossipVersionPlain ? packet.subarray(plainOverheadBytes) : undefined;
    else payload = keyring.open(packet);
    if (payload === undefined) {
      this.droppedUnauthenticated++;
      return;
    }
    this.datagrams.onDatagram?.(formatAddress(normalizeHost(from.address), from.port), payload);
  }
}

/** The server's token-signing crypto for the library: HMAC-SHA256 under a fresh random key. */
export function quicServerCrypto() {
  const key = randomBytes(32);
  return { key: key.buffer.slice(key.byteOffset, key.byteOffset + key.byteLength), ops: { sign: hmacSign, verify: hmacVerify } };
}

/** The client's crypto for the library: the platform CSPRNG. */
export const quicClientCrypto = {
  ops: {
    async randomBytes(data: ArrayBuffer): Promise<void> {
      webcrypto.getRandomValues(new Uint8Array(data));
    },
  },
};

async function hmacSign(key: ArrayBuffer, data: ArrayBuffer): Promise<ArrayBuffer> {
  const digest = createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest();
  return digest.buffer.slice(digest.byteOffset, digest.byteOffset + digest.byteLength);
}

async function hmacVerify(key: ArrayBuffer, data: ArrayBuffer, signature: ArrayBuffer): Promise<boolean> {
  const expected = createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest();
  const actual = Buffer.from(signature);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
