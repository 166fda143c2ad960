import { MUX_ROUTE_TIMEOUT_MS_DEFAULT, type StreamRouteOptions } from '../core/cluster/index.ts';
import { bufferedBytesPerConnectionMin, defaultLimits as rpcDefaultLimits, type RpcServerOptions } from '../core/rpc/index.ts';
import { maxInboundConnectionsDefault, streamlessConnectionTimeoutMsDefault } from './inbound-guard.ts';
import { NodeFlagError } from './node/flag-error.ts';
import type { QuicTransport, QuicTransportOptions } from './quic-transport.ts';

/**
 * Node-wide bounds on what peers can make a node hold. Each has a `shoal node` flag; each
 * refusal is counted in `QuicTransport.refusals` under the key named beside it.
 */
export interface NodeLimits {
  /** `--max-connections`: inbound QUIC connections at once, in handshake or open (refusal `connections`). */
  readonly maxConnections: number;
  /**
   * `--max-streams-per-connection`: streams open at once on one connection (refusal
   * `streams`). RPC and push-pull use one each; the QUIC stream credit granted is twice this.
   */
  readonly maxStreamsPerConnection: number;
  /** `--max-buffered-bytes-per-connection`: RPC request bytes one connection may hold before a handler takes them (refusal `buffered_bytes`). */
  readonly maxBufferedBytesPerConnection: number;
  /** `--max-buffered-bytes`: the same over all connections (refusal `buffered_bytes`). */
  readonly maxBufferedBytes: number;
  /**
   * `--receive-window-bytes`: the QUIC receive window of each connection and stream, so
   * what the QUIC library holds for one connection (unread, or out of order after a loss).
   * Flow control, not a refusal: a peer past it waits.
   */
  readonly receiveWindowBytes: number;
  /** `--stream-route-timeout-ms`: a connection's first stream must deliver its 4 routing bytes within this (refusal `route_timeout`). */
  readonly streamRouteTimeoutMs: number;
  /** `--streamless-connection-timeout-ms`: an inbound connection without a stream this long is closed (refusal `streamless_connection`). */
  readonly streamlessConnectionTimeoutMs: number;
}

const mebibyte = 1024 * 1024;

/**
 * Defaults, measured in docs/OPERATIONS.md ("Tuning limits"): under each load of issue 11
 * a node stays under 400 MiB. Streams: RPC and push-pull need one per connection; 8 leave
 * room, at ~30 KiB a stream. Buffers: 16 MiB per connection holds 15 unfinished 1 MiB
 * requests; 64 MiB in total, at two to four bytes of RSS per byte held, stays within that.
 * Receive window: 256 KiB × 512 connections is 128 MiB at worst, and a window of 256 KiB
 * still moves 5 MiB/s per connection at 50 ms, about what the QUIC library's CPU allows.
 */
export const defaultNodeLimits: Readonly<NodeLimits> = Object.freeze({
  maxConnections: maxInboundConnectionsDefault,
  maxStreamsPerConnection: 8,
  maxBufferedBytesPerConnection: 16 * mebibyte,
  maxBufferedBytes: 64 * mebibyte,
  receiveWindowBytes: 256 * 1024,
  streamRouteTimeoutMs: MUX_ROUTE_TIMEOUT_MS_DEFAULT,
  streamlessConnectionTimeoutMs: streamlessConnectionTimeoutMsDefault,
});

/** parseArgs option table fragment of the limit flags (spread into `nodeFlagOptions`). */
export const limitFlagOptions = {
  'max-connections': { type: 'string' },
  'max-streams-per-connection': { type: 'string' },
  'max-buffered-bytes-per-connection': { type: 'string' },
  'max-buffered-bytes': { type: 'string' },
  'receive-window-bytes': { type: 'string' },
  'stream-route-timeout-ms': { type: 'string' },
  'streamless-connection-timeout-ms': { type: 'string' },
} as const;

/** Usage fragment of the limit flags. */
export const limitsUsage = '[--max-connections N] [--max-streams-per-connection N] [--max-buffered-bytes-per-connection BYTES] '
  + '[--max-buffered-bytes BYTES] [--receive-window-bytes BYTES] [--stream-route-timeout-ms MS] [--streamless-connection-timeout-ms MS]';

/** Smallest QUIC receive window: a dozen full packets, so a window still carries a burst. */
const receiveWindowBytesMin = 16 * 1024;

/** Largest value a count or duration flag takes: far above any sane setting, and a safe timer delay. */
const limitValueMax = 2 ** 31 - 1;

const byteUnits: Readonly<Record<string, number>> = { '': 1, KiB: 1024, MiB: mebibyte, GiB: 1024 * mebibyte };

function flagValue(flags: Record<string, string | boolean | undefined>, name: keyof typeof limitFlagOptions): string | undefined {
  const value = flags[name];
  return typeof value === 'string' ? value.trim() : undefined;
}

