import { describe, expect, it, vi } from 'vitest';
import { DecodeError } from '../../core/index.ts';
import {
  FrameDecoder, FrameFlag, FrameType, MethodIndex, RpcError, Status, decodeCancel, decodeCompactHeaders, decodeTrailer, defaultLimits,
  encodeCompactFrame, encodeCompactHeaders, encodeFrame, encodeHeaders, encodeMetadata, encodePreamble, methodBytes, msgpackCodec,
} from '../../core/rpc/index.ts';
import { readVarint, varintBytes, writeVarint } from '../../core/rpc/bytes.ts';
import { RpcSession } from '../../core/rpc/session.ts';
import type { Simulation } from '../../sim/index.ts';
import { collect, rig, settle, simTest } from './helpers.ts';

const test = simTest('tests/rpc/versions.test.ts');

interface Frame {
  type: number;
  flags: number;
  callId: number;
  payload: Uint8Array;
}

/** A hand-driven client that offers `versionMax` and records the version the server chose, the frames and the bytes after the preamble. */
interface RawClient {
  write(bytes: Uint8Array): void;
  version: number | undefined;
  frames: Frame[];
  frameBytes: number;
  closed: boolean;
}

function rawClient(sim: Simulation, to: string, versionMax: number, preamble = encodePreamble(defaultLimits, 1, versionMax)): () => RawClient {
  sim.host('raw', (ctx) => {
    const connection = ctx.transport.streams.connect(to);
    const stream = connection.openStream();
    const peer: RawClient = { write: (bytes) => stream.write(bytes), version: undefined, frames: [], frameBytes: 0, closed: false };
    const decoder = new FrameDecoder(defaultLimits.maxFrameBytes, {
      onPreamble: (preamble) => (peer.version = preamble.version),
      onFrame: (type, flags, callId, payload) => peer.frames.push({ type, flags, callId, payload: payload.slice() }),
    });
    let preambleSeen = false;
    stream.onData = (data) => {
      peer.frameBytes += data.length - (preambleSeen ? 0 : 32);
      preambleSeen = true;
      decoder.push(data);
    };
    connection.onClose = () => (peer.closed = true);
    stream.write(preamble);
    return peer;
  });
  return () => sim.app<RawClient>('raw')!;
}

/** The request of the bench: 64 bytes, as a msgpack bin. */
const payload64 = new Uint8Array(64).fill(0x2a);

