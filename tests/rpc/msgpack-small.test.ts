import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { msgpackrOptions } from '../../core/rpc/codec.ts';
import { decodeSmall, encodeSmall, notSmall, smallMessageBytesMax } from '../../core/rpc/msgpack-small.ts';
import { msgpackCodec } from '../../core/rpc/index.ts';

/** msgpackr with the codec's options: the reference the fast path must match byte for byte. */
const reference = new Packr(msgpackrOptions);

const asciiString = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 300 });
const anyString = fc.oneof(asciiString, fc.string({ unit: 'binary', maxLength: 40 }));
const number = fc.oneof(
  fc.integer({ min: -40, max: 300 }),
  fc.integer({ min: -0x8001, max: 0x10001 }),
  fc.integer(),
  fc.constantFrom(0x7fff_ffff, -0x8000_0000, 0xffff_ffff, 0x1_0000_0000, -0x8000_0001, -0, Number.NaN, Infinity, -Infinity, 2 ** 53),
  fc.double(),
);
const key = fc.oneof(asciiString.filter((k) => k.length < 40), fc.constantFrom('__proto__', 'constructor', 'hasOwnProperty', 'toJSON', 'é'));
const bytes = fc.uint8Array({ maxLength: 300 });

/** Values the fast path covers, and some it does not (non-ASCII strings, large maps, Dates, other typed arrays). */
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, undefined, true, false),
    number, anyString, bytes,
    fc.array(tie('value'), { maxLength: 18 }),
    fc.dictionary(key, fc.oneof(tie('value'), fc.constant(undefined)), { maxKeys: 18 }),
    fc.constantFrom(new Date(0), new Uint16Array([1, 2]), new Map([['a', 1]])),
  ),
}));

/** Only what the fast path covers: it must then take it (a test that never takes the fast path proves nothing). */
const { covered } = fc.letrec((tie) => ({
  covered: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false),
    fc.integer(), fc.double(), asciiString.filter((s) => s.length < 100), fc.uint8Array({ maxLength: 100 }),
    fc.array(tie('covered'), { maxLength: 4 }),
    fc.dictionary(asciiString.filter((k) => k.length < 10 && k !== '__proto__'), tie('covered'), { maxKeys: 4, noNullPrototype: true }),
  ),
}));

/**
 * Same type, same prototype, same own keys in the same order, same bytes: stricter than
 * `toStrictEqual`, which reads a decoded own `constructor` key as the object's class.
 */
function same(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Uint8Array) return b instanceof Uint8Array && a.length === b.length && a.every((byte, i) => byte === b[i]);
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return keysA.length === keysB.length && keysA.every((k, i) => k === keysB[i] && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function packedSize(v: unknown): number {
  try {
    return reference.pack(v).length;
  } catch {
    return Infinity;
  }
}

describe('msgpack fast path for small messages', () => {
  it('writes exactly the bytes msgpackr writes, or leaves the value to msgpackr', () => {
    fc.assert(fc.property(value, (v) => {
      const fast = encodeSmall(v);
      if (fast === undefined) return;
      expect([...fast]).toEqual([...reference.pack(v)]);
    }), { numRuns: 3_000 });
  });

  it('takes every small value of the types it covers', () => {
    fc.assert(fc.property(covered.filter((v) => packedSize(v) <= smallMessageBytesMax), (v) => {
      const fast = encodeSmall(v);
      expect(fast).toBeDefined();
      expect([...fast!]).toEqual([...reference.pack(v)]);
      expect(decodeSmall(fast!)).not.toBe(notSmall);
    }), { numRuns: 2_000 });
  });

  it('reads what msgpackr reads from encoded values', () => {
    fc.assert(fc.property(value, (v) => {
      let packed: Uint8Array;
      try {
        packed = Uint8Array.from(reference.pack(v));
      } catch {
        return;
      }
      const fast = decodeSmall(packed);
      if (fast !== notSmall) expect(same(fast, reference.unpack(Uint8Array.from(packed)))).toBe(true);
    }), { numRuns: 3_000 });
  });

  it('never reads a value from bytes msgpackr refuses, and reads the same value from any bytes it takes', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), (input) => {
      const fast = decodeSmall(input);
      if (fast === notSmall) return;
      expect(same(fast, reference.unpack(Uint8Array.from(input)))).toBe(true);
    }), { numRuns: 5_000 });
  });

  it('keeps earlier messages intact while later ones are encoded', () => {
    const first = msgpackCodec.encode({ n: 1, s: 'first' });
    const copy = first.slice();
    for (let i = 0; i < 2_000; i++) msgpackCodec.encode({ n: i, bytes: new Uint8Array(100) });
    expect(first).toEqual(copy);
    expect(msgpackCodec.decode(first)).toEqual({ n: 1, s: 'first' });
  });
});

describe('msgpack fast path, re-entered', () => {
  it('encodes a value whose getter encodes another one, as msgpackr does', () => {
    const inner = { n: 7 };
    const outer = {
      a: 1,
      get b() {
        return msgpackCodec.encode(inner).length;
      },
    };
    expect([...msgpackCodec.encode(outer)]).toEqual([...reference.pack({ a: 1, b: reference.pack(inner).length })]);
    expect(msgpackCodec.decode(msgpackCodec.encode(outer))).toEqual({ a: 1, b: 4 });
  });
});
