import { createHash, randomBytes } from 'node:crypto';
import type { Random } from '../core/index.ts';

/** Bytes of seed drawn from the operating system's CSPRNG. */
export const cryptoSeedBytes = 16;

/**
 * A fast PRNG (sfc32) seeded from `crypto.randomBytes`. The protocols draw randomness for
 * probe order, jitter and peer selection, not for secrets, so a fast generator seeded
 * unpredictably is what they need; secrets (nonces, keys) come from `node:crypto` directly.
 *
 * `fork(label)` derives a stream from this one's seed and the label with SHA-256, so it is
 * as unpredictable as the parent and, as the `Random` contract asks, the same label on the
 * same parent gives the same stream.
 */
export class CryptoRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(private readonly seed: Uint8Array = randomBytes(cryptoSeedBytes)) {
    const view = new DataView(seed.buffer, seed.byteOffset, seed.byteLength);
    this.a = view.getUint32(0);
    this.b = view.getUint32(4);
    this.c = view.getUint32(8);
    this.d = view.getUint32(12);
    // Discard the first outputs: sfc32's state needs a few rounds to mix.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  next(): number {
    return this.nextUint32() / 4294967296;
  }

  fork(label: string): Random {
    const derived = createHash('sha256').update(this.seed).update(label).digest();
    return new CryptoRandom(derived.subarray(0, cryptoSeedBytes));
  }

  private nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
}
