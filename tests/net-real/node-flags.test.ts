import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AdminServer, NodeFlagError, parseNodeFlags, readGossipKeyFile } from '../../net-real/node/index.ts';
import { runShoal } from './node-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'shoal-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const gossipKeyFile = join(dir, 'gossip.key');
writeFileSync(gossipKeyFile, `${randomBytes(32).toString('base64')}\n`);
const files = { cert: '/c.pem', key: '/k.pem', ca: '/ca.pem' };
/** TLS files with what secure defaults ask for: mutual TLS and a gossip key. */
const tls = { ...files, mtls: true, 'gossip-key-file': gossipKeyFile };

describe('shoal node flags', () => {
  it.each([
    [{ bind: '127.0.0.1:1', ...tls }, /--name is required/],
    [{ name: 'a', ...tls }, /--bind HOST:PORT is required/],
    [{ name: 'a', bind: 'nope', ...tls }, /--bind/],
    [{ name: 'a', bind: '127.0.0.1:1' }, /TLS is required/],
    [{ name: 'a', bind: '127.0.0.1:1', cert: '/c.pem' }, /go together/],
    [{ name: 'a', bind: '127.0.0.1:1', ...tls, seeds: '127.0.0.1:2,bad' }, /--seeds/],
    [{ name: 'a', bind: '127.0.0.1:1', ...tls, tags: 'zone' }, /--tags/],
    [{ name: 'a', bind: '127.0.0.1:1', ...tls, preset: 'fast' }, /--preset/],
    [{ name: 'a', bind: '127.0.0.1:1', ...tls, swim: 'probeTimeoutMs=5000' }, /--swim.*probeTimeoutMs/],
    [{ name: 'a', bind: '127.0.0.1:1', ...tls, 'log-level': 'loud' }, /--log-level/],
    [{ name: 'a', bind: '127.0.0.1:1', ...tls, 'rpc-probe-ms': '-1' }, /--rpc-probe-ms/],
    [{ name: 'a b', bind: '127.0.0.1:1', ...tls }, /--name/],
    [{ name: 'a', bind: '127.0.0.1:1', ...tls, director: true, strategy: 'fastest' }, /--strategy: unknown strategy "fastest"; valid strategies: round-robin, random, least-connections, power-of-two, peak-ewma, weighted, rendezvous, lifo/],
    [{ name: 'a', bind: '127.0.0.1:1', ...tls, strategy: 'random' }, /--strategy only applies to a director/],
    [{ name: 'a', bind: '127.0.0.1:1', ...tls, 'worker-filter': 'role=a b' }, /--worker-filter: .*bad tag value/],
    [{ name: 'a', bind: '0.0.0.0:7946', ...tls }, /--bind 0\.0\.0\.0:7946 is a wildcard address: add --advertise/],
    [{ name: 'a', bind: '[::]:7946', ...tls }, /--bind \[::\]:7946 is a wildcard address: add --advertise/],
    [{ name: 'a', bind: '127.0.0.1:1', ...tls, swim: 'bogusField=1' }, /--swim: unknown field "bogusField"/],
    [{ name: 'a', bind: '127.0.0.1:1', ...tls, swim: 'probeIntervalMs=fast' }, /--swim: probeIntervalMs wants a number, got "fast"/],
    [{ name: 'a', bind: '127.0.0.1:1', ...tls, swim: 'awarenessEnabled=1' }, /--swim: awarenessEnabled wants a boolean, got "1"/],
    [{ name: 'a', bind: '127.0.0.1:1', ...files }, /also need --mtls \(mutual TLS\) and --gossip-key-file F \(encrypted gossip\); --insecure/],
    [{ name: 'a', bind: '127.0.0.1:1', ...files, mtls: true }, /also need --gossip-key-file F/],
    [{ name: 'a', bind: '127.0.0.1:1', ...files, 'gossip-key-file': gossipKeyFile }, /also need --mtls \(mutual TLS\);/],
  ])('rejects %j', async (flags, message) => {
    await expect(parseNodeFlags(flags)).rejects.toThrow(message);
    await expect(parseNodeFlags(flags)).rejects.toBeInstanceOf(NodeFlagError);
  });

  it('accepts a full set and applies defaults', async () => {
    const config = await parseNodeFlags({ name: 'a', bind: '0.0.0.0:7946', advertise: '10.0.0.1:7946', seeds: '10.0.0.2:7946, 10.0.0.3:7946', tags: 'zone=a,role=worker', ...tls, preset: 'wan', swim: 'probeIntervalMs=6000,awarenessEnabled=false' });
    expect(config.seeds).toEqual(['10.0.0.2:7946', '10.0.0.3:7946']);
    expect(config.tags).toEqual({ zone: 'a', role: 'worker' });
    expect(config.tls).toEqual({ ...files, mutual: true });
    expect(config).toMatchObject({ mutual: true, insecure: false });
    expect(config.gossipKeys).toHaveLength(1);
    expect(config.swim).toEqual({ preset: 'wan', probeIntervalMs: 6000, awarenessEnabled: false });
    expect(config.admin).toBe('127.0.0.1:0');
    expect(config.logLevel).toBe('info');
    expect(config.workerFilter).toBe('role=worker');
    expect(config.director).toBeUndefined();
  });

  it('--insecure allows server-only TLS and plaintext gossip; --dev-certs is mutual unless --insecure', async () => {
    const open = await parseNodeFlags({ name: 'a', bind: '127.0.0.1:1', ...files, insecure: true });
    expect(open).toMatchObject({ tls: { ...files, mutual: false }, mutual: false, insecure: true, gossipKeys: undefined });
    expect(await parseNodeFlags({ name: 'a', bind: '127.0.0.1:1', 'dev-certs': dir })).toMatchObject({ devCertsDir: dir, mutual: true, insecure: false });
    expect(await parseNodeFlags({ name: 'a', bind: '127.0.0.1:1', 'dev-certs': dir, insecure: true })).toMatchObject({ mutual: false, insecure: true });
    expect(await parseNodeFlags({ name: 'a', bind: '127.0.0.1:1', 'dev-certs': dir, insecure: true, mtls: true })).toMatchObject({ mutual: true, insecure: true });
  });

  it('--director serves the example with round robin unless --strategy names another', async () => {
    expect((await parseNodeFlags({ name: 'a', bind: '127.0.0.1:1', ...tls, director: true })).director).toBe('round-robin');
    const config = await parseNodeFlags({ name: 'a', bind: '127.0.0.1:1', ...tls, director: true, strategy: 'power-of-two', 'worker-filter': 'role=worker,zone=eu' });
    expect(config.director).toBe('power-of-two');
    expect(config.workerFilter).toBe('role=worker,zone=eu');
  });

  it('reads a gossip key file (comments allowed) and rejects bad keys', async () => {
    const good = join(dir, 'keys');
    const k1 = randomBytes(32).toString('base64');
    const k2 = randomBytes(32).toString('base64');
    writeFileSync(good, `# primary\n${k1}\n\n${k2} # old\n`);
    expect((await readGossipKeyFile(good)).map((k) => Buffer.from(k).toString('base64'))).toEqual([k1, k2]);
    const bad = join(dir, 'bad');
    writeFileSync(bad, `${randomBytes(16).toString('base64')}\n`);
    await expect(readGossipKeyFile(bad)).rejects.toThrow(/line 1 is not a base64 key of 32 bytes/);
    await expect(readGossipKeyFile(join(dir, 'missing'))).rejects.toThrow(/cannot read/);
  });

  it('the process exits 2 with a clear message on a bad flag and on an unreadable file', async () => {
    const unknown = runShoal(['node', '--name', 'a', '--bind', '127.0.0.1:0', '--bogus']);
    const unreadable = runShoal(['node', '--name', 'a', '--bind', '127.0.0.1:0', '--cert', join(dir, 'no.pem'), '--key', join(dir, 'no.key'), '--ca', join(dir, 'no-ca.pem'),
      '--mtls', '--gossip-key-file', gossipKeyFile]);
    expect(await unknown.exited).toBe(2);
    expect(unknown.lines.join('\n')).toMatch(/unknown flag --bogus; see shoal node --help/);
    expect(await unreadable.exited).toBe(2);
    expect(unreadable.lines.join('\n')).toMatch(/shoal node: tls\.cert: cannot read .*no\.pem/);
    const badStrategy = runShoal(['node', '--name', 'a', '--bind', '127.0.0.1:0', '--dev-certs', dir, '--director', '--strategy', 'nope']);
    expect(await badStrategy.exited, badStrategy.lines.join('\n')).toBe(2);
    expect(badStrategy.lines.join('\n')).toMatch(/shoal node: --strategy: unknown strategy "nope"; valid strategies: round-robin, random/);
  });
});

