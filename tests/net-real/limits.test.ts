import { describe, expect, it } from 'vitest';
import { ConfigError, type Clock, type Connection, type Stream, type Transport } from '../../core/index.ts';
import { MUX_RESET_CODE, routeIncomingStreams, type RouteRefusal } from '../../core/cluster/index.ts';
import { BufferBudget, ConnectionBuffer, protocolMagic } from '../../core/rpc/index.ts';
import { InboundGuard, type GuardedConnection } from '../../net-real/inbound-guard.ts';
import { defaultNodeLimits, parseLimitFlags } from '../../net-real/limits.ts';
import { NodeFlagError } from '../../net-real/node/flags.ts';

// Unit tests of the node-wide limits: flag parsing, the buffer budget, the streamless
// sweep and the stream router's timeout. tests/net-real/node-limits.test.ts drives them
// through a real node.

const mebibyte = 1024 * 1024;

describe('parseLimitFlags', () => {
  it('gives the defaults without flags', () => {
    expect(parseLimitFlags({})).toEqual(defaultNodeLimits);
  });

  it('reads counts, durations and byte counts with binary units', () => {
    const limits = parseLimitFlags({
      'max-connections': '100', 'max-streams-per-connection': '2', 'max-buffered-bytes-per-connection': '3MiB',
      'max-buffered-bytes': '4194304', 'receive-window-bytes': '64KiB', 'stream-route-timeout-ms': '250', 'streamless-connection-timeout-ms': '750',
    });
    expect(limits).toEqual({
      maxConnections: 100, maxStreamsPerConnection: 2, maxBufferedBytesPerConnection: 3 * mebibyte, maxBufferedBytes: 4 * mebibyte,
      receiveWindowBytes: 64 * 1024, streamRouteTimeoutMs: 250, streamlessConnectionTimeoutMs: 750,
    });
  });

  it.each([
    ['max-connections', '0', /--max-connections must be a whole number of connections/],
    ['max-streams-per-connection', '1.5', /--max-streams-per-connection must be a whole number/],
    ['stream-route-timeout-ms', '-5', /--stream-route-timeout-ms must be a whole number of milliseconds/],
    ['streamless-connection-timeout-ms', '99999999999', /from 1 to 2147483647/],
    ['max-buffered-bytes', '12MB', /--max-buffered-bytes must be a byte count such as 16777216 or 16MiB/],
    ['max-buffered-bytes-per-connection', '1MiB', /must be at least 2097172 \(two RPC frames/],
    ['max-buffered-bytes', '8MiB', /--max-buffered-bytes \(8388608\) must be at least --max-buffered-bytes-per-connection \(16777216\)/],
    ['receive-window-bytes', '1KiB', /--receive-window-bytes must be at least 16384/],
  ])('refuses --%s %s with a message naming it', (flag, value, message) => {
    expect(() => parseLimitFlags({ [flag]: value })).toThrow(NodeFlagError);
    expect(() => parseLimitFlags({ [flag]: value })).toThrow(message);
  });
});

describe('BufferBudget', () => {
  const budget = () => new BufferBudget({ maxBufferedBytesPerConnection: 3 * mebibyte, maxBufferedBytes: 4 * mebibyte }, mebibyte, undefined);

  it('grants up to the per-connection bound and counts the refusal past it', () => {
    const b = budget();
    const a = new ConnectionBuffer(b);
    expect(a.hold(3 * mebibyte)).toBe(true);
    expect(a.hold(1)).toBe(false);
    expect(b.refusals).toBe(1);
    a.release(mebibyte);
    expect(a.hold(mebibyte)).toBe(true);
  });

  it('grants up to the bound over all connections', () => {
    const b = budget();
    const [a, c] = [new ConnectionBuffer(b), new ConnectionBuffer(b)];
    expect(a.hold(3 * mebibyte)).toBe(true);
    expect(c.hold(2 * mebibyte)).toBe(false);
    expect(c.hold(mebibyte)).toBe(true);
    a.releaseAll();
    expect(b.total).toBe(mebibyte);
  });

  it('refuses bounds that cannot hold two frames, or a total below one connection', () => {
    expect(() => new BufferBudget({ maxBufferedBytesPerConnection: 2 * mebibyte, maxBufferedBytes: Infinity }, mebibyte, undefined)).toThrow(ConfigError);
    expect(() => new BufferBudget({ maxBufferedBytesPerConnection: 3 * mebibyte, maxBufferedBytes: 2 * mebibyte }, mebibyte, undefined)).toThrow(ConfigError);
  });
});

describe('InboundGuard', () => {
  const connection = (streams: number) => {
    const c = { openStreamCount: streams, closed: false, abort: () => void (c.closed = true) };
    return c satisfies GuardedConnection;
  };

  it('closes and counts a connection without a stream for the timeout, not one with a stream', () => {
    const guard = new InboundGuard(1_000);
    const [idle, busy] = [connection(0), connection(1)];
    guard.watch(idle);
    guard.watch(busy);
    const t0 = performance.now();
    guard.sweep(t0 + 999);
    expect(idle.closed).toBe(false);
    guard.sweep(t0 + 1_001);
    expect([idle.closed, busy.closed]).toEqual([true, false]);
    expect(guard.refusals.streamless_connection).toBe(1);
    guard.stop();
  });

  it('times a connection whose streams all closed from the sweep that saw it empty', () => {
    const guard = new InboundGuard(1_000);
    const c = connection(0);
    guard.watch(c);
    guard.streamOpened(c);
    c.openStreamCount = 1;
    guard.sweep(10_000);
    c.openStreamCount = 0;
    guard.sweep(10_500);
    guard.sweep(11_499);
    expect(c.closed).toBe(false);
    guard.sweep(11_500);
    expect(c.closed).toBe(true);
    guard.stop();
  });
});

/** A clock moved by hand. */
class ManualClock implements Clock {
  private nowMs = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  private nextId = 1;
  now(): number {
    return this.nowMs;
  }
  setTimer(delayMs: number, fn: () => void): number {
    this.timers.set(this.nextId, { at: this.nowMs + delayMs, fn });
    return this.nextId++;
  }
  cancelTimer(handle: number): void {
    this.timers.delete(handle);
  }
  advance(ms: number): void {
    this.nowMs += ms;
    for (const [id, timer] of [...this.timers]) {
      if (timer.at > this.nowMs) continue;
      this.timers.delete(id);
      timer.fn();
    }
  }
}

function fakeStream(connection: Connection): Stream & { resetCode: number | undefined } {
  return {
    id: 0, connection, writeClosed: false, resetCode: undefined,
    write: () => undefined, end: () => undefined, reset(code) {
      this.resetCode = code;
    },
    onData: undefined, onEnd: undefined, onClose: undefined,
  };
}

function fakeConnection(): Connection & { closed: boolean } {
  return {
    remoteAddress: '127.0.0.1:1', state: 'open', maxStreams: 8, openStreamCount: 1, closed: false,
    openStream: () => {
      throw new Error('unused');
    },
    close: () => {
      throw new Error('unused');
    },
    abort() {
      this.closed = true;
    },
    onOpen: undefined, onStream: undefined, onClose: undefined,
  };
}

describe('routeIncomingStreams', () => {
  function setup() {
    const clock = new ManualClock();
    const transport = { streams: { onConnection: undefined } } as unknown as Transport;
    const refusals: RouteRefusal[] = [];
    const routed: Connection[] = [];
    routeIncomingStreams(transport, clock, { rpc: (c) => routed.push(c), other: undefined }, { routeTimeoutMs: 1_000, onRefused: (r) => refusals.push(r) });
    const connection = fakeConnection();
    transport.streams.onConnection!(connection);
    const first = fakeStream(connection);
    connection.onStream!(first);
    return { clock, connection, first, refusals, routed };
  }

  it('resets a first stream still silent after the timeout and closes its connection', () => {
    const { clock, connection, first, refusals } = setup();
    first.onData!(Uint8Array.of(protocolMagic[0]!));
    clock.advance(999);
    expect(connection.closed).toBe(false);
    clock.advance(1);
    expect([first.resetCode, connection.closed, refusals]).toEqual([MUX_RESET_CODE, true, ['route_timeout']]);
  });

  it('routes a stream that sends its 4 bytes in time, and its timer never fires', () => {
    const { clock, connection, first, refusals, routed } = setup();
    first.onData!(protocolMagic);
    clock.advance(10_000);
    expect([routed, connection.closed, refusals]).toEqual([[connection], false, []]);
  });

  it('resets and counts a second stream opened before the first is routed', () => {
    const { connection, refusals } = setup();
    const extra = fakeStream(connection);
    connection.onStream!(extra);
    expect([extra.resetCode, refusals]).toEqual([MUX_RESET_CODE, ['extra_stream']]);
  });
});
