import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NetnsLab, netnsAdminPort, netnsGossipPort, netnsSupport } from '../../scenarios/netns.ts';

/**
 * A packet dropped by a firewall in the sender's own output path fails its `sendto` with
 * EPERM. @matrixai/quic treats a send error it does not know as fatal and throws it out of
 * an event handler, which ended every node of a lossy lab run (the lab dropped packets in
 * OUTPUT then). Here two real nodes run in namespaces whose OUTPUT path drops 30 % of the
 * UDP packets to the other: both keep running, count the refused sends, and stay members.
 */
const support = netnsSupport();
if (!support.ok) console.warn(`tests/net-real/send-errors.test.ts: skipping: ${support.reason}`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!support.ok)('real nodes and send errors', () => {
  let lab: NetnsLab | undefined;
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'shoal-send-errors-'));
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await lab?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a node whose sends fail with EPERM keeps running and counts them', async () => {
    lab = await NetnsLab.create(['a', 'b']);
    execFileSync('bash', ['certs/make-dev-certs.sh', dir, 'a', 'b'], { stdio: 'ignore' });
    const logs = new Map<string, string>();
    for (const name of ['a', 'b']) {
      const seeds = name === 'a' ? [] : ['--seeds', `${lab.addressOf('a')}:${netnsGossipPort}`];
      const [command, argv] = lab.command(name, [process.execPath, 'bin/shoal.js', 'node', '--name', name,
        '--bind', `${lab.addressOf(name)}:${netnsGossipPort}`, '--admin', `${lab.addressOf(name)}:${netnsAdminPort}`,
        '--dev-certs', dir, '--preset', 'local', '--rpc-probe-ms', '200', ...seeds]);
      const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
      logs.set(name, '');
      const collect = (chunk: Buffer) => logs.set(name, (logs.get(name)! + chunk.toString()).slice(-20_000));
      child.stdout!.on('data', collect);
      child.stderr!.on('data', collect);
      children.push(child);
    }
    /** A metric's value; `label` narrows it (`state="alive"`); the node's own label is on every line. */
    const metric = async (name: string, metricName: string, label = ''): Promise<number | undefined> => {
      try {
        const text = await (await fetch(`http://${lab!.addressOf(name)}:${netnsAdminPort}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
        const line = text.split('\n').find((l) => (l.startsWith(`${metricName} `) || l.startsWith(`${metricName}{`)) && l.includes(label));
        return line === undefined ? undefined : Number(line.split(' ').at(-1));
      } catch {
        return undefined;
      }
    };
    // Both up and joined.
    for (let i = 0; i < 100 && await metric('a', 'shoal_members', 'state="alive"') !== 2; i++) await sleep(200);
    expect(await metric('a', 'shoal_members', 'state="alive"'), logs.get('a')!.slice(-1_500)).toBe(2);
    // Drop 30 % of every UDP packet each sends to the other in its own OUTPUT path: sendto fails with EPERM.
    for (const [from, to] of [['a', 'b'], ['b', 'a']] as const) {
      execFileSync('ip', ['netns', 'exec', lab.namespaceOf(from), 'iptables', '-A', 'OUTPUT', '-p', 'udp', '-d', lab.addressOf(to),
        '-m', 'statistic', '--mode', 'random', '--probability', '0.3', '-j', 'DROP']);
    }
    // The RPC probe every 200 ms and gossip keep QUIC packets flowing.
    await sleep(6_000);
    for (const [i, child] of children.entries()) {
      expect(child.exitCode, `node ${['a', 'b'][i]} exited:\n${logs.get(['a', 'b'][i]!)!.slice(-2_000)}`).toBeNull();
    }
    const errors = (await metric('a', 'shoal_quic_send_errors_total') ?? 0) + (await metric('b', 'shoal_quic_send_errors_total') ?? 0);
    expect(errors).toBeGreaterThan(0);
    expect(logs.get('a')! + logs.get('b')!).not.toMatch(/ErrorQUIC(Server|Client)Internal/);
  }, 60_000);
});
