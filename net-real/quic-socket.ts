import type { RemoteInfo } from 'node:dgram';
import { QUICConnectionId, QUICSocket, type QUICConnectionMap } from '@matrixai/quic';
import type Logger from '@matrixai/logger';
import { isGossipPacket } from './keyring.ts';

/** The QUIC "fixed bit": set in every QUIC v1 packet (RFC 9000 §17), never in a gossip version byte. */
const quicFixedBit = 0x40;
/** Connection ids of refused connection attempts remembered, so a client's retransmitted Initials count once. */
const refusedConnectionIdsMax = 4_096;
/**
 * QUIC packets handed to the library per turn of the event loop at most. libuv reads up to
 * 32 datagrams a turn; handing the library fewer moves the queue out of the kernel buffer
 * (first in, first out: gossip would wait behind it) into the backlog, which gossip
 * bypasses. At ~0.25 ms of CPU a packet, 16 keep a turn near 4 ms.
 */
export const quicBatchPacketsMax = 16;
/**
 * CPU time a turn spends on QUIC packets before the rest wait for the next turn: handshake
 * packets cost milliseconds each (signatures, certificate checks), data packets ~0.25 ms.
 */
export const quicTurnBudgetMs = 5;
/**
 * QUIC packets waiting for the library at most; more are dropped as a full kernel buffer
 * would drop them (QUIC resends). 2 048 packets are ≤ 2.7 MiB and, at ~3 000 packets a
 * second, under a second of queueing. Measured on loopback: 20 uploads of 1 MiB at once lose
 * ~10 % of their packets here and arrive as fast as without a backlog; with 1 024 they
 * lose more and take twice as long.
 */
export const quicBacklogPacketsMax = 2_048;

/** Why the socket dropped a packet. */
export type SocketRefusal = 'unknown_datagram' | 'connections' | 'quic_backlog';

export interface SharedUdpSocketOptions {
  logger: Logger;
  /**
   * Inbound QUIC connections at once, in handshake or open. An Initial packet that would
   * start one more is dropped before any handshake work, so a flood of new connections
   * costs a header check each. @default Infinity
   */
  maxServerConnections?: number;
  /**
   * Told of each refusal: a packet neither gossip nor QUIC, a connection attempt over the
   * bound (once per attempt), a QUIC packet over the backlog.
   */
  onRefused?: (reason: SocketRefusal) => void;
}

interface QueuedPacket {
  readonly data: Buffer;
  readonly remoteInfo: RemoteInfo;
}

/**
 * The node's one UDP socket, shared by QUIC (server and client connections) and gossip
 * datagrams, so a node needs one port and one firewall rule. Incoming packets are told
 * apart by their first byte: QUIC always sets the 0x40 "fixed bit", shoal's gossip version
 * bytes never do (see keyring.ts). This subclass uses only the library's protected
 * surface (the message handler and the dgram socket), which exists for subclasses.
 *
 * Packets that are neither (no fixed bit) are dropped and reported as `unknown_datagram`;
 * Initial packets that would open an inbound connection over `maxServerConnections` are
 * dropped and reported as `connections`.
 *
 * GOSSIP FIRST: gossip is handled the moment it is read, QUIC packets wait in a bounded
 * backlog that the library works through one batch per turn of the event loop (at most
 * `quicBatchPacketsMax` packets and `quicTurnBudgetMs` of CPU). Bulk QUIC traffic (a peer uploading, a flood of handshakes) costs
 * the library ~0.25 ms per packet; handled in arrival order, a full kernel buffer of it
 * would hold a probe back for a second and more, and healthy members would be suspected.
 *
 * It can also `blackhole()`: drop every packet in and out, which is how a crash is
 * simulated (the peer hears no CONNECTION_CLOSE and must detect the death by timeout).
 */
