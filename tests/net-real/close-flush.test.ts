import { afterAll, expect, it } from 'vitest';
import { silentLogger, type Env } from '../../core/index.ts';
import { RpcClient } from '../../core/rpc/index.ts';
import { CryptoRandom, RealClock, type QuicTransport } from '../../net-real/index.ts';
import { Ticker, describeRpcCloseCompliance, drainedMessages, ticker } from '../compliance/rpc-close-suite.ts';
import { makeCertDir, startTestTransport, waitFor } from './quic-harness.ts';

const certs = makeCertDir();
afterAll(() => certs.remove());

async function realEnv(): Promise<{ env: Env; clock: RealClock; transport: QuicTransport }> {
  const transport = await startTestTransport(certs);
  const clock = new RealClock();
  return { env: { clock, random: new CryptoRandom(), transport, logger: silentLogger }, clock, transport };
}

describeRpcCloseCompliance('QUIC on loopback', async () => {
  const hosts: { clock: RealClock; transport: QuicTransport }[] = [];
  return {
    async env() {
      const host = await realEnv();
      hosts.push(host);
      return host.env;
    },
    waitFor,
    async close() {
      for (const host of hosts) host.clock.cancelAll();
      await Promise.all(hosts.map((host) => host.transport.close()));
    },
  };
});

it('a node that closes its transport as soon as the drain resolves still delivers the last messages and trailer', async () => {
  const server = await realEnv();
  const client = await realEnv();
  try {
    const rpc = ticker(server.env);
    const received: number[] = [];
    let outcome: 'OK' | Error | undefined;
    const calls = new RpcClient(client.env).service(Ticker, server.transport.localAddress);
    void (async () => {
      for await (const { i } of calls.count({ n: drainedMessages, everyMs: 2 })) received.push(i);
    })().then(() => (outcome = 'OK'), (error: Error) => (outcome = error));
    expect(await waitFor(() => received.length > 0, 10_000)).toBe(true);
    // The node's shutdown order: drain the RPC server, then close the transport at once.
    await rpc.shutdown({ deadlineMs: 10_000 });
    await server.transport.close();
    expect(await waitFor(() => outcome !== undefined, 10_000)).toBe(true);
    expect(outcome).toBe('OK');
    expect(received).toEqual([...Array(drainedMessages).keys()]);
  } finally {
    server.clock.cancelAll();
    client.clock.cancelAll();
    await Promise.all([server.transport.close(), client.transport.close()]);
  }
});
