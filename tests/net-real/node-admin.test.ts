import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AdminServer, parseNodeFlags, type AdminOptions } from '../../net-real/node/index.ts';
import { sleep, startNode, waitFor, type NodeProcess } from './node-harness.ts';

const handlers = {
  health: () => true, notReadyReason: () => undefined, status: () => ({}),
  metrics: () => Promise.resolve({ contentType: 'text/plain', body: '' }),
};

async function withAdmin(options: AdminOptions, body: (admin: AdminServer) => Promise<void>, more: Partial<typeof handlers> = {}): Promise<void> {
  const admin = await AdminServer.start('127.0.0.1:0', { ...handlers, ...more }, options);
  try {
    await body(admin);
  } finally {
    await admin.close();
  }
}

/** A membership event as a merge publishes it (about 150 bytes of JSON). */
function memberEvent(i: number) {
  return { type: 'joined', name: `member-${i}`, address: `10.0.${i >> 8}.${i & 255}:7946`, incarnation: 0, atMs: 81_301.2 + i, tags: { zone: 'a', role: 'worker' } };
}

/** An `/events` reader that keeps up: counts events as they arrive. */
async function fastReader(address: string) {
  const response = await fetch(`http://${address}/events`);
  const reader = response.body!.getReader();
  const state = { events: 0, closed: false, bytes: 0 };
  void (async () => {
    const decoder = new TextDecoder();
    let tail = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        state.bytes += value.length;
        const text = tail + decoder.decode(value, { stream: true });
        const parts = text.split('\n\n');
        tail = parts.pop()!;
        state.events += parts.filter((p) => p.startsWith('event: ')).length;
      }
    } catch {
      // Destroyed by the server: reported through `closed`.
    }
    state.closed = true;
  })();
  return { state, cancel: () => reader.cancel().catch(() => undefined) };
}

/** A raw client that asks for `/events` and then never reads. */
async function stalledReader(admin: AdminServer): Promise<Socket> {
  const [host, port] = admin.address.split(':');
  const socket = connect(Number(port), host);
  socket.write('GET /events HTTP/1.1\r\nhost: x\r\n\r\n');
  socket.pause();
  socket.on('error', () => undefined);
  await waitFor(async () => admin.eventClients >= 1, 5_000, () => 'the stalled reader never attached', 10);
  return socket;
}

/** `count` sockets that each send part of a request line and then nothing (a half-open flood). */
async function halfOpenFlood(address: string, count: number): Promise<{ sockets: Socket[]; closed: () => number }> {
  const [host, port] = address.split(':');
  let closed = 0;
  const sockets = await Promise.all(Array.from({ length: count }, () => new Promise<Socket>((resolve) => {
    const socket = connect(Number(port), host, () => {
      socket.write('GET /health HTTP/1.1\r\nhost: x\r\n');
      // Reads what comes back (a 408), so it notices when the server closes the connection.
      socket.resume();
      resolve(socket);
    });
    socket.on('error', () => resolve(socket));
    socket.on('close', () => closed++);
  })));
  return { sockets, closed: () => closed };
}

async function health(address: string): Promise<number> {
  try {
    return (await fetch(`http://${address}/health`, { signal: AbortSignal.timeout(2_000) })).status;
  } catch {
    return 0;
  }
}

