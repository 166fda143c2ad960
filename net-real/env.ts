import type { Env, Logger } from '../core/index.ts';
import { silentLogger } from '../core/index.ts';
import { RealClock } from './clock.ts';
import { Keyring } from './keyring.ts';
import { transportLimitOptions, type NodeLimits } from './limits.ts';
import { QuicTransport, type QuicTransportOptions } from './quic-transport.ts';
import { CryptoRandom } from './random.ts';
import type { TlsMaterial } from './tls.ts';

export interface RealEnvOptions extends Omit<QuicTransportOptions, 'keyring' | 'tls'> {
  tls: TlsMaterial;
  /** Gossip keys (32 bytes each), primary first; omit for plaintext gossip (development only). */
  gossipKeys?: readonly Uint8Array[];
  /** The protocols' logger. @default silent */
  logger?: Logger;
  /** Node-wide limits; the transport's share (connections, streams, streamless timeout) is applied here. Transport options given directly win. */
  limits?: NodeLimits;
}

export interface RealEnv {
  readonly env: Env;
  /** The transport behind `env.transport`, for counters (`droppedUnauthenticated`) and key rotation. */
  readonly transport: QuicTransport;
  /** Cancels pending timers and closes every connection and the socket. */
  close(): Promise<void>;
}

/** Everything a node process needs to run the protocol core on the real network. */
export async function createRealEnv(options: RealEnvOptions): Promise<RealEnv> {
  const { gossipKeys, logger, limits, ...transportOptions } = options;
  const keyring = gossipKeys === undefined ? undefined : new Keyring(gossipKeys);
  const limitOptions = limits === undefined ? {} : transportLimitOptions(limits);
  const transport = await QuicTransport.start({ ...limitOptions, ...transportOptions, keyring });
  const clock = new RealClock();
  return {
    env: { clock, random: new CryptoRandom(), transport, logger: logger ?? silentLogger },
    transport,
    async close() {
      clock.cancelAll();
      await transport.close();
    },
  };
}
