import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConnectionRefusedError, type TransportError } from '../../core/index.ts';
import { Keyring, QuicTransport, createRealEnv, sealedOverheadBytes } from '../../net-real/index.ts';
import { makeCertDir, startTestTransport, waitFor } from './quic-harness.ts';

const certs = makeCertDir(['node', 'other']);
const foreign = makeCertDir(['node']);
afterAll(() => {
  certs.remove();
  foreign.remove();
});

const started: QuicTransport[] = [];
async function start(...args: Parameters<typeof startTestTransport>): Promise<QuicTransport> {
  const transport = await startTestTransport(...args);
  started.push(transport);
  return transport;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.close()));
});

/** Connects `client` to `server` and reports how the connection ended (null while it lives). */
function dial(client: QuicTransport, server: QuicTransport) {
  const outcome = { opened: false, closed: null as TransportError | undefined | null, accepted: 0 };
  server.streams.onConnection = () => outcome.accepted++;
  const conn = client.streams.connect(server.localAddress);
  conn.onOpen = () => (outcome.opened = true);
  conn.onClose = (error) => (outcome.closed = error);
  return { conn, outcome };
}

describe('QUIC transport: coalescing', () => {
  it('sends the writes of one tick as one batch', async () => {
    const a = await start(certs);
    const b = await start(certs);
    const chunks: number[] = [];
    b.streams.onConnection = (conn) => {
      conn.onStream = (s) => {
        s.onData = (d) => chunks.push(d.length);
      };
    };
    const conn = a.streams.connect(b.localAddress);
    const warmup = conn.openStream();
    warmup.write(new Uint8Array(1));
    expect(await waitFor(() => chunks.length === 1, 3_000)).toBe(true);
    const packetsBefore = a.quicPacketsSent;
    const stream = conn.openStream();
    for (let i = 0; i < 200; i++) stream.write(new Uint8Array(5).fill(i));
    expect(await waitFor(() => chunks.reduce((n, c) => n + c, 0) === 1001, 3_000)).toBe(true);
    // Uncoalesced, each of the 200 writes leaves as its own packet; one batch of 1 000
    // bytes fits one packet (plus an ACK or two).
    expect(a.quicPacketsSent - packetsBefore).toBeLessThanOrEqual(5);
  });
});

describe('QUIC transport: gossip keyring', () => {
  const keyA = Buffer.alloc(32, 1);
  const keyB = Buffer.alloc(32, 2);

  it('delivers sealed datagrams and reserves room for the seal', async () => {
    const a = await start(certs, { keyring: new Keyring([keyA]) });
    const b = await start(certs, { keyring: new Keyring([keyA]) });
    expect(a.datagrams.maxDatagramBytes).toBe(1350 - sealedOverheadBytes);
    const got: string[] = [];
    b.datagrams.onDatagram = (from, payload) => got.push(`${from}:${Buffer.from(payload).toString()}`);
    a.datagrams.send(b.localAddress, Buffer.from('ping'));
    expect(await waitFor(() => got.length === 1, 2_000)).toBe(true);
    expect(got[0]).toBe(`${a.localAddress}:ping`);
    expect(b.droppedUnauthenticated).toBe(0);
  });

  it('drops and counts datagrams under a key it does not hold, and plaintext ones', async () => {
    const a = await start(certs, { keyring: new Keyring([keyA]) });
    const plain = await start(certs);
    const b = await start(certs, { keyring: new Keyring([keyB]) });
    let delivered = 0;
    b.datagrams.onDatagram = () => delivered++;
    a.datagrams.send(b.localAddress, Buffer.from('wrong key'));
    plain.datagrams.send(b.localAddress, Buffer.from('no key'));
    expect(await waitFor(() => b.droppedUnauthenticated === 2, 2_000)).toBe(true);
    expect(delivered).toBe(0);
  });

  it('rotates keys without losing a datagram: install, switch primary, remove', async () => {
    const ringA = new Keyring([keyA]);
    const ringB = new Keyring([keyA]);
    const a = await start(certs, { keyring: ringA });
    const b = await start(certs, { keyring: ringB });
    let delivered = 0;
    b.datagrams.onDatagram = () => delivered++;
    const sendAndCount = async (expected: number) => {
      a.datagrams.send(b.localAddress, Buffer.from('x'));
      expect(await waitFor(() => delivered === expected, 2_000)).toBe(true);
    };
    ringA.install(keyB);
    ringB.install(keyB);
    await sendAndCount(1);
    ringA.usePrimary(keyB); // b still decrypts: it holds keyB too
    await sendAndCount(2);
    ringB.usePrimary(keyB);
    ringA.remove(keyA);
    ringB.remove(keyA);
    await sendAndCount(3);
    expect(b.droppedUnauthenticated).toBe(0);
    expect(() => ringA.remove(keyB)).toThrow(/primary/);
  });
});

describe('QUIC transport: TLS', () => {
  it('refuses a server whose certificate is not signed by the cluster CA', async () => {
    const server = await start(foreign);
    const client = await start(certs);
    const { outcome } = dial(client, server);
    expect(await waitFor(() => outcome.closed !== null, 3_000)).toBe(true);
    expect(outcome.closed).toBeInstanceOf(ConnectionRefusedError);
    // Without mutual TLS the server finishes its side of the handshake before the client
    // checks the server's certificate, so it may have accepted: that connection must die too.
    expect(await waitFor(() => server.connectionCount === 0, 3_000)).toBe(true);
  });

  it('with mutual TLS, accepts a client of the cluster CA and refuses a foreign one', async () => {
    const server = await start(certs, { tls: certs.tls('node', true) });
    const member = await start(certs, { tls: certs.tls('other', true) });
    const ok = dial(member, server);
    expect(await waitFor(() => ok.outcome.accepted === 1, 3_000)).toBe(true);
    expect(ok.outcome.closed).toBeNull();

    // The intruder trusts the cluster CA (so it accepts the server) but its own certificate is foreign.
    const intruder = await start(certs, { tls: { ...foreign.tls('node', true), ca: certs.tls('node').ca } });
    const bad = dial(intruder, server);
    expect(await waitFor(() => bad.outcome.closed !== null, 3_000)).toBe(true);
    expect(bad.outcome.closed).toBeInstanceOf(ConnectionRefusedError);
    expect(ok.outcome.accepted).toBe(1);
  });
});

describe('createRealEnv', () => {
  it('gives a working env: monotonic clock, crypto random, sealed transport', async () => {
    const real = await createRealEnv({ bind: '127.0.0.1:0', tls: certs.tls('node'), gossipKeys: [Buffer.alloc(32, 9)], idleTimeoutMs: 1_000 });
    try {
      const { clock, random, transport } = real.env;
      expect(transport.datagrams.maxDatagramBytes).toBe(1350 - sealedOverheadBytes);
      expect(transport.localAddress).toMatch(/^127\.0\.0\.1:\d+$/);
      const t0 = clock.now();
      let fired = false;
      clock.setTimer(20, () => (fired = true));
      expect(await waitFor(() => fired, 1_000)).toBe(true);
      expect(clock.now() - t0).toBeGreaterThanOrEqual(19);
      const x = random.next();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    } finally {
      await real.close();
    }
  });
});
