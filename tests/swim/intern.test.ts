import { describe, expect, it } from 'vitest';
import { DecodeError, InternTable } from '../../core/index.ts';

/** The interner behind SWIM's decoding (issue 16): same bytes, same value; bounded whatever arrives. */
const utf8 = (s: string) => new TextEncoder().encode(s);

describe('InternTable', () => {
  it('decodes each distinct name once: equal bytes anywhere in a buffer give the same string', () => {
    const table = new InternTable();
    const packet = utf8('xx n7:7946 yy n7:7946');
    const a = table.string(packet, 3, 10);
    const b = table.string(packet, 14, 21);
    expect(a).toBe('n7:7946');
    expect(b).toBe(a);
    expect(table.size).toBe(1);
  });

  it('shares copies of equal byte strings, never the caller\'s buffer', () => {
    const table = new InternTable();
    const scratch = utf8('alive n3');
    const first = table.bytes(scratch);
    scratch[0] = 0;
    expect(first).not.toBe(scratch);
    expect(new TextDecoder().decode(first)).toBe('alive n3');
    expect(table.bytes(utf8('alive n3'))).toBe(first);
  });

  it('refuses bytes that are not UTF-8 with a DecodeError, and keeps nothing for them', () => {
    const table = new InternTable();
    expect(() => table.string(Uint8Array.of(0xff, 0xfe), 0, 2)).toThrow(DecodeError);
    expect(table.size).toBe(0);
  });

  it('starts again from empty at its bound; values handed out stay valid', () => {
    const table = new InternTable(4);
    const names = Array.from({ length: 10 }, (_, i) => `member-${i}`);
    const decoded = names.map((n) => table.string(utf8(n), 0, utf8(n).length));
    expect(decoded).toEqual(names);
    expect(table.size).toBeLessThanOrEqual(4);
  });
});