describe('rpc protocol versions: negotiation through the preamble', () => {
  for (const [name, seed, clientMax, serverMax, expected] of [
    ['a version 2 client and server speak 2', 81, 2, 2, 2],
    ['a version 1 client gets version 1 from a version 2 server', 82, 1, 2, 1],
    ['a version 2 client gets version 1 from a version 1 server', 83, 2, 1, 1],
    ['a version 3 client and server speak 3', 88, 3, 3, 3],
    ['a version 3 client gets version 2 from a version 2 server', 89, 3, 2, 2],
    ['a version 2 client gets version 2 from a version 3 server', 90, 2, 3, 2],
    ['a version 1 client gets version 1 from a version 3 server', 91, 1, 3, 1],
    ['a version 3 client gets version 1 from a version 1 server', 92, 3, 1, 1],
  ] as const) {
    test(`${name}; every kind of call works`, seed, async (s) => {
      const { sim, calc, client, serverAddress } = rig({ seed: s, client: { protocolVersionMax: clientMax }, server: { protocolVersionMax: serverMax } });
      expect(await settle(sim, calc().add({ a: 1, b: 2 }, { metadata: { token: 'x' } }))).toEqual({ ok: true, value: { sum: 3 } });
      expect(client().connectionInfo(serverAddress)?.protocolVersion).toBe(expected);
      expect(await settle(sim, collect(calc().range({ n: 300, bytes: 500 })))).toMatchObject({ ok: true });
      expect(await settle(sim, calc().sum([{ x: 1 }, { x: 2 }, { x: 3 }]))).toEqual({ ok: true, value: { total: 6 } });
      expect(await settle(sim, collect(calc().chat([{ text: 'a' }, { text: 'b' }])))).toEqual({ ok: true, value: [{ text: 'A' }, { text: 'B' }] });
      const boom = await settle(sim, collect(calc().boom({ after: 2, code: 'NOT_FOUND' })));
      expect((boom as { error: RpcError }).error.code).toBe('NOT_FOUND');
      // A method name used again goes by its index (version 2); a second connection starts a fresh table.
      expect(await settle(sim, calc().add({ a: 2, b: 2 }))).toEqual({ ok: true, value: { sum: 4 } });
      // The same method and timeout again (version 3: REPEAT), with metadata, then another timeout, then another method.
      expect(await settle(sim, calc().add({ a: 3, b: 2 }))).toEqual({ ok: true, value: { sum: 5 } });
      expect(await settle(sim, calc().add({ a: 4, b: 2 }, { metadata: { token: 'y' } }))).toEqual({ ok: true, value: { sum: 6 } });
      expect(await settle(sim, calc().add({ a: 5, b: 2 }, { timeoutMs: 1_234 }))).toEqual({ ok: true, value: { sum: 7 } });
      expect(await settle(sim, calc().sum([{ x: 4 }]))).toEqual({ ok: true, value: { total: 4 } });
      expect(await settle(sim, calc().add({ a: 6, b: 2 }))).toEqual({ ok: true, value: { sum: 8 } });
    });
  }

  test('version 2 on the wire: a 64-byte unary call is one frame each way, under 80 bytes', 84, async (seed) => {
    const { sim, serverAddress } = rig({ seed, server: { protocolVersionMax: 2 } });
    const peer = rawClient(sim, serverAddress, 2);
    await sim.runForAsync(10);
    expect(peer().version).toBe(2);
    const index = new MethodIndex();
    const request = (callId: number) => {
      const fields = encodeCompactHeaders(index.reference('calc.v1/add'), methodBytes('calc.v1/add'), 30_000, undefined);
      return encodeCompactFrame(FrameType.HEADERS, FrameFlag.END, callId, new Uint8Array([...fields, ...msgpackCodec.encode({ a: 20, b: 22 })]));
    };
    const first = request(1);
    const second = request(1_000);
    peer().write(first);
    peer().write(second);
    await sim.runForAsync(50);
    expect(peer().frames.map((f) => [f.type, f.flags, f.callId])).toEqual([[FrameType.MESSAGE, FrameFlag.END, 1], [FrameType.MESSAGE, FrameFlag.END, 1_000]]);
    expect(msgpackCodec.decode(peer().frames[1]!.payload)).toEqual({ sum: 42 });
    // The first call names the method (13 bytes); the second refers to it by index.
    expect(second.length).toBe(first.length - 'calc.v1/add'.length - 1 + 1);
    const benchRequest = encodeCompactFrame(FrameType.HEADERS, FrameFlag.END, 20_000, new Uint8Array([...encodeCompactHeaders(1, methodBytes('x'), 30_000, undefined), ...msgpackCodec.encode(payload64)]));
    expect(benchRequest.length).toBeLessThanOrEqual(80);
    expect(encodeCompactFrame(FrameType.MESSAGE, FrameFlag.END, 20_000, msgpackCodec.encode(payload64)).length).toBeLessThanOrEqual(80);
    expect(peer().closed).toBe(false);
  });

  test('version 3 on the wire: a repeated call leaves out method and timeout, 72 bytes each way for the bench call', 93, async (seed) => {
    const { sim, serverAddress } = rig({ seed });
    const peer = rawClient(sim, serverAddress, 3);
    await sim.runForAsync(10);
    expect(peer().version).toBe(3);
    const index = new MethodIndex();
    const call = (callId: number, method: string, flags = 0) => {
      const fields = encodeCompactHeaders(index.reference(method), methodBytes(method), 30_000, undefined, flags);
      return encodeCompactFrame(FrameType.HEADERS, FrameFlag.END | flags, callId, new Uint8Array([...fields, ...msgpackCodec.encode({ a: callId, b: 1 })]));
    };
    const first = call(1, 'calc.v1/add');
    const repeated = call(2, 'calc.v1/add', FrameFlag.REPEAT);
    // A call the server refuses (no such method) is still the previous call: its REPEAT is refused too.
    const unknown = call(3, 'calc.v1/nope');
    const repeatedUnknown = call(4, 'calc.v1/nope', FrameFlag.REPEAT);
    for (const frame of [first, repeated, unknown, repeatedUnknown]) peer().write(frame);
    await sim.runForAsync(50);
    expect(repeated.length).toBe(first.length - 1 - 'calc.v1/add'.length - 1 - 3);
    expect(peer().frames.map((f) => [f.type, f.callId])).toEqual([[FrameType.MESSAGE, 1], [FrameType.MESSAGE, 2], [FrameType.TRAILER, 3], [FrameType.TRAILER, 4]]);
    expect(msgpackCodec.decode(peer().frames[1]!.payload)).toEqual({ sum: 3 });
    expect(peer().frames.slice(2).map((f) => decodeTrailer(f.payload).status)).toEqual([Status.UNIMPLEMENTED, Status.UNIMPLEMENTED]);
    const benchRequest = encodeCompactFrame(FrameType.HEADERS, FrameFlag.END | FrameFlag.REPEAT, 20_000, msgpackCodec.encode(payload64));
    expect(benchRequest.length).toBe(encodeCompactFrame(FrameType.MESSAGE, FrameFlag.END, 20_000, msgpackCodec.encode(payload64)).length);
    expect(benchRequest.length).toBe(72);
    expect(peer().closed).toBe(false);
  });

  test('version 3: calls to one method with one timeout say REPEAT, whatever the clock reads', 95, async (seed) => {
    const flags: number[] = [];
    const send = RpcSession.prototype.sendCompactHeaders;
    const spied = vi.spyOn(RpcSession.prototype, 'sendCompactHeaders').mockImplementation(function (this: RpcSession, ...args) {
      flags.push(args[0]);
      return send.apply(this, args);
    });
    try {
      const { sim, calc } = rig({ seed });
      // A fractional clock reading just under 2^20 ms: start + timeout crosses a power of two
      // and rounds, so start + timeout − start is not always the timeout.
      sim.skewClock('client', 1_040_000.123_456_789);
      for (let i = 0; i < 100; i++) {
        await sim.runForAsync(0.37);
        expect(await settle(sim, calc().add({ a: i, b: 1 }, { timeoutMs: 30_000 }))).toEqual({ ok: true, value: { sum: i + 1 } });
      }
    } finally {
      spied.mockRestore();
    }
    // The first call waited for the connection, so its timeout field is what was left then;
    // the second names the full timeout; every later one repeats it.
    expect(flags.map((f) => f & FrameFlag.REPEAT)).toEqual([0, 0, ...Array<number>(98).fill(FrameFlag.REPEAT)]);
  });

  test('REPEAT before any HEADERS is a protocol violation; in version 2 the bit means nothing', 94, async (seed) => {
    const { sim, serverAddress } = rig({ seed });
    const v3 = rawClient(sim, serverAddress, 3);
    await sim.runForAsync(10);
    v3().write(encodeCompactFrame(FrameType.HEADERS, FrameFlag.END | FrameFlag.REPEAT, 1, msgpackCodec.encode({ a: 1, b: 1 })));
    await sim.runForAsync(50);
    expect(v3().version).toBe(3);
    expect(v3().frames.map((f) => f.type)).toEqual([FrameType.GOAWAY]);
    expect(v3().closed).toBe(true);
    // Version 2: an unknown flag bit is ignored, the method and timeout are read as usual.
    const fields = encodeCompactHeaders(0, methodBytes('calc.v1/add'), 500, undefined);
    expect(decodeCompactHeaders(fields, FrameFlag.REPEAT, 64, new MethodIndex(), 2)).toMatchObject({ method: 'calc.v1/add', timeoutMs: 500 });
    expect(() => decodeCompactHeaders(new Uint8Array(0), FrameFlag.REPEAT, 64, new MethodIndex(), 3)).toThrow(/REPEAT before any HEADERS/);
  });

  test('a server answers a bad preamble with its own in version 1, then GOAWAY', 85, async (seed) => {
    const { sim, serverAddress } = rig({ seed });
    const bad = encodePreamble(defaultLimits, 1, 2);
    bad[0] = 0x47;
    const peer = rawClient(sim, serverAddress, 2, bad);
    await sim.runForAsync(50);
    expect(peer().version).toBe(1);
    expect(peer().frames.map((f) => f.type)).toEqual([FrameType.GOAWAY]);
    expect(peer().closed).toBe(true);
  });

  test('a version 2 protocol violation gets a version 2 GOAWAY', 87, async (seed) => {
    const { sim, serverAddress } = rig({ seed });
    const peer = rawClient(sim, serverAddress, 2);
    await sim.runForAsync(10);
    peer().write(encodeCompactFrame(FrameType.PING, 0, 7, new Uint8Array(8)));
    await sim.runForAsync(50);
    expect(peer().version).toBe(2);
    expect(peer().frames.map((f) => f.type)).toEqual([FrameType.GOAWAY]);
    expect(peer().closed).toBe(true);
  });

  it('a client refuses a server that picks a version it did not offer', () => {
    const decoder = new FrameDecoder(defaultLimits.maxFrameBytes, {
      onPreamble: (preamble) => {
        if (preamble.version > 1) throw new DecodeError(`not offered: ${preamble.version}`);
      },
      onFrame: () => undefined,
    });
    expect(() => decoder.push(encodePreamble(defaultLimits, 2, 2))).toThrow(DecodeError);
    expect(() => new FrameDecoder(1024, { onPreamble: () => undefined, onFrame: () => undefined }).push(encodePreamble(defaultLimits, 4, 4))).toThrow(/version 4/);
  });
});