describe('admin endpoint', () => {
  it('answers /health, /ready, /status, /metrics, 404, and streams published events', async () => {
    let ready = false;
    const admin = await AdminServer.start('127.0.0.1:0', {
      health: () => true, notReadyReason: () => (ready ? undefined : 'not joined'), status: () => ({ node: { name: 'x' } }),
      metrics: () => Promise.resolve({ contentType: 'text/plain; version=0.0.4', body: 'm 1\n' }),
    });
    try {
      const base = `http://${admin.address}`;
      expect((await fetch(`${base}/health`)).status).toBe(200);
      expect((await fetch(`${base}/ready`)).status).toBe(503);
      ready = true;
      expect((await fetch(`${base}/ready`)).status).toBe(200);
      expect(await (await fetch(`${base}/status`)).json()).toEqual({ node: { name: 'x' } });
      expect(await (await fetch(`${base}/metrics`)).text()).toBe('m 1\n');
      expect((await fetch(`${base}/nope`)).status).toBe(404);
      const events = await fetch(`${base}/events`);
      expect(events.headers.get('content-type')).toBe('text/event-stream');
      const reader = events.body!.getReader();
      await reader.read(); // ": attached"
      admin.publish('member', { type: 'failed', name: 'b' });
      let text = '';
      while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
      expect(text).toBe('event: member\ndata: {"type":"failed","name":"b"}\n\n');
      await reader.cancel();
    } finally {
      await admin.close();
    }
  });

  it('drops an event-stream client that stops reading instead of buffering without bound', async () => {
    const admin = await AdminServer.start('127.0.0.1:0', { health: () => true, notReadyReason: () => undefined, status: () => ({}), metrics: () => Promise.resolve({ contentType: 'text/plain', body: '' }) });
    try {
      // A raw client that sends the request and then never reads.
      const [host, port] = admin.address.split(':');
      const socket = connect(Number(port), host);
      socket.write('GET /events HTTP/1.1\r\nhost: x\r\n\r\n');
      socket.pause();
      await waitUntil(() => admin.eventClients === 1);
      // The kernel's socket buffers fill first, then the server's backlog passes the bound.
      const big = 'x'.repeat(16 * 1024);
      for (let i = 0; i < (64 << 20) / big.length && admin.eventClients > 0; i++) {
        admin.publish('member', big);
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(admin.eventClients).toBe(0);
      expect(admin.droppedSlowClients).toBe(1);
      socket.destroy();
    } finally {
      await admin.close();
    }
  });
});

async function waitUntil(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}