describe('admin /events under bursts', () => {
  const burst = 3_000;

  it('a burst of 3 000 events in one merge reaches a fast reader whole, and nobody is dropped', async () => {
    await withAdmin({}, async (admin) => {
      const reader = await fastReader(admin.address);
      await waitFor(async () => admin.eventClients === 1, 5_000, () => 'reader not attached', 10);
      for (let i = 0; i < burst; i++) admin.publish('member', memberEvent(i));
      await waitFor(async () => reader.state.events === burst || reader.state.closed, 10_000, () => `${reader.state.events} events read`, 10);
      expect(reader.state).toMatchObject({ events: burst, closed: false });
      expect(admin.droppedSlowClients).toBe(0);
      await reader.cancel();
    });
  });

  it('control: a rule that counts the burst itself (hard cap at 256 KiB) drops that fast reader', async () => {
    // The burst is larger than the old per-write bound, so the test above can fail.
    await withAdmin({ eventBacklogBytesHardMax: 256 * 1024 }, async (admin) => {
      const reader = await fastReader(admin.address);
      await waitFor(async () => admin.eventClients === 1, 5_000, () => 'reader not attached', 10);
      for (let i = 0; i < burst; i++) admin.publish('member', memberEvent(i));
      await waitFor(async () => reader.state.closed, 10_000, () => `${reader.state.events} events read`, 10);
      expect(reader.state.events).toBeLessThan(burst);
      expect(admin.droppedSlowClients).toBe(1);
    });
  });

  it('a reader that never reads is dropped once its backlog stays over the bound past the grace, and counted', async () => {
    const graceMs = 1_500;
    await withAdmin({ eventBacklogBytesMax: 1 << 20, eventBacklogGraceMs: graceMs, eventBacklogBytesHardMax: 1 << 30 }, async (admin) => {
      const fast = await fastReader(admin.address);
      const stalled = await stalledReader(admin);
      await waitFor(async () => admin.eventClients === 2, 5_000, () => 'readers not attached', 10);
      // 24 MiB in one go: more than the kernel's socket buffers take, so the stalled reader's backlog stays high.
      const pad = 'x'.repeat(64 * 1024);
      const events = 384;
      const publishedAtMs = performance.now();
      for (let i = 0; i < events; i++) admin.publish('member', { i, pad });
      // The burst alone drops nobody: the rule measures time over the bound.
      expect(admin.eventClients).toBe(2);
      await waitFor(async () => admin.droppedSlowClients === 1, 10_000, () => `dropped ${admin.droppedSlowClients}`, 20);
      expect(performance.now() - publishedAtMs).toBeGreaterThanOrEqual(graceMs);
      expect(admin.eventClients).toBe(1);
      await waitFor(async () => fast.state.events === events || fast.state.closed, 10_000, () => `${fast.state.events} events read`, 10);
      expect(fast.state).toMatchObject({ events, closed: false });
      stalled.destroy();
      await fast.cancel();
    });
  });

  it('a reader whose backlog would pass the hard cap is dropped at once', async () => {
    await withAdmin({ eventBacklogBytesMax: 1 << 20, eventBacklogBytesHardMax: 4 << 20 }, async (admin) => {
      const stalled = await stalledReader(admin);
      const pad = 'x'.repeat(64 * 1024);
      for (let i = 0; i < 384 && admin.eventClients > 0; i++) admin.publish('member', { i, pad });
      expect(admin.eventClients).toBe(0);
      expect(admin.droppedSlowClients).toBe(1);
      stalled.destroy();
    });
  });
});

describe('admin connections are bounded', () => {
  it('a half-open flood does not stop /health; the flood is evicted, then timed out, and counted', async () => {
    await withAdmin({ maxConnections: 8, headersTimeoutMs: 300, requestTimeoutMs: 600 }, async (admin) => {
      const events = await fastReader(admin.address);
      const flood = await halfOpenFlood(admin.address, 300);
      for (let i = 0; i < 5; i++) expect(await health(admin.address)).toBe(200);
      expect(admin.connections).toBeLessThanOrEqual(8);
      // Every flood socket but the few still held was closed to make room.
      expect(admin.refusals.evicted).toBeGreaterThanOrEqual(300 - 8);
      // The ones held are closed once their headers are late; the event stream (a finished request) stays.
      await waitFor(async () => flood.closed() === 300, 5_000, () => `${flood.closed()} of 300 flood sockets closed`, 20);
      expect(admin.refusals.timeout).toBeGreaterThanOrEqual(1);
      admin.publish('member', memberEvent(1));
      await waitFor(async () => events.state.events === 1, 2_000, () => 'the event stream did not survive the request timeout', 10);
      expect(events.state.closed).toBe(false);
      await events.cancel();
    });
  });

  it('when every connection is busy a new one is closed at once and counted; event streams take at most half', async () => {
    let release: () => void = () => undefined;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    const metrics = async () => {
      await stuck;
      return { contentType: 'text/plain', body: '' };
    };
    await withAdmin({ maxConnections: 4 }, async (admin) => {
      const streams = [await fastReader(admin.address), await fastReader(admin.address)];
      expect((await fetch(`http://${admin.address}/events`)).status).toBe(503);
      expect(admin.refusals.event_clients).toBe(1);
      const scrapes = [fetch(`http://${admin.address}/metrics`), fetch(`http://${admin.address}/metrics`)];
      await waitFor(async () => admin.connections === 4, 5_000, () => `${admin.connections} connections`, 10);
      expect(await health(admin.address)).toBe(0);
      expect(admin.refusals.connections).toBeGreaterThanOrEqual(1);
      release();
      await Promise.all(scrapes);
      expect(await health(admin.address)).toBe(200);
      await Promise.all(streams.map((s) => s.cancel()));
    }, { metrics });
  });

  it('refuses bounds that contradict each other', async () => {
    await expect(AdminServer.start('127.0.0.1:0', handlers, { maxConnections: 1 })).rejects.toThrow(/maxConnections/);
    await expect(AdminServer.start('127.0.0.1:0', handlers, { headersTimeoutMs: 20_000 })).rejects.toThrow(/headersTimeoutMs/);
  });
});

