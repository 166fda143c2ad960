import type { RemoteInfo } from 'node:dgram';
import { QUICSocket } from '@matrixai/quic';
import type Logger from '@matrixai/logger';
import { isGossipPacket } from './keyring.ts';

/**
 * The node's one UDP socket, shared by QUIC (server and client connections) and gossip
 * datagrams, so a node needs one port and one firewall rule. Incoming packets are told
 * apart by their first byte: QUIC always sets the 0x40 "fixed bit", shoal's gossip version
 * bytes never do (see keyring.ts). This subclass uses only the library's protected
 * surface (the message handler and the dgram socket), which exists for subclasses.
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
  private blackholed = false;

  constructor(options: { logger: Logger }) {
    super(options);
    const quicHandler = this.handleSocketMessage;
    this.handleSocketMessage = async (data: Buffer, remoteInfo: RemoteInfo) => {
      if (this.blackholed) return;
      if (isGossipPacket(data)) {
        this.onGossip?.(data, remoteInfo);
        return;
      }
      await quicHandler(data, remoteInfo);
    };
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
    return super.send_(...params);
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

/** The UDP payload length of a `send_` call: the library calls it as (msg, port, host) and as (msg, offset, length, port, host). */
function packetLength(params: readonly unknown[]): number {
  if (params.length >= 5 && typeof params[2] === 'number') return params[2];
  const msg = params[0];
  return typeof msg === 'string' ? Buffer.byteLength(msg) : (msg as Uint8Array).byteLength;
}