export class SharedUdpSocket extends QUICSocket {
  onGossip: ((packet: Buffer, from: RemoteInfo) => void) | undefined;
  /** QUIC packets handed to the kernel (the library's cost is per packet, so this is the figure to watch). */
  quicPacketsSent = 0;
  /** Bytes of those packets (UDP payloads). */
  quicBytesSent = 0;
  /** Largest UDP payload sent so far: shows that packets stay within `maxPacketBytes`. */
  quicPacketBytesMax = 0;
  /** QUIC packets the kernel refused to send for a passing reason (`transientSendErrors`), counted and dropped like loss. */
  quicSendErrors = 0;
  private blackholed = false;
  private readonly maxServerConnections: number;
  private readonly onRefused: ((reason: SocketRefusal) => void) | undefined;
  private readonly refusedConnectionIds = new Set<string>();
  private readonly quicHandler: (data: Buffer, remoteInfo: RemoteInfo) => Promise<void>;
  /** QUIC packets read but not yet handed to the library: a ring of `backlogSize` from `backlogHead`. */
  private readonly backlog: (QueuedPacket | undefined)[] = new Array<QueuedPacket | undefined>(quicBacklogPacketsMax);
  private backlogHead = 0;
  private backlogSize = 0;
  private draining = false;
  /** When the current batch's first packet was handed to the library (undefined between batches). */
  private batchStartedMs: number | undefined;

  constructor(options: SharedUdpSocketOptions) {
    super({ logger: options.logger });
    this.maxServerConnections = options.maxServerConnections ?? Infinity;
    this.onRefused = options.onRefused;
    this.quicHandler = this.handleSocketMessage;
    this.handleSocketMessage = async (data: Buffer, remoteInfo: RemoteInfo) => this.receive(data, remoteInfo);
  }

  /** QUIC packets read and waiting for the library. */
  get quicBacklog(): number {
    return this.backlogSize;
  }

  private receive(data: Buffer, remoteInfo: RemoteInfo): void {
    if (this.blackholed) return;
    if (isGossipPacket(data)) {
      this.onGossip?.(data, remoteInfo);
      return;
    }
    if (data.length === 0 || (data[0]! & quicFixedBit) === 0) {
      this.onRefused?.('unknown_datagram');
      return;
    }
    if (this.backlogSize === quicBacklogPacketsMax) {
      this.onRefused?.('quic_backlog');
      return;
    }
    this.backlog[(this.backlogHead + this.backlogSize) % quicBacklogPacketsMax] = { data, remoteInfo };
    this.backlogSize++;
    if (this.draining) return;
    this.draining = true;
    this.scheduleBatch();
  }

  /**
   * Queues the next batch of the backlog for the check phase, one immediate per packet:
   * as with the socket's own events, promise continuations then run between two packets.
   * The library relies on that: it registers a new connection a few continuations after its
   * first packet, and a second packet handled before would start a second connection.
   */
  private readonly scheduleBatch = (): void => {
    const count = Math.min(this.backlogSize, quicBatchPacketsMax);
    for (let i = 0; i < count; i++) setImmediate(this.handleNext);
    setImmediate(this.batchDone);
  };

  private readonly handleNext = (): void => {
    if (this.backlogSize === 0) return;
    const nowMs = performance.now();
    this.batchStartedMs ??= nowMs;
    if (nowMs - this.batchStartedMs > quicTurnBudgetMs) return;
    const { data, remoteInfo } = this.backlog[this.backlogHead]!;
    this.backlog[this.backlogHead] = undefined;
    this.backlogHead = (this.backlogHead + 1) % quicBacklogPacketsMax;
    this.backlogSize--;
    if (this.blackholed || this.closed || this.refusesNewConnection(data)) return;
    void this.quicHandler(data, remoteInfo);
  };

  /** After a batch (queued from the check phase, the next one runs in the next turn, after I/O and timers). */
  private readonly batchDone = (): void => {
    this.batchStartedMs = undefined;
    if (this.backlogSize === 0) this.draining = false;
    else this.scheduleBatch();
  };