describe('rpc version 2 encoding', () => {
  it('varints: sizes, round trips, and the refusals (overlong, above 2^32 - 1)', () => {
    for (const [value, bytes] of [[0, 1], [127, 1], [128, 2], [16_383, 2], [16_384, 3], [2 ** 21, 4], [2 ** 28, 5], [0xffff_ffff, 5]] as const) {
      const buf = new Uint8Array(5);
      expect(writeVarint(buf, 0, value)).toBe(bytes);
      expect(varintBytes(value)).toBe(bytes);
      expect(readVarint(buf, 0, bytes)).toBe(value);
      if (bytes > 1) expect(readVarint(buf, 0, bytes - 1)).toBe(-1);
    }
    expect(() => readVarint(Uint8Array.of(0x80, 0x00), 0, 2)).toThrow(DecodeError);
    expect(() => readVarint(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x10), 0, 5)).toThrow(DecodeError);
    expect(() => readVarint(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x01), 0, 6)).toThrow(DecodeError);
  });

  it('HEADERS carry the method by index after its first use, metadata with its flag, the request with END', () => {
    const client = new MethodIndex();
    const server = new MethodIndex();
    const block = encodeMetadata({ token: 'secret' });
    const send = (flags: number, message?: Uint8Array) => {
      const fields = encodeCompactHeaders(client.reference('calc.v1/add'), methodBytes('calc.v1/add'), 500, (flags & FrameFlag.METADATA) !== 0 ? block : undefined);
      return decodeCompactHeaders(new Uint8Array([...fields, ...(message ?? [])]), flags, defaultLimits.maxMetadataBytes, server);
    };
    expect(send(FrameFlag.METADATA | FrameFlag.END, Uint8Array.of(0xc0))).toEqual({ method: 'calc.v1/add', timeoutMs: 500, metadata: { token: 'secret' }, message: Uint8Array.of(0xc0) });
    expect(send(0)).toMatchObject({ method: 'calc.v1/add', message: undefined });
    expect(() => decodeCompactHeaders(Uint8Array.of(9, 0), 0, 64, server)).toThrow(/index 9/);
    expect(() => decodeCompactHeaders(Uint8Array.of(1, 0, 7), 0, 64, server)).toThrow(DecodeError);
  });
});

