import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError, LimitExceededError } from '../../core/index.ts';
import {
  FrameReader, MessageType, PacketBuilder, WireState, decodePacket, decodeState, encodeState, wireVersion, type SwimMessage,
} from '../../core/swim/index.ts';
import { Writer, selfName, type KnownAlive } from '../../core/swim/codec.ts';

const name = fc.string({ minLength: 1, maxLength: 40 });
const tags = fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 16 }), { maxKeys: 4 });
const seq = fc.nat();
const message: fc.Arbitrary<SwimMessage> = fc.oneof(
  fc.record({ type: fc.constant(MessageType.Ping), seq, target: name }),
  fc.record({ type: fc.constant(MessageType.IndirectPing), seq, target: name, targetAddress: name, wantNack: fc.boolean() }),
  fc.record({ type: fc.constant(MessageType.Ack), seq }),
  fc.record({ type: fc.constant(MessageType.Nack), seq }),
  fc.record({ type: fc.constant(MessageType.Alive), name, address: name, incarnation: fc.nat(), tags }),
  fc.record({ type: fc.constant(MessageType.Suspect), name, incarnation: fc.nat(), from: name }),
  fc.record({ type: fc.constant(MessageType.Dead), name, incarnation: fc.nat(), from: name }),
) as fc.Arbitrary<SwimMessage>;

function normalise(m: SwimMessage): unknown {
  return 'tags' in m ? { ...m, tags: { ...m.tags } } : m;
}

describe('SWIM packet codec', () => {
  it('round-trips any sequence of messages that fits', () => {
    fc.assert(fc.property(fc.array(message, { maxLength: 8 }), (messages) => {
      const p = new PacketBuilder(8192).reset();
      for (const m of messages) p.add(m);
      expect(decodePacket(p.view()).map(normalise)).toEqual(messages.map(normalise));
    }), { numRuns: 300 });
  });

  it('writes a string as its length and UTF-8 bytes, whatever the characters, and refuses one that does not fit', () => {
    const utf8 = new TextEncoder();
    fc.assert(fc.property(
      fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.string({ unit: 'binary', maxLength: 100 }),
        // Boundaries: the last one-byte character, the first two-byte one, lone surrogates, astral.
        fc.string({ unit: fc.constantFrom('a', '\u007f', '\u0080', '\u00e9', '\ud800', '\udfff', '\u{1f600}'), maxLength: 140 }),
      ),
      fc.nat(300), fc.nat(4), fc.integer({ min: 0, max: 400 }),
      (value, room, at, maxBytes) => {
        const w = new Writer(new Uint8Array(at + room));
        w.offset = at;
        const bytes = utf8.encode(value);
        const lengthBytes = bytes.length < 0x80 ? 1 : 2;
        if (bytes.length > maxBytes || lengthBytes + bytes.length > room) {
          expect(() => w.string(value, maxBytes)).toThrow(LimitExceededError);
          return;
        }
        w.string(value, maxBytes);
        const out = w.buffer.subarray(at, w.offset);
        expect(out.length).toBe(lengthBytes + bytes.length);
        expect(out.subarray(lengthBytes)).toEqual(bytes);
        expect(lengthBytes === 1 ? out[0] : (out[0]! & 0x7f) + out[1]! * 0x80).toBe(bytes.length);
      },
    ), { numRuns: 1000 });
  });

  it('throws only DecodeError on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, versioned) => {
      const input = versioned ? Uint8Array.of(wireVersion, ...bytes) : bytes;
      try {
        decodePacket(input);
      } catch (error) {
        expect(error).toBeInstanceOf(DecodeError);
      }
    }), { numRuns: 2000 });
  });

  it('throws only DecodeError on mutated valid packets', () => {
    fc.assert(fc.property(fc.array(message, { minLength: 1, maxLength: 4 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (messages, at, value) => {
      const p = new PacketBuilder(8192).reset();
      for (const m of messages) p.add(m);
      const bytes = p.view().slice();
      bytes[at % bytes.length] = value;
      try {
        decodePacket(bytes.subarray(0, bytes.length - (at % 3)));
      } catch (error) {
        expect(error).toBeInstanceOf(DecodeError);
      }
    }), { numRuns: 1000 });
  });

  it('skips message types it does not know (append-only evolution)', () => {
    const p = new PacketBuilder(256).reset();
    p.add({ type: MessageType.Ack, seq: 7 });
    const bytes = Uint8Array.of(...p.view(), 200, 2, 0xaa, 0xbb);
    expect(decodePacket(bytes)).toEqual([{ type: MessageType.Ack, seq: 7 }]);
  });

  it('refuses another wire version and oversized names', () => {
    expect(() => decodePacket(Uint8Array.of(99, MessageType.Ack, 1, 0))).toThrow(DecodeError);
    const p = new PacketBuilder(1400).reset();
    expect(() => p.add({ type: MessageType.Ping, seq: 1, target: 'x'.repeat(200) })).toThrow(LimitExceededError);
  });

  it('refuses to build a packet beyond its size limit', () => {
    const p = new PacketBuilder(512).reset();
    expect(() => {
      for (let i = 0; i < 100; i++) p.add({ type: MessageType.Alive, name: `member-${i}`, address: `member-${i}:7946`, incarnation: i, tags: {} });
    }).toThrow(LimitExceededError);
  });
});

