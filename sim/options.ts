import {
  ConfigError, InvalidArgumentError, connectTimeoutMsDefault, datagramBytesMaxDefault, streamBufferBytesMaxDefault,
  type LogLevel,
} from '../core/index.ts';
import type { LinkModel } from './network.ts';
import type { TraceOptions } from './trace.ts';

export interface SimulationOptions {
  /** The one seed every random decision of the run derives from. */
  seed: number | string;
  /** The default model of every link direction. */
  network?: Partial<LinkModel>;
  /** The port of every host's address (`name:port`). @default 7946 */
  port?: number;
  /** Largest datagram payload. @default 1313 (`datagramBytesMaxDefault`: a real node's sealed gossip datagram) */
  maxDatagramBytes?: number;
  /**
   * A connection fails with `ConnectionLostError` once nothing could cross its path for this
   * long (a dead peer, a cut path, a peer paused this long). @default 10_000
   */
  idleTimeoutMs?: number;
  /** A connection that is not accepted within this long fails with `ConnectTimeoutError`. @default 5_000 (`connectTimeoutMsDefault`, as a real node's) */
  connectTimeoutMs?: number;
  /** Streams open at once per connection (QUIC's stream credit). @default 1024 */
  maxStreamsPerConnection?: number;
  /** Bytes a paused host buffers for arriving datagrams before it drops them (Linux's default rmem). @default 212_992 */
  socketBufferBytes?: number;
  /** Messages a held link direction keeps before it drops new ones. @default 10_000 */
  heldMessagesMax?: number;
  /** Bytes a connection may queue behind a cut path before writes throw. @default 4 MiB (`streamBufferBytesMaxDefault`, a real stream's bound) */
  connectionBufferBytesMax?: number;
  /** Split stream writes into random pieces on delivery, to exercise decoders. @default false */
  streamChunking?: boolean;
  trace?: TraceOptions;
  /** The command that reproduces this run, quoted when a run limit stops it. @default `npx shoal run --seed <seed>` */
  reproduce?: string;
  /** Log records at or above this level become `output` trace entries. @default false (logs are dropped) */
  captureLogs?: LogLevel | false;
}

/** The options every part of the simulator reads, with their defaults filled in. */
export type ResolvedOptions = Readonly<Required<Omit<SimulationOptions, 'network' | 'trace' | 'seed' | 'reproduce'>>>;

/** Validates the seed and returns it as the string every fork of the generator starts from. */
export function seedOf(options: SimulationOptions): string {
  if (typeof options.seed !== 'number' && typeof options.seed !== 'string') {
    throw new ConfigError('seed', 'must be a number or a string');
  }
  if (typeof options.seed === 'number' && !Number.isSafeInteger(options.seed)) {
    throw new ConfigError('seed', `must be a safe integer, got ${options.seed}`);
  }
  return String(options.seed);
}

export function resolveOptions(options: SimulationOptions): ResolvedOptions {
  return {
    port: options.port ?? 7946,
    maxDatagramBytes: positiveInt('maxDatagramBytes', options.maxDatagramBytes ?? datagramBytesMaxDefault),
    idleTimeoutMs: positiveNumber('idleTimeoutMs', options.idleTimeoutMs ?? 10_000),
    connectTimeoutMs: positiveNumber('connectTimeoutMs', options.connectTimeoutMs ?? connectTimeoutMsDefault),
    maxStreamsPerConnection: positiveInt('maxStreamsPerConnection', options.maxStreamsPerConnection ?? 1024),
    socketBufferBytes: positiveInt('socketBufferBytes', options.socketBufferBytes ?? 212_992),
    heldMessagesMax: positiveInt('heldMessagesMax', options.heldMessagesMax ?? 10_000),
    connectionBufferBytesMax: positiveInt('connectionBufferBytesMax', options.connectionBufferBytesMax ?? streamBufferBytesMaxDefault),
    streamChunking: options.streamChunking ?? false,
    captureLogs: options.captureLogs ?? false,
  };
}

export function positiveNumber(field: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new ConfigError(field, `must be a finite number > 0, got ${value}`);
  return value;
}

function positiveInt(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new ConfigError(field, `must be a positive integer, got ${value}`);
  return value;
}

export function nonNegative(field: string, value: number): void {
  if (!(value >= 0) || !Number.isFinite(value)) throw new InvalidArgumentError(`${field} must be a finite number ≥ 0, got ${value}`);
}
