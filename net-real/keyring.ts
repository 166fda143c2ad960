import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ConfigError, LimitExceededError } from '../core/index.ts';

/**
 * Gossip security: every datagram is sealed with AES-256-GCM under the primary key of a
 * keyring, and opened with whichever key of the ring authenticates it. Rotation without
 * downtime is three steps, each rolled out to every node before the next: install the new
 * key, make it primary, remove the old one (the same procedure as memberlist's keyring).
 *
 * Packet layout: `version (1) | nonce (12) | ciphertext | tag (16)`; the version byte is
 * also the additional authenticated data. Version bytes stay below 0x40 so a gossip packet
 * can never be mistaken for a QUIC packet (QUIC sets the 0x40 "fixed bit") on the shared
 * UDP port.
 */

export const gossipKeyBytes = 32;
export const gcmNonceBytes = 12;
export const gcmTagBytes = 16;
/** Version byte of a sealed (AES-256-GCM) gossip packet. */
export const gossipVersionSealed = 0x01;
/** Version byte of a plaintext gossip packet (only when no keyring is configured). */
export const gossipVersionPlain = 0x02;
/** Bytes a sealed packet adds to its payload. */
export const sealedOverheadBytes = 1 + gcmNonceBytes + gcmTagBytes;
/** Bytes a plaintext packet adds to its payload. */
export const plainOverheadBytes = 1;
/** Most keys a ring holds: opening tries each, so the ring must stay small. */
export const keyringKeysMax = 8;

/** True if the first byte marks a shoal gossip packet rather than a QUIC packet. */
export function isGossipPacket(packet: Uint8Array): boolean {
  const version = packet[0];
  return version === gossipVersionSealed || version === gossipVersionPlain;
}

export class Keyring {
  private keys: Buffer[];

  /** `keys[0]` is the primary; every key is 32 bytes. */
  constructor(keys: readonly Uint8Array[]) {
    if (keys.length === 0) throw new ConfigError('gossipKeys', 'a keyring needs at least one key');
    this.keys = [];
    for (const key of keys) this.install(key);
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

  seal(payload: Uint8Array): Uint8Array {
    const nonce = randomBytes(gcmNonceBytes);
    const version = Buffer.of(gossipVersionSealed);
    const cipher = createCipheriv('aes-256-gcm', this.keys[0]!, nonce);
    cipher.setAAD(version);
    const body = cipher.update(payload);
    const final = cipher.final();
    return Buffer.concat([version, nonce, body, final, cipher.getAuthTag()]);
  }

  /** The payload, or undefined when no key of the ring authenticates the packet. */
  open(packet: Uint8Array): Uint8Array | undefined {
    if (packet.length < sealedOverheadBytes || packet[0] !== gossipVersionSealed) return undefined;
    const bytes = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
    const nonce = bytes.subarray(1, 1 + gcmNonceBytes);
    const body = bytes.subarray(1 + gcmNonceBytes, bytes.length - gcmTagBytes);
    const tag = bytes.subarray(bytes.length - gcmTagBytes);
    for (const key of this.keys) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, nonce);
        decipher.setAAD(bytes.subarray(0, 1));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(body), decipher.final()]);
      } catch {
        // Not this key: try the next one.
      }
    }
    return undefined;
  }

  private indexOf(key: Uint8Array): number {
    return this.keys.findIndex((k) => k.equals(key));
  }
}
