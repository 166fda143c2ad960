import { ConfigError } from '../errors.ts';

/** The four bytes every connection's stream starts with, from both sides: "SHRP". */
export const protocolMagic = Uint8Array.of(0x53, 0x48, 0x52, 0x50);
/** The first protocol version: fixed 10-byte frame headers. Every client preamble says it, so version 1 servers accept it. */
export const protocolVersion = 1;
/** The highest version this implementation speaks (2: compact framing, 3: and REPEAT; see compact.ts); a peer naming another is refused. */
export const protocolVersionMax = 3;
/** Preamble: magic(4) version(1) versionMax(1) reserved(2) maxFrameBytes(4) maxConcurrentCalls(4) maxMetadataBytes(4) initialCallWindowBytes(4) idleTimeoutMs(4). */
export const preambleBytes = 32;
/** Frame header: length(4) type(1) flags(1) callId(4). */
export const frameHeaderBytes = 10;
/** The largest value a u32 field carries. */
export const u32Max = 0xffff_ffff;

/**
 * What one side of a connection accepts from the other. Each side advertises its own in
 * the preamble and the peer stays within them; breaking one is a protocol violation.
 */
export interface RpcLimits {
  /**
   * Largest frame payload accepted, so also the largest message (a message is one frame).
   * Bounds the memory a single frame can make the receiver allocate. @default 1_048_576
   */
  maxFrameBytes: number;
  /** Calls open at once on one connection; more are refused with RESOURCE_EXHAUSTED. @default 1_000 */
  maxConcurrentCalls: number;
  /** Largest encoded metadata block of a call's HEADERS frame. @default 8_192 */
  maxMetadataBytes: number;
  /**
   * Bytes (frame header + payload) of MESSAGE frames the peer may send on one call before
   * this side grants more with WINDOW_UPDATE. A stalled reader buffers at most this plus one
   * frame per call. @default 65_536
   */
  initialCallWindowBytes: number;
  /**
   * Nothing heard for this long closes the connection and fails its calls with UNAVAILABLE.
   * The peer pings at least three times per idle timeout to keep a healthy connection open.
   * @default 6_000
   */
  idleTimeoutMs: number;
}

export const defaultLimits: Readonly<RpcLimits> = Object.freeze({
  maxFrameBytes: 1_048_576,
  maxConcurrentCalls: 1_000,
  maxMetadataBytes: 8_192,
  initialCallWindowBytes: 65_536,
  idleTimeoutMs: 6_000,
});

/** The smallest limits a peer may advertise: below these nothing useful fits. */
export const minimumLimits: Readonly<RpcLimits> = Object.freeze({
  maxFrameBytes: 1_024,
  maxConcurrentCalls: 1,
  maxMetadataBytes: 256,
  initialCallWindowBytes: 1_024,
  idleTimeoutMs: 100,
});

/** Fills defaults and refuses values outside [minimum, u32Max]. */
export function resolveLimits(partial: Partial<RpcLimits> | undefined): RpcLimits {
  const limits = { ...defaultLimits, ...partial };
  for (const key of Object.keys(defaultLimits) as (keyof RpcLimits)[]) {
    const value = limits[key];
    if (!Number.isSafeInteger(value) || value < minimumLimits[key] || value > u32Max) {
      throw new ConfigError(`limits.${key}`, `must be an integer in [${minimumLimits[key]}, ${u32Max}], got ${value}`);
    }
  }
  return limits;
}
