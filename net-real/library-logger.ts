import Logger, { LogLevel, StreamHandler } from '@matrixai/logger';

/**
 * The QUIC library logs several INFO lines per stream by default; shoal gives it a logger
 * at WARN so only real problems reach stderr.
 */
export function quicLibraryLogger(level: LogLevel = LogLevel.WARN): Logger {
  return new Logger('quic', level, [new StreamHandler()]);
}

export { LogLevel as QuicLogLevel };
