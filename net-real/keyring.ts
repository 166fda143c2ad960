import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { ConfigError, LimitExceededError } from '../core/index.ts';
import type { StateSeal } from '../core/swim/index.ts';

/**
 * Gossip security: every membership message (gossip datagrams and push-pull state frames)
 * is sealed with AES-256-GCM under the primary key of a keyring, and opened with whichever
 * key of the ring authenticates it. Rotation without downtime is three steps, each rolled
 * out to every node before the next: install the new key, make it primary, remove the old
 * one (the same procedure as memberlist's keyring).
 *
 * Sealed layout: `version (1) | timestamp ms (8, big-endian) | nonce (12) | ciphertext |
 * tag (16)`. The version byte, the timestamp and a purpose byte that is not sent (gossip
 * datagram or push-pull state) are the additional authenticated data, so a sealed gossip
 * packet cannot be replayed as a state frame or the other way round.
 *
 * Replay protection: a sealed message is accepted only if its timestamp is within
 * `replayWindowMs` of this node's clock and its nonce was not seen within that window
 * (a bounded cache of recent nonces). Clocks of members must therefore agree within the
 * window (NTP does far better); a member whose clock is off by more is refused and counted
 * as `stale`. Plaintext gossip (no keyring, `--insecure`) has no replay protection.
 *
 * Version bytes stay below 0x40 so a gossip packet can never be mistaken for a QUIC packet
 * (QUIC sets the 0x40 "fixed bit") on the shared UDP port.
 */

export const gossipKeyBytes = 32;
export const gcmNonceBytes = 12;
export const gcmTagBytes = 16;
/** Bytes of the sender's timestamp in a sealed message. */
export const timestampBytes = 8;
/** Version byte of the retired sealed format without a timestamp: refused (it could be replayed). */
export const gossipVersionSealedV1 = 0x01;
/** Version byte of a plaintext gossip packet (only when no keyring is configured). */
export const gossipVersionPlain = 0x02;
/** Version byte of a sealed (AES-256-GCM, timestamped) gossip packet or state frame. */
export const gossipVersionSealed = 0x03;
/** Bytes a sealed message adds to its payload. */
export const sealedOverheadBytes = 1 + timestampBytes + gcmNonceBytes + gcmTagBytes;
/** Bytes a plaintext packet adds to its payload. */
export const plainOverheadBytes = 1;
/** Most keys a ring holds: opening tries each, so the ring must stay small. */
export const keyringKeysMax = 8;
/** A sealed message older or newer than this (by the receiver's clock) is refused as stale. @default 60 s */
export const replayWindowMs = 60_000;
/**
 * Nonces remembered for replay detection. A node hears a few tens of messages a second
 * per gossip fanout; beyond this the oldest are forgotten early (counted in
 * `refusals.evicted`), which only reopens replay of messages older than that.
 */
export const replayCacheMax = 65_536;

/** What sealed messages are for: part of the authenticated data, never sent. */
export type SealPurpose = 'gossip' | 'state';
const purposeByte: Record<SealPurpose, number> = { gossip: 0, state: 1 };

/** Why a message was refused by `Keyring.openChecked`. */
export type OpenRefusal = 'unauthenticated' | 'stale' | 'replayed';

/** True if the first byte marks a shoal gossip packet rather than a QUIC packet. */
export function isGossipPacket(packet: Uint8Array): boolean {
  const version = packet[0];
  return version === gossipVersionSealed || version === gossipVersionPlain || version === gossipVersionSealedV1;
}

export interface KeyringOptions {
  /** Wall-clock milliseconds, for timestamps and the replay window. @default Date.now */
  now?: () => number;
  /** @default replayWindowMs */
  replayWindowMs?: number;
  /** @default replayCacheMax */
  replayCacheMax?: number;
}

/** Nonces of recently accepted messages, each kept until its timestamp leaves the window. */
class ReplayCache {
  private readonly expiries = new Map<string, number>();
  evicted = 0;

