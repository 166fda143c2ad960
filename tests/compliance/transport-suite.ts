import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConnectTimeoutError, ConnectionClosedError, ConnectionLostError, ConnectionRefusedError, ConnectionResetError,
  DatagramTooLargeError, InvalidArgumentError, StreamClosedError, StreamLimitError, StreamResetError,
  type Clock, type Connection, type Stream, type Transport, type TransportError,
} from '../../core/index.ts';

/**
 * The transport compliance suite: the semantics every `Transport` must have, run against
 * each implementation (the simulator's and the real QUIC one) through a harness.
 */
export interface TransportHarness {
  /** A new endpoint (host) with its own address. */
  endpoint(name: string): Promise<Transport>;
  /** Measures elapsed time (virtual in the simulator). */
  clock: Clock;
  /** Lets time pass. */
  advance(ms: number): Promise<void>;
  /** Lets time pass until `cond()` holds or `boundMs` elapsed; returns whether it held. */
  waitFor(cond: () => boolean, boundMs: number): Promise<boolean>;
  /** Kills an endpoint abruptly: no close is sent, its state is gone. */
  crash(name: string): Promise<void>;
  /** A dead peer must surface as a connection error within about this long. */
  idleTimeoutMs: number;
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/**
 * What a side writes just before it closes: many frame-sized writes (one coalesced batch
 * on QUIC) and one larger than QUIC's initial congestion window (about 14 KB), so part of
 * it is still unsent when the close comes.
 */
function closingWrites(label: string): Uint8Array[] {
  const small = Array.from({ length: 30 }, (_, i) => bytes(`${label} ${i};`));
  const large = new Uint8Array(64 * 1024).map((_, i) => (i * 13) & 0xff);
  return [...small, large, bytes(`${label} end`)];
}

/** A stream's observable history. */
interface Recorder {
  chunks: Uint8Array[];
  ended: boolean;
  closed: boolean;
  error: TransportError | undefined;
}

function record(stream: Stream): Recorder {
  const r: Recorder = { chunks: [], ended: false, closed: false, error: undefined };
  stream.onData = (d) => r.chunks.push(d.slice());
  stream.onEnd = () => (r.ended = true);
  stream.onClose = (e) => {
    r.closed = true;
    r.error = e;
  };
  return r;
}

/** Makes `server` echo every stream's bytes back and end when the client ends. */
function echoServer(server: Transport): { connections: Connection[] } {
  const state = { connections: [] as Connection[] };
  server.streams.onConnection = (conn) => {
    state.connections.push(conn);
    conn.onStream = (stream) => {
      stream.onData = (d) => {
        if (!stream.writeClosed) stream.write(d);
      };
      stream.onEnd = () => stream.end();
    };
  };
  return state;
}

export function describeTransportCompliance(name: string, makeHarness: () => Promise<TransportHarness>): void {
  describe(`transport compliance: ${name}`, () => {
    let h: TransportHarness;
    beforeEach(async () => {
      h = await makeHarness();
    });
    afterEach(async () => {
      await h.close();
    });

    it('delivers a datagram intact with the sender address', async () => {
      const a = await h.endpoint('a');
      const b = await h.endpoint('b');
      const got: { from: string; payload: Uint8Array }[] = [];
      b.datagrams.onDatagram = (from, payload) => got.push({ from, payload: payload.slice() });
      a.datagrams.send(b.localAddress, bytes('ping'));
      expect(await h.waitFor(() => got.length > 0, 2_000)).toBe(true);
      expect(got[0]!.from).toBe(a.localAddress);
      expect(new TextDecoder().decode(got[0]!.payload)).toBe('ping');
    });

    it('refuses oversized datagrams and malformed addresses with typed errors', async () => {
      const a = await h.endpoint('a');
      const b = await h.endpoint('b');
      expect(a.datagrams.maxDatagramBytes).toBeGreaterThanOrEqual(512);
      a.datagrams.send(b.localAddress, new Uint8Array(a.datagrams.maxDatagramBytes));
      expect(() => a.datagrams.send(b.localAddress, new Uint8Array(a.datagrams.maxDatagramBytes + 1))).toThrow(DatagramTooLargeError);
      expect(() => a.datagrams.send('not an address', bytes('x'))).toThrow(InvalidArgumentError);
      expect(() => a.streams.connect('nohost')).toThrow(InvalidArgumentError);
    });

    it('echoes bytes over a stream in order, then closes cleanly on both sides', async () => {
      const a = await h.endpoint('a');
      const b = await h.endpoint('b');
      const server = echoServer(b);
      const conn = a.streams.connect(b.localAddress);
      let opened = false;
      conn.onOpen = () => (opened = true);
      const stream = conn.openStream();
      const r = record(stream);
      const sent: Uint8Array[] = [];
      for (let i = 0; i < 50; i++) {
        const chunk = bytes(`message ${i};`);
        sent.push(chunk);
        stream.write(chunk);
      }
      stream.end();
      expect(stream.writeClosed).toBe(true);
      expect(() => stream.write(bytes('late'))).toThrow(StreamClosedError);
      expect(await h.waitFor(() => r.closed, 5_000)).toBe(true);
      expect(opened).toBe(true);
      expect(r.ended).toBe(true);
      expect(r.error).toBeUndefined();
      expect(concat(r.chunks)).toEqual(concat(sent));
      expect(server.connections).toHaveLength(1);
      expect(conn.state).toBe('open');
      expect(conn.openStreamCount).toBe(0);
    });

    it('keeps each of many concurrent streams in its own order', async () => {
      const a = await h.endpoint('a');
      const b = await h.endpoint('b');
      echoServer(b);
      const conn = a.streams.connect(b.localAddress);
      const streams = Array.from({ length: 20 }, (_, i) => ({ i, stream: conn.openStream() }));
      const recorders = streams.map(({ stream }) => record(stream));
      for (let round = 0; round < 10; round++) {
        for (const { i, stream } of streams) stream.write(bytes(`${i}:${round},`));
      }
      for (const { stream } of streams) stream.end();
      expect(await h.waitFor(() => recorders.every((r) => r.closed), 5_000)).toBe(true);
      recorders.forEach((r, i) => {
        const expected = Array.from({ length: 10 }, (_, round) => `${i}:${round},`).join('');
        expect(new TextDecoder().decode(concat(r.chunks))).toBe(expected);
      });
    });

    it('carries a large write intact', async () => {
      const a = await h.endpoint('a');
      const b = await h.endpoint('b');
      echoServer(b);
      const stream = a.streams.connect(b.localAddress).openStream();
      const r = record(stream);
      const big = new Uint8Array(256 * 1024).map((_, i) => (i * 7) & 0xff);
      stream.write(big);
      stream.end();
      expect(await h.waitFor(() => r.closed, 10_000)).toBe(true);
      // Compared as buffers: a deep-equality diff of 256 KiB is needlessly slow.
      expect(Buffer.from(concat(r.chunks)).equals(Buffer.from(big))).toBe(true);
    });

    it('lets the other side keep writing after a half-close', async () => {
      const a = await h.endpoint('a');
      const b = await h.endpoint('b');
      let serverSide: Recorder | undefined;
      let serverStream: Stream | undefined;
      b.streams.onConnection = (conn) => {
        conn.onStream = (s) => {
          serverStream = s;
          serverSide = record(s);
        };
      };
      const stream = a.streams.connect(b.localAddress).openStream();
      const r = record(stream);
      stream.write(bytes('request'));
      stream.end();
      expect(await h.waitFor(() => serverSide?.ended === true, 5_000)).toBe(true);
      expect(new TextDecoder().decode(concat(serverSide!.chunks))).toBe('request');
      serverStream!.write(bytes('reply part 1;'));
      serverStream!.write(bytes('reply part 2'));
      serverStream!.end();
      expect(await h.waitFor(() => r.closed && serverSide!.closed, 5_000)).toBe(true);
      expect(new TextDecoder().decode(concat(r.chunks))).toBe('reply part 1;reply part 2');
      expect(r.error).toBeUndefined();
      expect(serverSide!.error).toBeUndefined();
    });

    it('surfaces a reset to the peer as StreamResetError with the code', async () => {
      const a = await h.endpoint('a');
      const b = await h.endpoint('b');
      let serverSide: Recorder | undefined;
      b.streams.onConnection = (conn) => {
        conn.onStream = (s) => {
          serverSide = record(s);
        };
      };
      const stream = a.streams.connect(b.localAddress).openStream();
      const r = record(stream);
      stream.write(bytes('x'));
      expect(await h.waitFor(() => serverSide !== undefined && serverSide.chunks.length > 0, 5_000)).toBe(true);
      stream.reset(42);
      expect(r.closed).toBe(true);
      expect(r.error).toBeUndefined();
      expect(() => stream.write(bytes('y'))).toThrow(StreamClosedError);
      expect(await h.waitFor(() => serverSide!.closed, 5_000)).toBe(true);
      expect(serverSide!.error).toBeInstanceOf(StreamResetError);
      expect((serverSide!.error as StreamResetError).resetCode).toBe(42);
    });

    it('closes the peer and its streams with ConnectionClosedError on a graceful close', async () => {
      const a = await h.endpoint('a');
      const b = await h.endpoint('b');
      let serverConn: Connection | undefined;
      b.streams.onConnection = (conn) => {
        serverConn = conn;
        conn.onStream = (s) => {
          s.onData = () => undefined;
        };
      };
      const conn = a.streams.connect(b.localAddress);
      const stream = conn.openStream();
      const r = record(stream);
      stream.write(bytes('hello'));
      expect(await h.waitFor(() => serverConn !== undefined, 5_000)).toBe(true);
      let clientClose: { error: TransportError | undefined } | undefined;
      conn.onClose = (error) => (clientClose = { error });
      let serverClose: { error: TransportError | undefined } | undefined;
      serverConn!.onClose = (error) => (serverClose = { error });
      await h.advance(50);
      conn.close();
      expect(conn.state).toBe('closed');
      expect(clientClose).toEqual({ error: undefined });
      expect(r.closed).toBe(true);
      expect(r.error).toBeInstanceOf(ConnectionClosedError);
      expect(() => conn.openStream()).toThrow(ConnectionClosedError);
      expect(await h.waitFor(() => serverClose !== undefined, 5_000)).toBe(true);
      expect(serverClose!.error).toBeInstanceOf(ConnectionClosedError);
    });

    it('delivers everything written before a graceful close, in both directions', async () => {
      const a = await h.endpoint('a');
      const b = await h.endpoint('b');
      const request = bytes('close after this;');
      const reply = closingWrites('reply');
      let serverSide: Recorder | undefined;
      let serverClose: TransportError | undefined | null = null;
      b.streams.onConnection = (conn) => {
        conn.onClose = (error) => (serverClose = error);
        conn.onStream = (s) => {
          serverSide = record(s);
          const onData = s.onData!;
          s.onData = (d) => {
            onData(d);
            if (concat(serverSide!.chunks).length < request.length) return;
            // The reply and the close in one turn: nothing has left this side yet.
            for (const chunk of reply) s.write(chunk);
            conn.close();
          };
        };
      };
      const conn = a.streams.connect(b.localAddress);
      let clientClose: TransportError | undefined | null = null;
      conn.onClose = (error) => (clientClose = error);
      const stream = conn.openStream();
      const r = record(stream);
      stream.write(request);
      expect(await h.waitFor(() => clientClose !== null, 10_000)).toBe(true);
      expect(clientClose).toBeInstanceOf(ConnectionClosedError);
      expect(serverClose).toBeUndefined();
      expect(Buffer.from(concat(r.chunks)).equals(Buffer.from(concat(reply)))).toBe(true);
      expect(new TextDecoder().decode(concat(serverSide!.chunks))).toBe('close after this;');

      let uploaded: Recorder | undefined;
      b.streams.onConnection = (c) => {
        c.onStream = (s) => {
          uploaded = record(s);
        };
      };
      const second = a.streams.connect(b.localAddress);
      const upload = closingWrites('upload');
      const out = second.openStream();
      expect(await h.waitFor(() => second.state === 'open', 5_000)).toBe(true);
      for (const chunk of upload) out.write(chunk);
      second.close();
      expect(await h.waitFor(() => uploaded?.closed === true, 10_000)).toBe(true);
      expect(uploaded!.error).toBeInstanceOf(ConnectionClosedError);
      expect(Buffer.from(concat(uploaded!.chunks)).equals(Buffer.from(concat(upload)))).toBe(true);
    });

    it('delivers bytes written and closed before the handshake finished', async () => {
      const a = await h.endpoint('a');
      const b = await h.endpoint('b');
      let serverSide: Recorder | undefined;
      b.streams.onConnection = (c) => {
        c.onStream = (s) => {
          serverSide = record(s);
        };
      };
      const conn = a.streams.connect(b.localAddress);
      const stream = conn.openStream();
      stream.write(bytes('early bird'));
      conn.close();
      expect(conn.state).toBe('closed');
      expect(await h.waitFor(() => serverSide?.closed === true, 10_000)).toBe(true);
      expect(new TextDecoder().decode(concat(serverSide!.chunks))).toBe('early bird');
    });

    it('aborts at once: the peer hears of it without ending its side', async () => {
      const a = await h.endpoint('a');
      const b = await h.endpoint('b');
      let serverClose: TransportError | undefined | null = null;
      b.streams.onConnection = (c) => {
        c.onClose = (error) => (serverClose = error);
        c.onStream = (s) => {
          s.onData = () => undefined;
        };
      };
      const conn = a.streams.connect(b.localAddress);
      const stream = conn.openStream();
      const r = record(stream);
      stream.write(bytes('hello'));
      expect(await h.waitFor(() => conn.state === 'open', 5_000)).toBe(true);
      await h.advance(50);
      let clientClose: { error: TransportError | undefined } | undefined;
      conn.onClose = (error) => (clientClose = { error });
      conn.abort();
      expect(conn.state).toBe('closed');
      expect(clientClose).toEqual({ error: undefined });
      expect(r.error).toBeInstanceOf(ConnectionClosedError);
      // A graceful close would wait (QUIC: up to closeFlushTimeoutMs) for this peer, which never ends its stream.
      expect(await h.waitFor(() => serverClose !== null, 1_000)).toBe(true);
      expect(serverClose).toBeInstanceOf(ConnectionClosedError);
    });

    it('reports a crashed peer as a connection error within the idle timeout bound', async () => {
      const a = await h.endpoint('a');
      const b = await h.endpoint('b');
      echoServer(b);
      const conn = a.streams.connect(b.localAddress);
      const stream = conn.openStream();
      const r = record(stream);
      stream.write(bytes('before crash'));
      expect(await h.waitFor(() => r.chunks.length > 0, 5_000)).toBe(true);
      let closed: TransportError | undefined | null = null;
      conn.onClose = (error) => (closed = error);
      const crashedAt = h.clock.now();
      await h.crash('b');
      const bound = h.idleTimeoutMs * 1.5 + 1_000;
      expect(await h.waitFor(() => closed !== null, bound)).toBe(true);
      const tookMs = h.clock.now() - crashedAt;
      expect(tookMs).toBeLessThanOrEqual(bound);
      expect(closed === null ? undefined : closed).toSatisfy((e: unknown) => e instanceof ConnectionLostError || e instanceof ConnectionResetError);
      expect(r.closed).toBe(true);
      expect(r.error).toBeDefined();
    });

    it('fails a connection to an address where nobody answers', async () => {
      const a = await h.endpoint('a');
      const b = await h.endpoint('b');
      const address = b.localAddress;
      await h.crash('b');
      const conn = a.streams.connect(address);
      let closed: TransportError | undefined | null = null;
      conn.onClose = (error) => (closed = error);
      expect(await h.waitFor(() => closed !== null, h.idleTimeoutMs * 2 + 1_000)).toBe(true);
      expect(closed === null ? undefined : closed).toSatisfy((e: unknown) => e instanceof ConnectTimeoutError || e instanceof ConnectionRefusedError || e instanceof ConnectionLostError);
      expect(conn.state).toBe('closed');
    });

    it('refuses streams beyond the peer credit with StreamLimitError', async () => {
      const a = await h.endpoint('a');
      const b = await h.endpoint('b');
      echoServer(b);
      const conn = a.streams.connect(b.localAddress);
      const max = conn.maxStreams;
      expect(max).toBeGreaterThan(0);
      if (max > 4096) return;
      const streams: Stream[] = [];
      for (let i = 0; i < max; i++) streams.push(conn.openStream());
      expect(conn.openStreamCount).toBe(max);
      expect(() => conn.openStream()).toThrow(StreamLimitError);
      streams[0]!.reset(0);
      expect(conn.openStreamCount).toBe(max - 1);
      expect(() => conn.openStream()).not.toThrow();
    });
  });
}