describe('rpc: the wire says what PROTOCOL.md says', () => {
  it('messages are plain MessagePack: fixmaps, no extension types either way, undefined properties left out', () => {
    expect([...msgpackCodec.encode({ a: 1, b: 2 })]).toEqual([0x82, 0xa1, 0x61, 0x01, 0xa1, 0x62, 0x02]);
    expect(msgpackCodec.decode(msgpackCodec.encode({ a: undefined, b: 1 }))).toEqual({ b: 1 });
    for (const hex of ['d40000', 'd6ff00000000', '92c0d40000', 'c1']) expect(() => msgpackCodec.decode(Buffer.from(hex, 'hex')), hex).toThrow(DecodeError);
    expect(() => msgpackCodec.encode({ at: new Date(0) })).toThrow(/Date/);
  });

  it('CANCEL carries CANCELLED or DEADLINE_EXCEEDED, nothing else', () => {
    expect(decodeCancel(Uint8Array.of(Status.CANCELLED))).toBe(Status.CANCELLED);
    expect(decodeCancel(Uint8Array.of(Status.DEADLINE_EXCEEDED))).toBe(Status.DEADLINE_EXCEEDED);
    for (const status of [0, 2, 13, 255]) expect(() => decodeCancel(Uint8Array.of(status))).toThrow(DecodeError);
  });

  test('a request with an extension type is INVALID_ARGUMENT, and the connection lives on', 86, async (seed) => {
    const { sim, serverAddress } = rig({ seed });
    const peer = rawClient(sim, serverAddress, 1);
    await sim.runForAsync(10);
    peer().write(encodeFrame(FrameType.HEADERS, 0, 1, encodeHeaders('calc.v1/add', 0, encodeMetadata({}))));
    peer().write(encodeFrame(FrameType.MESSAGE, FrameFlag.END, 1, Buffer.from('82a161d6ff00000000a16201', 'hex')));
    await sim.runForAsync(50);
    const trailer = peer().frames.find((f) => f.type === FrameType.TRAILER);
    expect(trailer === undefined ? undefined : decodeTrailer(trailer.payload).status).toBe(Status.INVALID_ARGUMENT);
    expect(peer().closed).toBe(false);
  });
});