function positiveInt(flags: Record<string, string | boolean | undefined>, name: keyof typeof limitFlagOptions, unit: string, fallback: number): number {
  const raw = flagValue(flags, name);
  if (raw === undefined) return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= 1 && value <= limitValueMax)) throw new NodeFlagError(`--${name} must be a whole number of ${unit} from 1 to ${limitValueMax}, got "${raw}"`);
  return value;
}

/** A byte count: digits with an optional binary unit (`16777216`, `16MiB`, `512KiB`). */
function bytes(flags: Record<string, string | boolean | undefined>, name: keyof typeof limitFlagOptions, fallback: number): number {
  const raw = flagValue(flags, name);
  if (raw === undefined) return fallback;
  const match = /^(\d+)\s*(KiB|MiB|GiB)?$/.exec(raw);
  const value = match === null ? NaN : Number(match[1]) * byteUnits[match[2] ?? '']!;
  if (!(value >= 1 && Number.isSafeInteger(value))) throw new NodeFlagError(`--${name} must be a byte count such as 16777216 or 16MiB (units KiB, MiB, GiB), got "${raw}"`);
  return value;
}

/** Reads the limit flags over `defaultNodeLimits`; throws `NodeFlagError` naming the flag for a bad value. */
export function parseLimitFlags(flags: Record<string, string | boolean | undefined>): NodeLimits {
  const d = defaultNodeLimits;
  const limits: NodeLimits = {
    maxConnections: positiveInt(flags, 'max-connections', 'connections', d.maxConnections),
    maxStreamsPerConnection: positiveInt(flags, 'max-streams-per-connection', 'streams', d.maxStreamsPerConnection),
    maxBufferedBytesPerConnection: bytes(flags, 'max-buffered-bytes-per-connection', d.maxBufferedBytesPerConnection),
    maxBufferedBytes: bytes(flags, 'max-buffered-bytes', d.maxBufferedBytes),
    receiveWindowBytes: bytes(flags, 'receive-window-bytes', d.receiveWindowBytes),
    streamRouteTimeoutMs: positiveInt(flags, 'stream-route-timeout-ms', 'milliseconds', d.streamRouteTimeoutMs),
    streamlessConnectionTimeoutMs: positiveInt(flags, 'streamless-connection-timeout-ms', 'milliseconds', d.streamlessConnectionTimeoutMs),
  };
  const min = bufferedBytesPerConnectionMin(rpcDefaultLimits.maxFrameBytes);
  if (limits.maxBufferedBytesPerConnection < min) {
    throw new NodeFlagError(`--max-buffered-bytes-per-connection must be at least ${min} (two RPC frames of ${rpcDefaultLimits.maxFrameBytes} bytes with headers), got ${limits.maxBufferedBytesPerConnection}`);
  }
  if (limits.receiveWindowBytes < receiveWindowBytesMin) {
    throw new NodeFlagError(`--receive-window-bytes must be at least ${receiveWindowBytesMin}, got ${limits.receiveWindowBytes}`);
  }
  if (limits.maxBufferedBytes < limits.maxBufferedBytesPerConnection) {
    throw new NodeFlagError(`--max-buffered-bytes (${limits.maxBufferedBytes}) must be at least --max-buffered-bytes-per-connection (${limits.maxBufferedBytesPerConnection})`);
  }
  return limits;
}

/** The transport options that carry node limits. */
export function transportLimitOptions(
  limits: NodeLimits,
): Pick<QuicTransportOptions, 'maxInboundConnections' | 'maxStreams' | 'streamlessConnectionTimeoutMs' | 'receiveWindowBytes'> {
  return {
    maxInboundConnections: limits.maxConnections,
    maxStreams: limits.maxStreamsPerConnection,
    streamlessConnectionTimeoutMs: limits.streamlessConnectionTimeoutMs,
    receiveWindowBytes: limits.receiveWindowBytes,
  };
}

/** The RPC server's buffer bounds, its refusals counted on `transport`. */
export function rpcServerLimitOptions(limits: NodeLimits, transport: QuicTransport): Pick<RpcServerOptions, 'buffers' | 'onBufferRefused'> {
  return {
    buffers: { maxBufferedBytesPerConnection: limits.maxBufferedBytesPerConnection, maxBufferedBytes: limits.maxBufferedBytes },
    onBufferRefused: () => transport.recordRefusal('buffered_bytes'),
  };
}

/** The stream router's timeout, its refusals counted on `transport` (a stream beside the one being routed counts as `streams`). */
export function streamRouteOptions(limits: NodeLimits, transport: QuicTransport): StreamRouteOptions {
  return {
    routeTimeoutMs: limits.streamRouteTimeoutMs,
    onRefused: (refusal) => transport.recordRefusal(refusal === 'route_timeout' ? 'route_timeout' : 'streams'),
  };
}
