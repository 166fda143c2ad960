import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RpcStats } from '../../net-real/node/index.ts';
import { AttachSource, ClusterModel, rpcPanelOf, statusSchema } from '../../tui/index.ts';
import { view } from './helpers.ts';

let server: Server | undefined;

afterEach(() => {
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

/** A stand-in for a real node's admin endpoint, serving the shapes docs/DASHBOARD.md defines. */
async function fakeNode(): Promise<string> {
  server = createServer((req, res) => {
    if (req.url === '/status') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({
        node: { name: 'n1', address: '10.0.0.1:7946', incarnation: 2, localHealth: 1, inFlight: 3 },
        timeMs: 42_000,
        members: [view('n1'), view('n2', 'suspect', { phi: 6.5 }), view('n3', 'dead')],
        rpc: { callsPerSec: 120, successRatio: 0.995, latencyMsP50: 2, latencyMsP99: 9, perWorker: { n2: 60, n3: 60 } },
      }));
    } else if (req.url === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: member\ndata: ${JSON.stringify({ type: 'suspect', name: 'n2', address: 'n2:7946', incarnation: 0, atMs: 41_000, phi: 6.5, from: 'n1' })}\n\n`);
      res.write(`event: rpc\ndata: ${JSON.stringify({ worker: 'n2', ok: true, latencyMs: 3, atMs: 41_500 })}\n\n`);
      res.write('event: member\ndata: not json\n\n');
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('AttachSource', () => {
  it('reads /status and the /events stream into the model', async () => {
    const target = await fakeNode();
    const model = new ClusterModel();
    const source = new AttachSource({ target, model, pollMs: 50 });
    source.start();
    try {
      await until(() => model.status.connected && model.events({ kind: 'suspect' }).length > 0);
      expect(model.member('n2')!.state).toBe('suspect');
      expect(model.member('n2')!.phi).toBe(6.5);
      expect(model.member('n3')!.state).toBe('dead');
      expect(model.member('n1')!.localHealth).toBe(1);
      expect(model.member('n1')!.inFlight).toBe(3);
      expect(model.status).toMatchObject({ mode: 'attach', timeMs: 42_000, target });
      expect(model.events({ kind: 'suspect' })[0]!.text).toBe('n1: n2 suspect inc 0 (phi 6.5) by n1');
      expect(model.rpc()).toMatchObject({ callsPerSec: 120, successRatio: 0.995 });
      expect(model.network).toBeUndefined();
    } finally {
      source.stop();
    }
  });

  it('reports a node it cannot reach, and refuses simulator actions', async () => {
    const model = new ClusterModel();
    const source = new AttachSource({ target: '127.0.0.1:1', model, pollMs: 50, reconnectMs: 50, requestTimeoutMs: 500 });
    source.start();
    try {
      await until(() => /status:/.test(model.status.message ?? ''));
      expect(model.status.connected).toBe(false);
      expect(source.crash()).toBe('crash: unavailable (a real node cannot be driven from here)');
      expect(source.togglePause()).toMatch(/^pause: unavailable/);
      expect(source.capabilities.size).toBe(0);
    } finally {
      source.stop();
    }
    expect(() => new AttachSource({ target: 'no-port', model })).toThrow(/HOST:PORT/);
  });

  it('maps a real node\'s rpc summary (net-real RpcStats) into the RPC panel fields the simulator fills', () => {
    const clock = { nowMs: 50_000 };
    const stats = new RpcStats(() => clock.nowMs);
    const status = (rpc: unknown) => statusSchema.parse({ node: { name: 'd', address: 'd:1' }, timeMs: clock.nowMs, members: [], rpc });
    // A quiet node: an empty window leaves the panel empty rather than showing zeros.
    expect(rpcPanelOf(status(stats.summary({})).rpc ?? undefined)).toBeUndefined();
    for (let i = 0; i < 30; i++) stats.record({ side: 'client', method: 'cluster.worker.v1/compute', code: i < 27 ? 'OK' : 'UNAVAILABLE', latencyMs: i + 1, peer: `w${i % 3}` });
    stats.serverStarted('127.0.0.1:5000');
    const parsed = status(stats.summary({ w0: 2 })).rpc!;
    expect(parsed.calls?.client['cluster.worker.v1/compute']).toEqual({ OK: 27, UNAVAILABLE: 3 });
    expect(parsed.inFlight).toEqual({ server: { '127.0.0.1:5000': 1 }, client: { w0: 2 } });
    expect(rpcPanelOf(parsed)).toEqual({ callsPerSec: 3, successRatio: 0.9, latencyMsP50: 15, latencyMsP99: 30, perWorker: { w0: 10, w1: 10, w2: 10 } });
    // The model shows those figures once the source applies a status with them.
    const model = new ClusterModel();
    model.setRpcSummary(rpcPanelOf(parsed));
    expect(model.rpc()).toMatchObject({ successRatio: 0.9, perWorker: { w1: 10 } });
    expect(() => status({ ...stats.summary({}), perWorker: Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`p${i}`, 1])) })).toThrow(/too many keys/);
  });
});
