import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../core/index.ts';
import {
  FrameDecoder, FrameFlag, FrameType, Status, decodeGoaway, decodeHeaders, decodeMetadata, decodeTrailer, decodeWindowUpdate,
  defaultLimits, encodeFrame, encodeHeaders, encodeMetadata, encodePreamble, msgpackCodec, type FrameTypeCode,
} from '../../core/rpc/index.ts';
import type { Simulation } from '../../sim/index.ts';
import { rig, settle, simTest } from './helpers.ts';

const test = simTest('tests/rpc/bad-input.test.ts');

interface Frame {
  type: number;
  flags: number;
  callId: number;
  payload: Uint8Array;
}

function decodeAll(chunks: Uint8Array[], maxFrameBytes = defaultLimits.maxFrameBytes): Frame[] {
  const frames: Frame[] = [];
  const decoder = new FrameDecoder(maxFrameBytes, {
    onPreamble: () => undefined,
    onFrame: (type, flags, callId, payload) => frames.push({ type, flags, callId, payload: payload.slice() }),
  });
  for (const chunk of chunks) decoder.push(chunk);
  return frames;
}

function onlyDecodeErrors(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof DecodeError)) throw error;
  }
}

const frameArb = fc.record({
  type: fc.integer({ min: 1, max: 12 }),
  flags: fc.integer({ min: 0, max: 255 }),
  callId: fc.integer({ min: 1, max: 0xffff_ffff }),
  payload: fc.uint8Array({ maxLength: 64 }),
}).map((f) => ((f.type === FrameType.PING || f.type === FrameType.GOAWAY) ? { ...f, callId: 0 } : f.type === FrameType.HALF_CLOSE ? { ...f, payload: new Uint8Array(0) } : f));

function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let last = 0;
  for (const p of points) {
    out.push(bytes.subarray(last, p));
    last = p;
  }
  out.push(bytes.subarray(last));
  return out;
}

describe('rpc frame decoder (property tests)', () => {
  it('frames survive any split of the byte stream', () => {
    fc.assert(fc.property(fc.array(frameArb, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (frames, cuts) => {
      const wire = [encodePreamble(defaultLimits), ...frames.map((f) => encodeFrame(f.type as FrameTypeCode, f.flags, f.callId, f.payload))];
      const bytes = new Uint8Array(wire.reduce((n, w) => n + w.length, 0));
      let offset = 0;
      for (const w of wire) {
        bytes.set(w, offset);
        offset += w.length;
      }
      expect(decodeAll(split(bytes, cuts))).toEqual(frames);
    }), { numRuns: 300 });
  });

  it('arbitrary bytes, with or without a valid preamble, only ever raise DecodeError', () => {
    fc.assert(fc.property(fc.boolean(), fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 5 }), (preamble, junk, cuts) => {
      const bytes = preamble ? new Uint8Array([...encodePreamble(defaultLimits), ...junk]) : junk;
      onlyDecodeErrors(() => decodeAll(split(bytes, cuts), 64));
    }), { numRuns: 500 });
  });

  it('payload parsers reject malformed payloads with DecodeError only', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (payload) => {
      onlyDecodeErrors(() => decodeHeaders(payload, 64));
      onlyDecodeErrors(() => decodeTrailer(payload));
      onlyDecodeErrors(() => decodeGoaway(payload));
      onlyDecodeErrors(() => decodeMetadata(payload));
      onlyDecodeErrors(() => decodeWindowUpdate(payload));
      onlyDecodeErrors(() => msgpackCodec.decode(payload));
    }), { numRuns: 500 });
  });

  it('an oversized frame is refused from its header, before its payload arrives', () => {
    const header = encodeFrame(FrameType.MESSAGE, 0, 1).slice();
    header[0] = 0x7f;
    expect(() => decodeAll([encodePreamble(defaultLimits), header])).toThrow(DecodeError);
  });
});

/** A hand-driven peer that speaks raw frames to the server and records what comes back. */
interface RawPeer {
  write(bytes: Uint8Array): void;
  frames: Frame[];
  closed: boolean;
}

function rawPeer(sim: Simulation, name: string, to: string): () => RawPeer {
  sim.host(name, (ctx) => {
    const connection = ctx.transport.streams.connect(to);
    const stream = connection.openStream();
    const peer: RawPeer = { write: (bytes) => stream.write(bytes), frames: [], closed: false };
    const decoder = new FrameDecoder(defaultLimits.maxFrameBytes, {
      onPreamble: () => undefined,
      onFrame: (type, flags, callId, payload) => peer.frames.push({ type, flags, callId, payload: payload.slice() }),
    });
    stream.onData = (data) => decoder.push(data);
    connection.onClose = () => (peer.closed = true);
    return peer;
  });
  return () => sim.app<RawPeer>(name)!;
}

const headers = (callId: number, method: string) => encodeFrame(FrameType.HEADERS, 0, callId, encodeHeaders(method, 0, encodeMetadata({})));
const message = (callId: number, payload: Uint8Array, flags = FrameFlag.END) => encodeFrame(FrameType.MESSAGE, flags, callId, payload);
const trailerStatus = (frame: Frame | undefined) => (frame === undefined ? undefined : decodeTrailer(frame.payload).status);

