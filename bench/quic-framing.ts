/**
 * The framing every multiplexed variant of the QUIC benchmark shares: `length (u32) |
 * call id (u32) | payload`, replies echo the frame. Coalescing batches the frames written
 * within one event-loop turn into one write.
 */

export const frameHeaderBytes = 8;
/** Largest frame accepted by the parser: a corrupted length must not allocate without bound. */
export const frameBytesMax = 64 * 1024;

export function encodeFrame(callId: number, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(frameHeaderBytes + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeUInt32BE(callId, 4);
  frame.set(payload, frameHeaderBytes);
  return frame;
}

/** Splits a byte stream into whole frames; `onFrame` gets the call id and the whole frame. */
export class FrameParser {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (callId: number, frame: Buffer) => void) {}

  push(data: Uint8Array): void {
    this.buffered = this.buffered.length === 0 ? Buffer.from(data) : Buffer.concat([this.buffered, data]);
    let offset = 0;
    while (this.buffered.length - offset >= frameHeaderBytes) {
      const length = this.buffered.readUInt32BE(offset);
      if (length > frameBytesMax) throw new Error(`frame of ${length} bytes exceeds ${frameBytesMax}`);
      const end = offset + frameHeaderBytes + length;
      if (end > this.buffered.length) break;
      this.onFrame(this.buffered.readUInt32BE(offset + 4), this.buffered.subarray(offset, end));
      offset = end;
    }
    this.buffered = this.buffered.subarray(offset);
  }
}

/** Batches writes of one event-loop turn into one call of `write`. */
export class Coalescer {
  private pending: Buffer[] = [];
  private scheduled = false;

  constructor(private readonly write: (batch: Buffer) => void) {}

  push(frame: Buffer): void {
    this.pending.push(frame);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const batch = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
      this.pending = [];
      this.write(batch);
    });
  }
}

/** Client side of a multiplexed echo protocol: `call()` resolves when its reply frame arrives. */
export class FramedCaller {
  private nextCallId = 1;
  private readonly waiting = new Map<number, () => void>();
  readonly parser = new FrameParser((callId) => {
    const resolve = this.waiting.get(callId);
    this.waiting.delete(callId);
    resolve?.();
  });

  constructor(private readonly send: (frame: Buffer) => void, private readonly payload: Uint8Array) {}

  call(): Promise<void> {
    const callId = this.nextCallId++;
    return new Promise((resolve) => {
      this.waiting.set(callId, resolve);
      this.send(encodeFrame(callId, this.payload));
    });
  }
}
