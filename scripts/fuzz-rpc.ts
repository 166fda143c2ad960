/**
 * Long fuzz run of the RPC frame decoder and payload parsers: feeds random and mutated
 * byte streams, split at random points, and fails on anything but DecodeError.
 *
 *   npx tsx scripts/fuzz-rpc.ts [--inputs 1000000] [--seed 1]
 *
 * Prints one JSON line with the inputs run, the frames decoded, the errors seen and the time.
 */
import { parseArgs } from 'node:util';
import seedrandom from 'seedrandom';
import { DecodeError } from '../core/index.ts';
import {
  FrameDecoder, FrameFlag, FrameType, checkPing, decodeCancel, decodeGoaway, decodeHeaders, decodeTrailer, decodeWindowUpdate,
  defaultLimits, encodeCancel, encodeFrame, encodeGoaway, encodeHeaders, encodeMetadata, encodePreamble, encodeTrailer,
  encodeWindowUpdate, msgpackCodec,
} from '../core/rpc/index.ts';

const { values } = parseArgs({ options: { inputs: { type: 'string' }, seed: { type: 'string' } } });
const inputs = Number(values.inputs ?? 1_000_000);
const seed = values.seed ?? '1';
const rng = seedrandom(seed);
const int = (max: number) => Math.floor(rng() * max);

/** A small frame limit so length fields hit it often. */
const maxFrameBytes = 4_096;
const preamble = encodePreamble({ ...defaultLimits, maxFrameBytes });

const seeds: Uint8Array[] = [
  encodeFrame(FrameType.HEADERS, 0, 1, encodeHeaders('calc.v1/add', 500, encodeMetadata({ token: 'abc', 'x-trace': 'é' }))),
  encodeFrame(FrameType.MESSAGE, FrameFlag.END, 1, msgpackCodec.encode({ a: 1, b: [2, 3], c: 'x' })),
  encodeFrame(FrameType.HALF_CLOSE, 0, 1),
  encodeFrame(FrameType.TRAILER, FrameFlag.UNPROCESSED, 1, encodeTrailer(14, 'unavailable', msgpackCodec.encode({ retry: true }))),
  encodeFrame(FrameType.CANCEL, 0, 1, encodeCancel(1)),
  encodeFrame(FrameType.WINDOW_UPDATE, 0, 1, encodeWindowUpdate(65_536)),
  encodeFrame(FrameType.PING, 0, 0, new Uint8Array(8)),
  encodeFrame(FrameType.GOAWAY, 0, 0, encodeGoaway(7, 14, 'bye')),
];

function validStream(): Uint8Array {
  const parts = [preamble];
  for (let i = int(6); i >= 0; i--) parts.push(seeds[int(seeds.length)]!);
  return concat(parts);
}

function mutate(bytes: Uint8Array): Uint8Array {
  const out = Array.from(bytes);
  for (let i = 1 + int(4); i > 0; i--) {
    const at = int(out.length + 1);
    switch (int(5)) {
      case 0: out[at] = int(256); break;
      case 1: out[at] = (out[at] ?? 0) ^ (1 << int(8)); break;
      case 2: out.splice(at, 1 + int(8)); break;
      case 3: out.splice(at, 0, ...Array.from({ length: 1 + int(8) }, () => int(256))); break;
      default: out.length = Math.min(out.length, at); break;
    }
  }
  return Uint8Array.from(out);
}

function randomBytes(): Uint8Array {
  const bytes = new Uint8Array(int(96));
  for (let i = 0; i < bytes.length; i++) bytes[i] = int(256);
  return rng() < 0.5 ? concat([preamble, bytes]) : bytes;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Every decoded frame goes through the parser the session would use for it. */
function parsePayload(type: number, payload: Uint8Array): void {
  switch (type) {
    case FrameType.HEADERS: decodeHeaders(payload, defaultLimits.maxMetadataBytes); return;
    case FrameType.MESSAGE: msgpackCodec.decode(payload); return;
    case FrameType.TRAILER: decodeTrailer(payload); return;
    case FrameType.CANCEL: decodeCancel(payload); return;
    case FrameType.WINDOW_UPDATE: decodeWindowUpdate(payload); return;
    case FrameType.PING: checkPing(payload); return;
    case FrameType.GOAWAY: decodeGoaway(payload); return;
    default: return;
  }
}

let frames = 0;
let decodeErrors = 0;
const start = performance.now();
for (let n = 0; n < inputs; n++) {
  const choice = int(3);
  const bytes = choice === 0 ? randomBytes() : choice === 1 ? mutate(validStream()) : validStream();
  const framesBefore = frames;
  const decoder = new FrameDecoder(maxFrameBytes, {
    onPreamble: () => undefined,
    onFrame: (type, _flags, _callId, payload) => {
      frames++;
      parsePayload(type, payload);
    },
  });
  try {
    let offset = 0;
    while (offset < bytes.length) {
      const size = 1 + int(bytes.length - offset);
      decoder.push(bytes.subarray(offset, offset + size));
      offset += size;
    }
  } catch (error) {
    if (!(error instanceof DecodeError)) {
      console.error(`input ${n} (seed ${seed}) raised ${(error as Error)?.name}: ${(error as Error)?.message}\nbytes: ${Buffer.from(bytes).toString('hex')}`);
      process.exit(1);
    }
    decodeErrors++;
  }
  if (choice === 2 && frames === framesBefore) throw new Error(`input ${n} (seed ${seed}): a valid stream decoded to no frames`);
}
const wallMs = performance.now() - start;
console.log(JSON.stringify({ fuzz: 'rpc-frames', seed, inputs, framesDecoded: frames, decodeErrors, wallMs: Math.round(wallMs), inputsPerSec: Math.round(inputs / (wallMs / 1000)) }));