  /** Inbound connections in handshake or open. */
  get serverConnectionCount(): number {
    return this.connections.serverConnections.size;
  }

  /** The library's connection table: internal to it, but the socket is where packets are routed by it. */
  private get connections(): QUICConnectionMap {
    return (this as unknown as { connectionMap: QUICConnectionMap }).connectionMap;
  }

  /** True (and reported once per attempt) for an Initial packet that would start an inbound connection over the bound. */
  private refusesNewConnection(data: Buffer): boolean {
    if (this.connections.serverConnections.size < this.maxServerConnections) return false;
    const connectionId = newConnectionId(data);
    if (connectionId === undefined || this.connections.has(connectionId)) return false;
    const key = connectionId.toString();
    if (!this.refusedConnectionIds.has(key)) {
      if (this.refusedConnectionIds.size >= refusedConnectionIdsMax) this.refusedConnectionIds.clear();
      this.refusedConnectionIds.add(key);
      this.onRefused?.('connections');
    }
    return true;
  }

  /** Sends one gossip packet; errors (unreachable host, closed socket) are dropped like loss. */
  sendGossip(packet: Uint8Array, port: number, host: string): void {
    if (this.blackholed || this.closed) return;
    this.socket.send(packet, port, host, () => undefined);
  }

  override async send_(...params: Parameters<QUICSocket['send_']>): Promise<number> {
    if (this.blackholed) return 0;
    const bytes = packetLength(params);
    this.quicPacketsSent++;
    this.quicBytesSent += bytes;
    if (bytes > this.quicPacketBytesMax) this.quicPacketBytesMax = bytes;
    try {
      return await super.send_(...params);
    } catch (error) {
      // The library treats any send error it does not know as fatal and throws it out of an
      // event handler, which ends the process. These say only that this one packet did not
      // leave: UDP's loss, which QUIC's retransmission already handles.
      if (!transientSendErrors.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
      this.quicSendErrors++;
      return 0;
    }
  }

  /** Asks the kernel for a larger receive buffer (the default overflows under load). Best effort. */
  setReceiveBufferBytes(bytes: number): void {
    try {
      this.socket.setRecvBufferSize(bytes);
    } catch {
      // Capped by net.core.rmem_max or refused: the default buffer still works, only slower.
    }
  }

  /** Drops every packet from now on, in both directions. */
  blackhole(): void {
    this.blackholed = true;
  }
}

/**
 * `sendto` errors that mean "this packet was not sent", not "this socket is broken": a
 * firewall drop in the output path (EPERM), a full send buffer or interface queue (ENOBUFS,
 * EAGAIN), an ICMP error reported on a later send (ECONNREFUSED), a packet over the path's
 * MTU (EMSGSIZE).
 */
export const transientSendErrors: ReadonlySet<string> = new Set(['EPERM', 'ENOBUFS', 'EAGAIN', 'EWOULDBLOCK', 'ECONNREFUSED', 'EMSGSIZE']);

/**
 * The destination connection id of a QUIC v1 Initial packet (long header, type 0), the
 * only kind that starts a connection; undefined for every other packet.
 */
function newConnectionId(data: Buffer): QUICConnectionId | undefined {
  const first = data[0]!;
  const isLongHeader = (first & 0x80) !== 0;
  const isInitial = ((first >> 4) & 0x03) === 0;
  if (!isLongHeader || !isInitial || data.length < 6) return undefined;
  const length = data[5]!;
  if (data.length < 6 + length) return undefined;
  return QUICConnectionId.fromBuffer(data.subarray(6, 6 + length));
}

/** The UDP payload length of a `send_` call: the library calls it as (msg, port, host) and as (msg, offset, length, port, host). */
function packetLength(params: readonly unknown[]): number {
  if (params.length >= 5 && typeof params[2] === 'number') return params[2];
  const msg = params[0];
  return typeof msg === 'string' ? Buffer.byteLength(msg) : (msg as Uint8Array).byteLength;
}
