export * from './clock.ts';
export * from './random.ts';
export * from './keyring.ts';
export * from './tls.ts';
export * from './quic-errors.ts';
export * from './quic-transport.ts';
export { QuicConnectionAdapter, type ConnectionLimits } from './quic-connection.ts';
export { QuicStreamAdapter } from './quic-stream.ts';
export { quicLibraryLogger, QuicLogLevel } from './library-logger.ts';