describe('push-pull state codec', () => {
  const entry = fc.record({ name, address: name, incarnation: fc.nat(), state: fc.constantFrom(WireState.Alive, WireState.Suspect, WireState.Dead, WireState.Left), tags });

  it('round-trips through a frame reader fed arbitrary splits', () => {
    fc.assert(fc.property(fc.boolean(), fc.array(entry, { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 20 }), (join, members, cuts) => {
      const frame = encodeState({ join, members }, 1 << 20);
      const reader = new FrameReader(1 << 20);
      let body: Uint8Array | undefined;
      let offset = 0;
      for (const cut of [...cuts, frame.length]) {
        if (offset >= frame.length) break;
        body = reader.push(frame.subarray(offset, Math.min(frame.length, offset + cut)));
        offset += cut;
      }
      const decoded = decodeState(body!);
      expect(decoded.join).toBe(join);
      expect(decoded.members.map((m) => ({ ...m, tags: { ...m.tags } }))).toEqual(members);
    }), { numRuns: 200 });
  });

  it('throws only DecodeError on arbitrary bodies and refuses oversized frames', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      try {
        decodeState(bytes);
      } catch (error) {
        expect(error).toBeInstanceOf(DecodeError);
      }
    }), { numRuns: 2000 });
    expect(() => new FrameReader(100).push(Uint8Array.of(0, 0, 1, 0))).toThrow(DecodeError);
  });

  it('refuses a state larger than the limit when encoding', () => {
    const members = Array.from({ length: 100 }, (_, i) => ({ name: `m${i}`, address: `m${i}:7946`, incarnation: 0, state: WireState.Alive, tags: {} }));
    expect(() => encodeState({ join: false, members }, 256)).toThrow(LimitExceededError);
  });
});

/**
 * A receiver that knows some members (name → incarnation) and can tell some of them from
 * their bytes alone: the rest go by the decoded name, as a name past a full hash chain does.
 */
class Knows implements KnownAlive {
  private readonly utf8 = new TextEncoder();
  constructor(private readonly held: ReadonlyMap<string, number>, private readonly byBytes: ReadonlySet<string>) {}
  knownAliveUtf8(bytes: Uint8Array, start: number, end: number, incarnation: number): boolean | undefined {
    for (const name of this.byBytes) {
      const b = this.utf8.encode(name);
      if (b.length === end - start && b.every((x, i) => x === bytes[start + i])) return this.knownAlive(name, incarnation);
    }
    return undefined;
  }
  knownAlive(name: string, incarnation: number): boolean {
    const held = this.held.get(name);
    return held !== undefined && incarnation <= held;
  }
}

describe('known Alives', () => {
  const names = ['a', 'b', 'é', '\u{1f600}', 'member-7'];
  const alive = fc.record({ type: fc.constant(MessageType.Alive), name: fc.constantFrom(...names), address: name, incarnation: fc.nat(5), tags });
  const held = fc.dictionary(fc.constantFrom(...names), fc.nat(5));
  const byBytes = fc.subarray(names);

  it('are left out of a packet, by their bytes or by their name, and nothing else is', () => {
    fc.assert(fc.property(fc.array(fc.oneof(alive, message), { maxLength: 8 }), held, byBytes, (messages, h, b) => {
      const known = new Knows(new Map(Object.entries(h)), new Set(b));
      const p = new PacketBuilder(8192).reset();
      for (const m of messages) p.add(m);
      const expected = messages.filter((m) => !(m.type === MessageType.Alive && known.knownAlive(m.name, m.incarnation)));
      expect(decodePacket(p.view(), undefined, known).map(normalise)).toEqual(expected.map(normalise));
    }), { numRuns: 300 });
  });

  it('are left out of a push-pull state, and only Alive entries are', () => {
    const entry = fc.record({ name: fc.constantFrom(...names), address: name, incarnation: fc.nat(5), state: fc.constantFrom(WireState.Alive, WireState.Suspect, WireState.Dead, WireState.Left), tags });
    fc.assert(fc.property(fc.array(entry, { maxLength: 12 }), held, byBytes, (members, h, b) => {
      const known = new Knows(new Map(Object.entries(h)), new Set(b));
      const body = encodeState({ join: false, members }, 1 << 16).subarray(4);
      const expected = members.filter((m) => !(m.state === WireState.Alive && known.knownAlive(m.name, m.incarnation)));
      expect(decodeState(body, undefined, known).members.map((m) => ({ ...m, tags: { ...m.tags } }))).toEqual(expected);
    }), { numRuns: 300 });
  });
});

describe("a ping naming its receiver", () => {
  const self = selfName('member-7')!;
  /** An interner that counts the strings asked of it. */
  const counting = () => {
    const asked: string[] = [];
    return {
      asked,
      string: (bytes: Uint8Array, start: number, end: number) => {
        const s = new TextDecoder().decode(bytes.subarray(start, end));
        asked.push(s);
        return s;
      },
      bytes: (bytes: Uint8Array) => bytes.slice(),
    };
  };

  it('decodes to the receiver\'s name without asking the interner; any other name, and every other message, as before', () => {
    fc.assert(fc.property(fc.array(fc.oneof(message, fc.constantFrom<SwimMessage>(...['member-7', 'member-70', 'member-', 'member-8'].map((target) => ({ type: MessageType.Ping, seq: 1, target })))), { maxLength: 8 }), (messages) => {
      const p = new PacketBuilder(8192).reset();
      for (const m of messages) p.add(m);
      const plain = counting();
      const fast = counting();
      const expected = decodePacket(p.view(), plain).map(normalise);
      expect(decodePacket(p.view(), fast, undefined, self).map(normalise)).toEqual(expected);
      const pingsToSelf = messages.filter((m) => m.type === MessageType.Ping && m.target === 'member-7').length;
      expect(fast.asked.length).toBe(plain.asked.length - pingsToSelf);
    }), { numRuns: 300 });
  });

  it('a name its UTF-8 bytes do not decode back to (a lone surrogate) has no fast path', () => {
    expect(selfName('n\ud800')).toBeUndefined();
    expect(selfName('é\u{1f600}')?.utf8).toEqual(new TextEncoder().encode('é\u{1f600}'));
  });
});
