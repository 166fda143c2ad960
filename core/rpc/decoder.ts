import { DecodeError } from '../errors.ts';
import { readU32 } from './bytes.ts';
import { compactVersion, readCompactHeader, type CompactHeader } from './compact.ts';
import { checkFrameHeader, decodePreamble, type Preamble } from './frame.ts';
import { frameHeaderBytes, preambleBytes } from './limits.ts';

export interface DecodedFrameSink {
  /** The peer's preamble; returns the protocol version of the frames that follow (nothing: 1). */
  onPreamble(preamble: Preamble): number | void;
  /** `payload` is a view that stays valid (nothing reuses its bytes). */
  onFrame(type: number, flags: number, callId: number, payload: Uint8Array): void;
}

/**
 * Cuts a byte stream (writes split or joined arbitrarily) into the preamble and then
 * frames. Throws DecodeError on a bad preamble or an oversized or malformed frame header;
 * after a throw, or after `halt()`, it ignores further input.
 *
 * Partial input is kept as a list of chunks and joined once a whole frame is there, so a
 * large frame arriving in many small pieces costs one copy, not one per piece.
 */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private bufferedBytes = 0;
  /** Bytes needed before parsing is worth trying again. */
  private neededBytes = preambleBytes;
  private preambleSeen = false;
  private halted = false;
  /** Version 2 (compact headers) once the preamble said so. */
  private compact = false;
  private readonly header: CompactHeader = { length: 0, type: 0, flags: 0, callId: 0, bytes: 0 };

  constructor(private readonly maxFrameBytes: number, private readonly sink: DecodedFrameSink) {}

  /** Bytes held waiting for the rest of a frame (bounded by one frame). */
  get buffered(): number {
    return this.bufferedBytes;
  }

  halt(): void {
    this.halted = true;
    this.chunks = [];
    this.bufferedBytes = 0;
  }

  push(chunk: Uint8Array): void {
    if (this.halted || chunk.length === 0) return;
    this.bufferedBytes += chunk.length;
    if (this.bufferedBytes < this.neededBytes) {
      this.chunks.push(owned(chunk));
      return;
    }
    this.chunks.push(chunk);
    const buf = this.chunks.length === 1 ? this.chunks[0]! : join(this.chunks, this.bufferedBytes);
    this.chunks = [];
    this.bufferedBytes = 0;
    try {
      this.parse(buf);
    } catch (error) {
      this.halt();
      throw error;
    }
  }

  private parse(buf: Uint8Array): void {
    let offset = 0;
    if (!this.preambleSeen) {
      this.preambleSeen = true;
      this.compact = (this.sink.onPreamble(decodePreamble(buf.subarray(0, preambleBytes))) ?? 1) >= compactVersion;
      offset = preambleBytes;
    }
    // A compact frame can be as short as 3 bytes.
    this.neededBytes = this.compact ? 1 : frameHeaderBytes;
    while (!this.halted) {
      const frameBytes = this.compact ? this.compactFrameAt(buf, offset) : this.frameAt(buf, offset);
      if (frameBytes === 0) break;
      const header = this.header;
      checkFrameHeader(header.type, header.callId, header.length);
      const start = offset + header.bytes;
      offset = start + header.length;
      this.sink.onFrame(header.type, header.flags, header.callId, buf.subarray(start, offset));
    }
    if (!this.halted && offset < buf.length) {
      this.chunks.push(owned(buf.subarray(offset)));
      this.bufferedBytes = buf.length - offset;
    }
  }

  /** Reads a version 1 header at `offset` into `header`: the whole frame's bytes, or 0 (and `neededBytes`) when it is not all there. */
  private frameAt(buf: Uint8Array, offset: number): number {
    const available = buf.length - offset;
    if (available < frameHeaderBytes) return 0;
    const length = this.checkedLength(readU32(buf, offset));
    if (available < frameHeaderBytes + length) {
      this.neededBytes = frameHeaderBytes + length;
      return 0;
    }
    const header = this.header;
    header.length = length;
    header.type = buf[offset + 4]!;
    header.flags = buf[offset + 5]!;
    header.callId = readU32(buf, offset + 6);
    header.bytes = frameHeaderBytes;
    return frameHeaderBytes + length;
  }

  /** The same for a version 2 (compact) header. */
  private compactFrameAt(buf: Uint8Array, offset: number): number {
    const available = buf.length - offset;
    const header = this.header;
    if (!readCompactHeader(buf, offset, header)) {
      this.neededBytes = available + 1;
      return 0;
    }
    const frameBytes = header.bytes + this.checkedLength(header.length);
    if (available < frameBytes) {
      this.neededBytes = frameBytes;
      return 0;
    }
    return frameBytes;
  }

  private checkedLength(length: number): number {
    if (length > this.maxFrameBytes) throw new DecodeError(`frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`);
    return length;
  }
}

/**
 * The chunk itself, or a copy when it is a small view of a larger buffer (a slice of
 * Node's 8 KiB Buffer pool, the tail of a joined batch): kept as it is, it would pin the
 * whole buffer, and a partial frame in 1 KiB pieces would hold several times its size.
 */
function owned(chunk: Uint8Array): Uint8Array {
  return chunk.byteLength * 2 > chunk.buffer.byteLength ? chunk : Uint8Array.prototype.slice.call(chunk);
}

function join(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
