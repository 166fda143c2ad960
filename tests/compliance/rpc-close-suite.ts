import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Env } from '../../core/index.ts';
import {
  FrameDecoder, FrameType, RpcClient, RpcServer, Status, decodeGoaway, defaultLimits, defineService, encodeFrame, encodePreamble,
  serverStream, type GoawayPayload,
} from '../../core/rpc/index.ts';

/**
 * The close/flush rule seen from RPC (docs/PROTOCOL.md §8, §9): what a side wrote before it
 * closed a connection (a GOAWAY, the last messages and trailers of a drain, a preamble)
 * reaches the peer. Run over every transport through a harness.
 */
export interface RpcCloseHarness {
  /** A new host with its own environment (clock, transport, ...). */
  env(name: string): Promise<Env>;
  /** Lets time pass until `cond()` holds or `boundMs` elapsed; returns whether it held. */
  waitFor(cond: () => boolean, boundMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export const Ticker = defineService('ticker.v1', {
  count: serverStream<{ n: number; everyMs: number }, { i: number }>(),
});

/** Messages of the stream that finishes inside the drain (the issue saw 29 of 30 and no trailer). */
export const drainedMessages = 30;

/** Serves `Ticker` on the environment's transport: `count` streams `n` messages, `everyMs` apart. */
export function ticker(env: Env): RpcServer {
  const pause = (ms: number) => new Promise<void>((resolve) => env.clock.setTimer(ms, resolve));
  return new RpcServer(env).register(Ticker, {
    async *count({ n, everyMs }) {
      for (let i = 0; i < n; i++) {
        if (i > 0) await pause(everyMs);
        // The last message and the trailer leave in one turn, right before the drain closes the connection.
        yield { i };
      }
    },
  }).listen();
}

/** A client that speaks raw bytes and decodes what the server answers. */
interface RawPeer {
  write(bytes: Uint8Array): void;
  preambles: number;
  goaways: GoawayPayload[];
  closed: boolean;
}

function rawPeer(env: Env, to: string): RawPeer {
  const connection = env.transport.streams.connect(to);
  const stream = connection.openStream();
  const peer: RawPeer = { write: (bytes) => stream.write(bytes), preambles: 0, goaways: [], closed: false };
  const decoder = new FrameDecoder(defaultLimits.maxFrameBytes, {
    onPreamble: () => peer.preambles++,
    onFrame: (type, _flags, _callId, payload) => {
      if (type === FrameType.GOAWAY) peer.goaways.push(decodeGoaway(payload));
    },
  });
  stream.onData = (data) => decoder.push(data);
  // As an RPC session does: the server ended the stream, so this side closes too.
  stream.onEnd = () => connection.close();
  connection.onClose = () => (peer.closed = true);
  return peer;
}

export function describeRpcCloseCompliance(name: string, makeHarness: () => Promise<RpcCloseHarness>): void {
  describe(`rpc close/flush: ${name}`, () => {
    let h: RpcCloseHarness;
    beforeEach(async () => {
      h = await makeHarness();
    });
    afterEach(async () => {
      await h.close();
    });

    it('a server stream that finishes inside the shutdown drain delivers every message and the OK trailer', async () => {
      const serverEnv = await h.env('server');
      const server = ticker(serverEnv);
      const client = new RpcClient(await h.env('client'));
      const received: number[] = [];
      let outcome: 'OK' | Error | undefined;
      void (async () => {
        for await (const { i } of client.service(Ticker, serverEnv.transport.localAddress).count({ n: drainedMessages, everyMs: 2 })) received.push(i);
      })().then(() => (outcome = 'OK'), (error: Error) => (outcome = error));
      expect(await h.waitFor(() => received.length > 0, 10_000)).toBe(true);
      let drained = false;
      void server.shutdown({ deadlineMs: 10_000 }).then(() => (drained = true));
      expect(await h.waitFor(() => outcome !== undefined && drained, 10_000)).toBe(true);
      expect(outcome).toBe('OK');
      expect(received).toEqual([...Array(drainedMessages).keys()]);
    });

    it("a protocol violation's GOAWAY reaches the peer before the close", async () => {
      const serverEnv = await h.env('server');
      ticker(serverEnv);
      const peer = rawPeer(await h.env('raw'), serverEnv.transport.localAddress);
      peer.write(encodePreamble(defaultLimits));
      peer.write(encodeFrame(FrameType.PING, 0, 7, new Uint8Array(8)));
      expect(await h.waitFor(() => peer.closed, 10_000)).toBe(true);
      expect(peer.preambles).toBe(1);
      expect(peer.goaways).toHaveLength(1);
      expect(peer.goaways[0]!.status).toBe(Status.INTERNAL);
      expect(peer.goaways[0]!.message).toMatch(/^protocol violation: /);
    });

    it('a rejected preamble is answered with the server preamble and a GOAWAY', async () => {
      const serverEnv = await h.env('server');
      ticker(serverEnv);
      const peer = rawPeer(await h.env('raw'), serverEnv.transport.localAddress);
      peer.write(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: example.org\r\n\r\n'));
      expect(await h.waitFor(() => peer.closed, 10_000)).toBe(true);
      expect(peer.preambles).toBe(1);
      expect(peer.goaways.map((g) => [g.status, g.lastCallId])).toEqual([[Status.INTERNAL, 0]]);
      expect(peer.goaways[0]!.message).toMatch(/^protocol violation: .*preamble/i);
    });
  });
}