describe('--admin-max-connections', () => {
  const flags = { name: 'a', bind: '127.0.0.1:0', 'dev-certs': '/nonexistent-shoal-dir' };

  it('is an integer of at least 2, and unset leaves the default to the admin endpoint', async () => {
    expect((await parseNodeFlags({ ...flags, 'admin-max-connections': '16' })).adminMaxConnections).toBe(16);
    expect((await parseNodeFlags(flags)).adminMaxConnections).toBeUndefined();
    for (const bad of ['1', '0', '-3', 'many', '1e3', '99999999']) {
      await expect(parseNodeFlags({ ...flags, 'admin-max-connections': bad })).rejects.toThrow(/--admin-max-connections must be an integer of at least 2/);
    }
  });
});

describe('admin endpoint of a real node', () => {
  let certDir = '';
  let node: NodeProcess | undefined;

  afterAll(() => {
    if (node !== undefined && node.child.exitCode === null) node.child.kill('SIGKILL');
    if (certDir !== '') rmSync(certDir, { recursive: true, force: true });
  });

  it('keeps answering /health under a half-open flood, holds at most --admin-max-connections, and exports the refusals', async () => {
    certDir = mkdtempSync(join(tmpdir(), 'shoal-admin-'));
    node = await startNode('solo', ['--bind', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--dev-certs', certDir, '--preset', 'local',
      '--rpc-probe-ms', '0', '--admin-max-connections', '16']);
    const fds = () => readdirSync(`/proc/${node!.child.pid}/fd`).length;
    expect(await health(node.admin)).toBe(200);
    const fdsBefore = fds();
    const flood = await halfOpenFlood(node.admin, 300);
    for (let i = 0; i < 5; i++) expect(await health(node.admin)).toBe(200);
    // The node holds at most the bound, not one descriptor per flood socket.
    expect(fds()).toBeLessThanOrEqual(fdsBefore + 16 + 4);
    const text = await (await fetch(`http://${node.admin}/metrics`)).text();
    expect(metric(text, 'shoal_admin_refused_total', { reason: 'evicted' })).toBeGreaterThanOrEqual(300 - 16);
    expect(metric(text, 'shoal_admin_connections', {})).toBeLessThanOrEqual(16);
    expect(metric(text, 'shoal_admin_events_dropped_slow_clients_total', {})).toBe(0);
    for (const socket of flood.sockets) socket.destroy();
    await sleep(0);
  }, 60_000);

  it('documents every metric it exports in docs/OPERATIONS.md', async () => {
    expect(node).toBeDefined();
    const text = await (await fetch(`http://${node!.admin}/metrics`)).text();
    const exported = [...text.matchAll(/^# HELP (shoal_\w+) /gm)].map((m) => m[1]!);
    expect(exported.length).toBeGreaterThan(30);
    const operations = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'OPERATIONS.md'), 'utf8');
    const metricsSection = operations.slice(operations.indexOf('## Metrics'), operations.indexOf('\n## ', operations.indexOf('## Metrics') + 1));
    expect(exported.filter((name) => !metricsSection.includes(`\`${name}`))).toEqual([]);
  });
});

/** The value of one series in Prometheus text, matched on the given labels; NaN when absent. */
function metric(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
  }
  return Number.NaN;
}