  constructor(private readonly max: number) {}

  /** False if `nonce` was seen; otherwise remembers it until `expiresAtMs`. */
  admit(nonce: string, expiresAtMs: number, nowMs: number): boolean {
    for (const [key, expiry] of this.expiries) {
      if (expiry >= nowMs && this.expiries.size < this.max) break;
      this.expiries.delete(key);
      if (expiry >= nowMs) this.evicted++;
    }
    if (this.expiries.has(nonce)) return false;
    this.expiries.set(nonce, expiresAtMs);
    return true;
  }
}

export class Keyring {
  private keys: Buffer[];
  private readonly now: () => number;
  private readonly windowMs: number;
  private readonly replays: ReplayCache;
  /** Messages refused by `openChecked`, by reason. */
  readonly refusals: Record<OpenRefusal, number> = { unauthenticated: 0, stale: 0, replayed: 0 };

  /** `keys[0]` is the primary; every key is 32 bytes. */
  constructor(keys: readonly Uint8Array[], options: KeyringOptions = {}) {
    if (keys.length === 0) throw new ConfigError('gossipKeys', 'a keyring needs at least one key');
    this.keys = [];
    for (const key of keys) this.install(key);
    this.now = options.now ?? Date.now;
    this.windowMs = options.replayWindowMs ?? replayWindowMs;
    this.replays = new ReplayCache(options.replayCacheMax ?? replayCacheMax);
  }

  /** Nonces forgotten before their window ended because the replay cache was full. */
  get replayCacheEvictions(): number {
    return this.replays.evicted;
  }

  /** Parses keys written as base64, one per line (blank lines and `#` comments ignored); the first is primary. */
  static fromText(text: string): Keyring {
    const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    return new Keyring(lines.map((line, i) => {
      const key = Buffer.from(line, 'base64');
      if (key.length !== gossipKeyBytes) throw new ConfigError('gossipKeys', `key on line ${i + 1} is ${key.length} bytes after base64 decoding; expected ${gossipKeyBytes}`);
      return key;
    }));
  }

  /** A fresh random key, base64-encoded (what `fromText` reads). */
  static generateKeyText(): string {
    return randomBytes(gossipKeyBytes).toString('base64');
  }

  get primary(): Uint8Array {
    return this.keys[0]!;
  }

  get size(): number {
    return this.keys.length;
  }

  /** The fingerprints of the keys held (`keyFingerprint`), primary first: what may be shown of a ring. */
  fingerprints(): string[] {
    return this.keys.map(keyFingerprint);
  }

  /** Adds a key that may decrypt (step 1 of a rotation). Installing a known key does nothing. */
  install(key: Uint8Array): void {
    if (key.length !== gossipKeyBytes) throw new ConfigError('gossipKeys', `a gossip key must be ${gossipKeyBytes} bytes, got ${key.length}`);
    if (this.indexOf(key) >= 0) return;
    if (this.keys.length >= keyringKeysMax) throw new LimitExceededError('keyringKeysMax', keyringKeysMax);
    this.keys.push(Buffer.from(key));
  }

  /** Makes an installed key the primary (step 2): packets are sealed with it from now on. */
  usePrimary(key: Uint8Array): void {
    const index = this.indexOf(key);
    if (index < 0) throw new ConfigError('gossipKeys', 'install a key before making it primary');
    const [chosen] = this.keys.splice(index, 1);
    this.keys.unshift(chosen!);
  }

  /** Forgets a key (step 3). The primary cannot be removed. */
  remove(key: Uint8Array): void {
    const index = this.indexOf(key);
    if (index === 0) throw new ConfigError('gossipKeys', 'cannot remove the primary key; make another key primary first');
    if (index > 0) this.keys.splice(index, 1);
  }

