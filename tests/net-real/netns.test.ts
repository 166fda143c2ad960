import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsLab, netemSupport, netnsSupport } from '../../scenarios/netns.ts';

/**
 * The namespace lab itself, with plain UDP between two nodes on separate addresses: cuts,
 * one-way cuts, heal, random loss and (where the kernel has netem) latency do what they
 * say. Skips with the reason where the machine does not allow namespaces.
 */
const support = netnsSupport();
if (!support.ok) console.warn(`tests/net-real/netns.test.ts: skipping: ${support.reason}`);

/** Sends `count` datagrams from `from` to `to` (in their namespaces); returns how many arrived and the median one-way delay seen. */
async function udp(lab: NetnsLab, from: string, to: string, count: number): Promise<{ received: number; medianMs: number }> {
  const port = 9000 + Math.floor(Math.random() * 1000);
  const receiver = `
    const s = require('dgram').createSocket('udp4'); const delays = []; let n = 0;
    s.on('message', (m) => { n++; delays.push(Date.now() - Number(String(m))); });
    s.bind(${port}, '${lab.addressOf(to)}', () => console.log('ready'));
    setTimeout(() => { delays.sort((a, b) => a - b); console.log(JSON.stringify({ received: n, medianMs: delays[Math.floor(delays.length / 2)] ?? -1 })); process.exit(0); }, 1500);`;
  const [rc, ra] = lab.command(to, [process.execPath, '-e', receiver]);
  const child = spawn(rc, ra, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((resolve) => child.stdout!.on('data', (d) => { out += d; if (out.includes('ready')) resolve(); }));
  const sender = `
    const s = require('dgram').createSocket('udp4'); let i = 0;
    const next = () => { if (i++ >= ${count}) return s.close(); s.send(String(Date.now()), ${port}, '${lab.addressOf(to)}', () => setTimeout(next, 1)); };
    next();`;
  const [sc, sa] = lab.command(from, [process.execPath, '-e', sender]);
  await new Promise<void>((resolve) => spawn(sc, sa, { stdio: 'inherit' }).on('exit', () => resolve()));
  await new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return JSON.parse(out.slice(out.indexOf('{'))) as { received: number; medianMs: number };
}

describe.skipIf(!support.ok)('network namespace lab', () => {
  let lab: NetnsLab;
  beforeAll(async () => {
    lab = await NetnsLab.create(['a', 'b']);
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('gives each node its own address, reachable from the other', async () => {
    expect(lab.addressOf('a')).not.toBe(lab.addressOf('b'));
    expect((await udp(lab, 'a', 'b', 50)).received).toBe(50);
  }, 20_000);

  it('cuts one direction, then both, and heals', async () => {
    await lab.cut(['a'], ['b']);
    expect((await udp(lab, 'a', 'b', 30)).received).toBe(0);
    expect((await udp(lab, 'b', 'a', 30)).received).toBe(30);
    await lab.cut(['b'], ['a']);
    expect((await udp(lab, 'b', 'a', 30)).received).toBe(0);
    await lab.repair();
    expect((await udp(lab, 'a', 'b', 30)).received).toBe(30);
    expect((await udp(lab, 'b', 'a', 30)).received).toBe(30);
  }, 40_000);

  it('drops about the asked fraction of packets, and none once loss is back to 0', async () => {
    await lab.setLoss(['a'], ['b'], 0.5);
    const { received } = await udp(lab, 'a', 'b', 400);
    // Binomial(400, 0.5): mean 200, sd 10; ±6 sd.
    expect(received).toBeGreaterThan(140);
    expect(received).toBeLessThan(260);
    await lab.setLoss(['a'], ['b'], 0);
    expect((await udp(lab, 'a', 'b', 100)).received).toBe(100);
  }, 40_000);

  it.skipIf(!netemSupport())('delays what a node sends (tc netem)', async () => {
    await lab.setLatency(['a'], { kind: 'constant', ms: 80 });
    expect((await udp(lab, 'a', 'b', 20)).medianMs).toBeGreaterThanOrEqual(75);
  }, 20_000);

  it('refuses latency it cannot shape, with the reason', async () => {
    if (netemSupport()) await expect(lab.setLatency(['a'], { kind: 'pareto', scaleMs: 1, shape: 2 })).rejects.toThrow(/netem has no pareto/);
    else await expect(lab.setLatency(['a'], { kind: 'constant', ms: 10 })).rejects.toThrow(/sch_netem/);
  });
});