describe('rpc: bad input from a peer in the simulator', () => {
  test('bad calls get typed trailers; late frames are ignored; the connection keeps working', 51, async (seed) => {
    const { sim, serverAddress } = rig({ seed });
    const peer = rawPeer(sim, 'raw', serverAddress);
    peer().write(encodePreamble(defaultLimits));
    peer().write(headers(1, 'calc.v1/nope'));
    peer().write(headers(2, 'calc.v1/add'));
    peer().write(message(2, Uint8Array.of(0x85, 0xa1)));
    peer().write(headers(3, 'calc.v1/add'));
    peer().write(encodeFrame(FrameType.HALF_CLOSE, 0, 3));
    await sim.runForAsync(50);
    // Frames after the trailer of calls 1–3, then a good call.
    peer().write(message(2, msgpackCodec.encode({ a: 1, b: 1 })));
    peer().write(encodeFrame(FrameType.WINDOW_UPDATE, 0, 1, Uint8Array.of(0, 0, 1, 0)));
    peer().write(headers(4, 'calc.v1/add'));
    peer().write(message(4, msgpackCodec.encode({ a: 20, b: 22 })));
    await sim.runForAsync(50);
    const byCall = (id: number) => peer().frames.filter((f) => f.callId === id);
    expect(trailerStatus(byCall(1)[0])).toBe(Status.UNIMPLEMENTED);
    expect(byCall(1)[0]!.flags & FrameFlag.UNPROCESSED).toBe(FrameFlag.UNPROCESSED);
    expect(trailerStatus(byCall(2)[0])).toBe(Status.INVALID_ARGUMENT);
    expect(trailerStatus(byCall(3)[0])).toBe(Status.INVALID_ARGUMENT);
    expect(byCall(4).map((f) => f.type)).toEqual([FrameType.MESSAGE, FrameType.TRAILER]);
    expect(msgpackCodec.decode(byCall(4)[0]!.payload)).toEqual({ sum: 42 });
    expect(peer().closed).toBe(false);
  });

  for (const [name, seed, bytes] of [
    ['a frame for a call that was never started', 52, () => message(99, msgpackCodec.encode({}))],
    ['an oversized frame', 53, () => encodeFrame(FrameType.MESSAGE, 0, 1, new Uint8Array(defaultLimits.maxFrameBytes + 1))],
    ['a malformed HEADERS frame', 54, () => encodeFrame(FrameType.HEADERS, 0, 1, Uint8Array.of(0, 200, 1))],
    ['a reused call id', 55, () => new Uint8Array([...headers(1, 'calc.v1/add'), ...headers(1, 'calc.v1/add')])],
    ['a PING with a call id', 56, () => encodeFrame(FrameType.PING, 0, 7, new Uint8Array(8))],
  ] as const) {
    test(`${name} closes only the offending connection`, seed, async (s) => {
      const { sim, serverAddress, calc } = rig({ seed: s });
      const peer = rawPeer(sim, 'raw', serverAddress);
      const healthy = calc().slow({ ms: 200 });
      peer().write(encodePreamble(defaultLimits));
      peer().write(bytes());
      await sim.runForAsync(50);
      expect(peer().closed).toBe(true);
      const goaway = peer().frames.find((f) => f.type === FrameType.GOAWAY);
      expect(goaway === undefined ? undefined : decodeGoaway(goaway.payload).status).toBe(Status.INTERNAL);
      expect(await settle(sim, healthy)).toEqual({ ok: true, value: { done: true } });
      expect(sim.isUp('server')).toBe(true);
    });
  }

  test('a bad preamble or a truncated frame never disturbs the server', 57, async (seed) => {
    const { sim, serverAddress, calc } = rig({ seed, server: { limits: { idleTimeoutMs: 1_000 } } });
    const liar = rawPeer(sim, 'liar', serverAddress);
    const stutter = rawPeer(sim, 'stutter', serverAddress);
    liar().write(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: example.org\r\n\r\n'));
    stutter().write(encodePreamble(defaultLimits));
    stutter().write(encodeFrame(FrameType.MESSAGE, 0, 1, new Uint8Array(100)).subarray(0, 20));
    await sim.runForAsync(50);
    expect(liar().closed).toBe(true);
    expect(stutter().closed).toBe(false);
    await sim.runForAsync(1_100);
    expect(stutter().closed).toBe(true);
    expect(await settle(sim, calc().add({ a: 1, b: 2 }))).toEqual({ ok: true, value: { sum: 3 } });
  });
});

describe('rpc: forward compatibility', () => {
  test('frames of unknown types are skipped, whatever their call id', 58, async (seed) => {
    const { sim, serverAddress } = rig({ seed });
    const peer = rawPeer(sim, 'raw', serverAddress);
    peer().write(encodePreamble(defaultLimits));
    peer().write(encodeFrame(200 as FrameTypeCode, 0xff, 12345, Uint8Array.of(1, 2, 3)));
    peer().write(headers(1, 'calc.v1/add'));
    peer().write(message(1, msgpackCodec.encode({ a: 2, b: 3 })));
    await sim.runForAsync(50);
    expect(peer().closed).toBe(false);
    expect(msgpackCodec.decode(peer().frames.find((f) => f.type === FrameType.MESSAGE)!.payload)).toEqual({ sum: 5 });
  });
});
