/**
 * `shoal/real`: the real network. The environment the protocol core and apps run against
 * on real machines (`createRealEnv`: QUIC over one UDP port, the wall clock, crypto
 * randomness), its parts (`QuicTransport`, `Keyring` for authenticated gossip,
 * `RealClock`, `CryptoRandom`, TLS loading) and the node `shoal node` runs (`ShoalNode`,
 * configured by `parseNodeFlags` from the same flags).
 *
 * Real mode needs TLS: a cluster CA and a certificate per node (`ensureDevCerts` makes a
 * development set with `certs/make-dev-certs.sh`, which needs `openssl` and `bash`).
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * import { ShoalNode, parseNodeFlags } from 'shoal/real';
 *
 * const config = await parseNodeFlags({ name: 'a', bind: '127.0.0.1:7946', 'dev-certs': './certs', app: ['./my-app.ts'] });
 * const node = await ShoalNode.start(config, pino());
 * process.on('SIGTERM', () => void node.shutdown());
 * ```
 */

// The environment.
export { createRealEnv } from './env.ts';
export type { RealEnv, RealEnvOptions } from './env.ts';
export { RealClock } from './clock.ts';
export type { RealClockOptions } from './clock.ts';
export { CryptoRandom } from './random.ts';
export { QuicTransport, packetBytesMax, parseBindAddress } from './quic-transport.ts';
export type { QuicTransportOptions } from './quic-transport.ts';
export { Keyring, gossipKeyBytes, keyringKeysMax } from './keyring.ts';
export type { KeyringOptions } from './keyring.ts';
export { checkTlsMaterial, loadTlsMaterial } from './tls.ts';
export type { TlsMaterial, TlsPaths } from './tls.ts';
export type { TlsPurpose } from './tls-verify.ts';
export { defaultNodeLimits } from './limits.ts';
export type { NodeLimits } from './limits.ts';

// The node.
export { ShoalNode } from './node/node.ts';
export { NodeFlagError, nodeFlagOptions, nodeUsage, parseNodeFlags, readGossipKeyFile } from './node/flags.ts';
export type { NodeConfig, NodeLogLevel, RawFlags } from './node/flags.ts';
export { loadAppModule } from './node/apps.ts';
export type { NodeAppPlacement } from './node/apps.ts';
export { ensureDevCerts } from './node/startup.ts';
export type { DevCertPaths } from './node/startup.ts';
export { nodeService } from './node/service.ts';
export type { NodeStatusResponse } from './node/service.ts';