  seal(payload: Uint8Array, purpose: SealPurpose = 'gossip'): Uint8Array {
    const header = Buffer.alloc(1 + timestampBytes);
    header[0] = gossipVersionSealed;
    header.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(this.now()))), 1);
    const nonce = randomBytes(gcmNonceBytes);
    const cipher = createCipheriv('aes-256-gcm', this.keys[0]!, nonce);
    cipher.setAAD(aad(header, purpose));
    const body = cipher.update(payload);
    const final = cipher.final();
    return Buffer.concat([header, nonce, body, final, cipher.getAuthTag()]);
  }

  /** The payload, or undefined when the message is refused (see `openChecked`). */
  open(packet: Uint8Array, purpose: SealPurpose = 'gossip'): Uint8Array | undefined {
    const opened = this.openChecked(packet, purpose);
    return opened instanceof Uint8Array ? opened : undefined;
  }

  /**
   * The payload, or why it was refused: no key of the ring authenticates it (or it is of
   * another kind or the retired format), its timestamp is outside the replay window, or
   * its nonce was already accepted. Each refusal is counted in `refusals`.
   */
  openChecked(packet: Uint8Array, purpose: SealPurpose = 'gossip'): Uint8Array | OpenRefusal {
    const payload = this.authenticate(packet, purpose);
    if (payload === undefined) return this.refuse('unauthenticated');
    const bytes = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
    const sentAtMs = Number(bytes.readBigUInt64BE(1));
    const nowMs = this.now();
    if (Math.abs(nowMs - sentAtMs) > this.windowMs) return this.refuse('stale');
    const nonce = bytes.toString('base64', 1 + timestampBytes, 1 + timestampBytes + gcmNonceBytes);
    if (!this.replays.admit(nonce, sentAtMs + this.windowMs, nowMs)) return this.refuse('replayed');
    return payload;
  }

  private authenticate(packet: Uint8Array, purpose: SealPurpose): Uint8Array | undefined {
    if (packet.length < sealedOverheadBytes || packet[0] !== gossipVersionSealed) return undefined;
    const bytes = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
    const header = bytes.subarray(0, 1 + timestampBytes);
    const nonce = bytes.subarray(header.length, header.length + gcmNonceBytes);
    const body = bytes.subarray(header.length + gcmNonceBytes, bytes.length - gcmTagBytes);
    const tag = bytes.subarray(bytes.length - gcmTagBytes);
    for (const key of this.keys) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, nonce);
        decipher.setAAD(aad(header, purpose));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(body), decipher.final()]);
      } catch {
        // Not this key: try the next one.
      }
    }
    return undefined;
  }

  private refuse(reason: OpenRefusal): OpenRefusal {
    this.refusals[reason]++;
    return reason;
  }

  private indexOf(key: Uint8Array): number {
    return this.keys.findIndex((k) => k.equals(key));
  }
}

/** A key written in base64 (a line of a key file), or undefined when it is not base64 of `gossipKeyBytes` bytes. */
export function decodeGossipKey(text: string): Uint8Array | undefined {
  const body = text.trim();
  if (!/^[A-Za-z0-9+/]+=*$/.test(body)) return undefined;
  const key = Buffer.from(body, 'base64');
  return key.length === gossipKeyBytes ? new Uint8Array(key) : undefined;
}

/**
 * A key's fingerprint: the first 16 hex digits of its SHA-256. It names a key in listings
 * and logs without revealing it (`shoal keys list`, `shoal keygen --out`).
 */
export function keyFingerprint(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

function aad(header: Buffer, purpose: SealPurpose): Buffer {
  return Buffer.concat([header, Buffer.of(purposeByte[purpose])]);
}

/** Push-pull state frames sealed with the gossip keyring (see `StateSeal` in core/swim). */
export function keyringStateSeal(keyring: Keyring): StateSeal {
  return {
    overheadBytes: sealedOverheadBytes,
    seal: (body) => keyring.seal(body, 'state'),
    open: (sealed) => keyring.open(sealed, 'state'),
  };
}
