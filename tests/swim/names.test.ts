import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashOf } from '../../core/intern.ts';
import { nameId, nameIdIfAny, nameIdOfUtf8, nameIdsEpoch, nameProbeMax, restartNameIds } from '../../core/swim/names.ts';

const utf8 = new TextEncoder();

/** Looks `name` up by its bytes, placed at `at` in a larger buffer (as in a packet). */
function byBytes(name: string, at = 3): number | undefined {
  const bytes = utf8.encode(name);
  const buffer = new Uint8Array(at + bytes.length + 2).fill(0x5a);
  buffer.set(bytes, at);
  return nameIdOfUtf8(buffer, at, at + bytes.length);
}

describe('name ids', () => {
  it('find a name by its bytes as by its string, and nothing for a name never given one, across restarts', () => {
    restartNameIds();
    const ids = new Map<string, number>();
    fc.assert(fc.property(
      fc.array(fc.oneof(fc.string({ minLength: 1, maxLength: 12, size: 'max' }), fc.string({ unit: 'grapheme', maxLength: 6, size: 'max' })), { maxLength: 80, size: 'max' }),
      fc.array(fc.string({ maxLength: 12 }), { maxLength: 20 }),
      fc.nat(19),
      (given, asked, restartDraw) => {
        // Restarts are rare, so the table grows (rehash, arena) over many runs between them.
        if (restartDraw === 0) {
          restartNameIds();
          ids.clear();
        }
        for (const name of given) ids.set(name, nameId(name));
        // Every name given since the last restart (earlier runs' too: the table grew since).
        // By bytes a name is found, never another's id; a name whose probe run was full
        // (linear probing at most half full: a few in ten thousand) is found by string only.
        let missed = 0;
        for (const [name, id] of ids) {
          expect(nameId(name)).toBe(id);
          expect(nameIdIfAny(name)).toBe(id);
          const found = byBytes(name);
          if (found === undefined) missed++;
          else expect(found).toBe(id);
        }
        expect(missed).toBeLessThanOrEqual(Math.max(1, ids.size / 200));
        // Names no call gave an id (since a restart) are found neither way.
        for (const name of asked) {
          if (nameIdIfAny(name) === undefined) expect(byBytes(name)).toBeUndefined();
          else expect(byBytes(name)).toBe(nameIdIfAny(name));
        }
      },
    ), { numRuns: 300 });
  });

  it('starts again with a new epoch: nothing is found until given again', () => {
    const id = nameId('epoch-test');
    const epoch = nameIdsEpoch();
    restartNameIds();
    expect(nameIdsEpoch()).toBe(epoch + 1);
    expect(nameIdIfAny('epoch-test')).toBeUndefined();
    expect(byBytes('epoch-test')).toBeUndefined();
    expect(nameId('epoch-test')).toBe(0);
    expect(id).toBeGreaterThanOrEqual(0);
  });

  it('bounds the probes a crafted collision costs: past the bound a name is found by its string only', () => {
    // Names whose hashes agree in their low 18 bits share a home slot in any table up to
    // 2^18 slots (nameIdsMax names need at most that): a peer could pick such names.
    const lowMask = (1 << 18) - 1;
    const scratch = new Uint8Array(16);
    const lowOf = (name: string) => {
      for (let j = 0; j < name.length; j++) scratch[j] = name.charCodeAt(j);
      return hashOf(scratch, 0, name.length) & lowMask;
    };
    // Two passes over c0, c1, ...: find the fullest home slot, then its names.
    const tries = 3_000_000;
    const home = new Int32Array(lowMask + 1);
    let fullest = 0;
    for (let i = 0; i < tries; i++) {
      const low = lowOf(`c${i}`);
      if (++home[low]! > home[fullest]!) fullest = low;
    }
    const colliding: string[] = [];
    for (let i = 0; i < tries; i++) if (lowOf(`c${i}`) === fullest) colliding.push(`c${i}`);
    expect(colliding.length).toBeGreaterThan(nameProbeMax);
    restartNameIds();
    const ids = colliding.map((name) => nameId(name));
    const found = colliding.map((name) => byBytes(name));
    // Every name keeps its id by string; by bytes, those that found a slot are found, and
    // the probe run of one home slot holds at most nameProbeMax of them.
    colliding.forEach((name, i) => expect(nameIdIfAny(name)).toBe(ids[i]));
    found.forEach((id, i) => expect(id === undefined || id === ids[i]).toBe(true));
    expect(found.filter((id) => id !== undefined).length).toBeLessThanOrEqual(nameProbeMax);
    expect(found.filter((id) => id === undefined).length).toBeGreaterThan(0);
  });

  it('leaves names that start with a byte order mark to their string: their bytes decode to another name', () => {
    const id = nameId('\uFEFFbom-x');
    const bytes = utf8.encode('\uFEFFbom-x');
    // These bytes are the name "bom-x" on the wire (the decoder drops a leading U+FEFF).
    expect(new TextDecoder('utf-8', { fatal: true }).decode(bytes)).toBe('bom-x');
    expect(nameIdOfUtf8(bytes, 0, bytes.length)).toBeUndefined();
    expect(nameIdIfAny('\uFEFFbom-x')).toBe(id);
  });
});
