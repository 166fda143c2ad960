import { describe, expect, it } from 'vitest';
import type { Address, Transport } from '../../core/index.ts';
import { InboundDelay, slowHeldMax } from '../../net-real/node/fault-control.ts';
import { NodeFlagError, parseNodeFlags } from '../../net-real/node/index.ts';

/** A transport whose inbound datagrams the test injects. */
function fakeTransport(): { transport: Transport; deliver: (payload: number) => void } {
  const datagrams = { maxDatagramBytes: 1_313, onDatagram: undefined as ((from: Address, payload: Uint8Array) => void) | undefined, send: () => undefined };
  const transport = { localAddress: 'a:1', datagrams, streams: { onConnection: undefined, connect: () => { throw new Error('no streams'); } } } as unknown as Transport;
  return { transport, deliver: (payload) => datagrams.onDatagram?.('b:1', new Uint8Array([payload])) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('--fault-control: slow inbound messages on a real node', () => {
  it('hands datagrams over at once when not slow, late and in order when slow, and in order across its end', async () => {
    const delay = new InboundDelay();
    const { transport, deliver } = fakeTransport();
    const wrapped = delay.wrap(transport);
    const got: { value: number; atMs: number }[] = [];
    const t0 = performance.now();
    wrapped.datagrams.onDatagram = (_from, payload) => got.push({ value: payload[0]!, atMs: performance.now() - t0 });
    deliver(0);
    expect(got.map((g) => g.value)).toEqual([0]);
    delay.set(150, 100);
    deliver(1);
    deliver(2);
    expect(got).toHaveLength(1);
    await sleep(110);
    // The slowness has ended, but 1 and 2 are still held: 3 waits for them.
    deliver(3);
    expect(got).toHaveLength(1);
    await sleep(120);
    expect(got.map((g) => g.value)).toEqual([0, 1, 2, 3]);
    expect(got[1]!.atMs).toBeGreaterThanOrEqual(145);
    deliver(4);
    expect(got.map((g) => g.value)).toEqual([0, 1, 2, 3, 4]);
    delay.close();
  });

  it('holds at most slowHeldMax datagrams, counting the rest as dropped', () => {
    const delay = new InboundDelay();
    const { transport, deliver } = fakeTransport();
    delay.wrap(transport).datagrams.onDatagram = () => undefined;
    delay.set(60_000, 60_000);
    for (let i = 0; i < slowHeldMax + 5; i++) deliver(1);
    expect(delay.heldCount).toBe(slowHeldMax);
    expect(delay.dropped).toBe(5);
    delay.close();
  });

  it('is refused on an address other nodes reach, and taken on loopback', async () => {
    const base = { name: 'n1', 'dev-certs': '/tmp/shoal-fault-control-certs', 'fault-control': true };
    await expect(parseNodeFlags({ ...base, bind: '10.1.2.3:7946' })).rejects.toThrow(NodeFlagError);
    await expect(parseNodeFlags({ ...base, bind: '10.1.2.3:7946' })).rejects.toThrow(/--fault-control is for test labs/);
    expect((await parseNodeFlags({ ...base, bind: '127.0.0.1:0' })).faultControl).toBe(true);
    expect((await parseNodeFlags({ name: 'n1', 'dev-certs': '/tmp/x', bind: '127.0.0.1:0' })).faultControl).toBe(false);
  });
});
