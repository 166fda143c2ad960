import type { Random } from '../core/index.ts';

/**
 * A seeded generator: Johannes Baagøe's Alea, the generator of seedrandom's `alea`, whose
 * exact sequence it draws (a test compares the two), written as a class with its state in a
 * typed array, so a draw is one small monomorphic method on unboxed numbers. A fork's stream depends only on the root seed and the
 * chain of labels, never on how many numbers were drawn before it, so adding a host or a
 * draw in one place does not shift every other stream.
 */
export class SeededRandom implements Random {
  /** Alea's state: s0, s1, s2 and the carry c, unboxed side by side. */
  private readonly state = new Float64Array(4);

  constructor(readonly seed: string) {
    const mash = new Mash();
    const s = this.state;
    s[0] = mash.next(' ');
    s[1] = mash.next(' ');
    s[2] = mash.next(' ');
    s[3] = 1;
    for (let i = 0; i < 3; i++) {
      s[i] = s[i]! - mash.next(seed);
      if (s[i]! < 0) s[i] = s[i]! + 1;
    }
  }

  next(): number {
    const s = this.state;
    const t = 2091639 * s[0]! + s[3]! * 2.3283064365386963e-10; // 2^-32
    s[0] = s[1]!;
    s[1] = s[2]!;
    s[3] = t | 0;
    return (s[2] = t - s[3]);
  }

  fork(label: string): SeededRandom {
    return new SeededRandom(`${this.seed}/${label}`);
  }
}

/** Alea's seeding hash: turns strings into numbers in [0, 1), carrying its state from one call to the next. */
class Mash {
  private n = 0xefc8249d;
  next(data: string): number {
    let n = this.n;
    for (let i = 0; i < data.length; i++) {
      n += data.charCodeAt(i);
      let h = 0.02519603282416938 * n;
      n = h >>> 0;
      h -= n;
      h *= n;
      n = h >>> 0;
      h -= n;
      n += h * 0x100000000; // 2^32
    }
    this.n = n;
    return (n >>> 0) * 2.3283064365386963e-10; // 2^-32
  }
}
