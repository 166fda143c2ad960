import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli.ts';
import { localOnlyRefusal, parseKeyRequest } from '../../net-real/node/admin-keys.ts';
import { runShoal, runShoalToEnd, startNode, status, waitFor, type NodeProcess } from './node-harness.ts';

// The operator verbs (`members`, `monitor`, `call list|describe`, `keygen`, `keys`) against
// three real `shoal node` processes on loopback, plus a fourth that joins and leaves.
const swim = 'joinRetryIntervalMs=300,pushPullIntervalMs=2000';
const runBoundMs = 20_000;
const repo = join(import.meta.dirname, '..', '..');

let dir = '';
const nodes: NodeProcess[] = [];

function nodeFlags(extra: readonly string[]): string[] {
  return ['--bind', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--dev-certs', join(dir, 'certs'), '--preset', 'local', '--swim', swim,
    '--rpc-probe-ms', '0', '--log-level', 'info', ...extra];
}

async function allSee(count: number, among: readonly NodeProcess[] = nodes): Promise<boolean> {
  const views = await Promise.all(among.map((n) => status(n)));
  return views.every((s) => s !== undefined && s.members.filter((m) => m.state === 'alive').length === count);
}

async function views(): Promise<string> {
  const all = await Promise.all(nodes.map(async (n) => `${n.name}: ${JSON.stringify((await status(n))?.members.map((m) => `${m.name}=${m.state}`))}`));
  return all.join('\n');
}

async function shoal(...args: string[]): Promise<{ code: number | string; lines: string[] }> {
  return runShoalToEnd(args, runBoundMs);
}

/** A metric's value on a node (the first series of that name). */
async function metric(node: NodeProcess, name: string): Promise<number> {
  const text = await (await fetch(`http://${node.admin}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.split(' ').pop());
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shoal-operator-'));
  const first = await startNode('n0', nodeFlags(['--tags', 'role=director']));
  nodes.push(first);
  // n2 also runs an app with streaming methods that `shoal call` has no definition of.
  const streams = ['--app', 'tests/fixtures/node-app/streams.ts', '--worker-filter', 'role=worker'];
  nodes.push(...await Promise.all(['n1', 'n2'].map((name) => startNode(name, nodeFlags(['--seeds', first.address, '--tags', 'role=worker', ...name === 'n2' ? streams : []])))));
  await waitFor(() => allSee(3), 15_000, views);
}, 45_000);

afterAll(() => {
  for (const n of nodes) if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('shoal members', () => {
  it('prints a table of the members a node knows, and JSON filtered by status and tags', async () => {
    const table = await shoal('members', nodes[0]!.admin);
    expect(table.code, table.lines.join('\n')).toBe(0);
    expect(table.lines[0]).toMatch(/^NAME\s+ADDRESS\s+STATUS\s+INCARNATION\s+TAGS$/);
    expect(table.lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3))).toEqual(nodes.map((n) => [n.name, n.address, 'alive']));
    expect(table.lines[2]).toMatch(/\s0\s+role=worker$/);

    const workers = await shoal('members', nodes[0]!.admin, '--json', '--tag', 'role=worker', '--status', 'alive,suspect');
    expect(workers.code).toBe(0);
    const answer = JSON.parse(workers.lines[0]!) as { node: string; members: { name: string; status: string; tags: Record<string, string> }[] };
    expect(answer.node).toBe('n0');
    expect(answer.members.map((m) => [m.name, m.status, m.tags])).toEqual([['n1', 'alive', { role: 'worker' }], ['n2', 'alive', { role: 'worker' }]]);

    const failed = await shoal('members', nodes[1]!.admin, '--status', 'failed,left');
    expect(failed.lines).toEqual([expect.stringMatching(/^NAME/)]);
  }, 30_000);
});

describe('shoal call list and describe (the reflection service)', () => {
  it('lists the services a node serves and describes their methods and call kinds', async () => {
    const certs = ['--dev-certs', join(dir, 'certs')];
    const list = await shoal('call', nodes[1]!.address, 'list', ...certs);
    expect(list.code, list.lines.join('\n')).toBe(0);
    expect(list.lines).toEqual(['cluster.worker.v1', 'shoal.node.v1', 'shoal.reflection.v1']);
    const worker = await shoal('call', nodes[1]!.address, 'describe', 'cluster.worker.v1', ...certs);
    expect(worker.lines).toEqual(['cluster.worker.v1', '  compute  unary', '  tokens   serverStream']);
    const one = await shoal('call', nodes[1]!.address, 'describe', 'shoal.reflection.v1/describe', '--json', ...certs);
    expect(JSON.parse(one.lines[0]!)).toEqual({ service: 'shoal.reflection.v1', methods: [{ name: 'describe', kind: 'unary' }] });
    const unknown = await shoal('call', nodes[0]!.address, 'describe', 'cluster.worker.v1', ...certs);
    expect(unknown.code).toBe(1);
    expect(unknown.lines.join('\n')).toMatch(/^error: NOT_FOUND: unknown service cluster\.worker\.v1; services: shoal\.node\.v1, shoal\.reflection\.v1$/m);
  }, 30_000);

  it('calls an app\'s streaming methods as the kinds reflection names', async () => {
    const certs = ['--dev-certs', join(dir, 'certs')];
    const app = await shoal('call', nodes[2]!.address, 'describe', 'fixture.streams.v1', ...certs);
    expect(app.lines).toEqual(['fixture.streams.v1', '  count   serverStream', '  sum     clientStream', '  double  bidi']);
    const count = await shoal('call', nodes[2]!.address, 'fixture.streams.v1/count', '{"n":3}', ...certs);
    expect(count.lines).toEqual(['1', '2', '3']);
    const sum = await shoal('call', nodes[2]!.address, 'fixture.streams.v1/sum', '[1,2,3,4]', ...certs);
    expect(sum.lines).toEqual(['{"sum":10}']);
    const double = await shoal('call', nodes[2]!.address, 'fixture.streams.v1/double', '[5,6]', ...certs);
    expect(double.lines).toEqual(['10', '12']);
  }, 30_000);
});

describe('shoal monitor', () => {
  it('follows events filtered by kind until --count, exits 1 when its node goes away, and stops after --for', async () => {
    const watch = runShoal(['monitor', nodes[0]!.admin, '--kind', 'joined,left', '--count', '2', '--json']);
    const quiet = runShoal(['monitor', nodes[2]!.admin, '--kind', 'failed', '--for', '1s']);
    await waitFor(async () => await metric(nodes[0]!, 'shoal_admin_event_clients') === 1, 10_000, () => watch.lines.join('\n'));
    const fourth = await startNode('n3', nodeFlags(['--seeds', nodes[0]!.address]));
    try {
      const lost = runShoal(['monitor', fourth.admin]);
      await waitFor(() => allSee(4, [...nodes, fourth]), 15_000, views);
      await waitFor(async () => await metric(fourth, 'shoal_admin_event_clients') === 1, 10_000, () => lost.lines.join('\n'));
      fourth.child.kill('SIGTERM');
      expect(await fourth.exited).toBe(0);
      expect(await watch.exited, watch.lines.join('\n')).toBe(0);
      const events = watch.lines.map((l) => JSON.parse(l) as { type: string; name: string; address: string });
      expect(events.map((e) => [e.type, e.name, e.address])).toEqual([['joined', 'n3', fourth.address], ['left', 'n3', fourth.address]]);
      expect(await lost.exited).toBe(1);
      expect(lost.lines.at(-1)).toBe(`shoal monitor: ${fourth.admin} ended the event stream: the node stopped, or dropped this reader as too slow`);
      expect(await quiet.exited).toBe(0);
      expect(quiet.lines).toEqual([]);
    } finally {
      if (fourth.child.exitCode === null) fourth.child.kill('SIGKILL');
    }
  }, 30_000);
});

describe('shoal keygen and shoal keys', () => {
  it('rotates a 3-node cluster to a new key (install, use, remove) with no member failed and no packet refused', async () => {
    const keyFile = join(dir, 'new.key');
    const made = await shoal('keygen', '--out', keyFile);
    expect(made.code, made.lines.join('\n')).toBe(0);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const fingerprint = /key ([0-9a-f]{16})$/.exec(made.lines[0]!)![1]!;
    expect((await shoal('keygen', '--out', keyFile)).code).toBe(2);
    const oldKey = readFileSync(join(dir, 'certs', 'gossip.key'), 'utf8').split('\n').find((l) => l !== '' && !l.startsWith('#'))!;
    const admins = nodes.map((n) => n.admin);

    for (const [action, key] of [['install', ['--key-file', keyFile]], ['use', ['--key-file', keyFile]], ['remove', ['--key', oldKey]]] as const) {
      const step = await shoal('keys', action, ...admins, ...key);
      expect(step.code, step.lines.join('\n')).toBe(0);
      expect(step.lines).toHaveLength(3);
      const list = await shoal('keys', 'list', ...admins);
      expect(list.lines[0]).toMatch(/^KEY\s+PRIMARY ON\s+HELD BY$/);
      if (action === 'install') expect(list.lines.slice(1).map((l) => l.split(/\s+/).slice(1))).toEqual([['3/3', '3/3'], ['0/3', '3/3']]);
      if (action === 'use') expect(list.lines[1]).toMatch(new RegExp(`^${fingerprint}\\s+3/3\\s+3/3$`));
    }
    const final = JSON.parse((await shoal('keys', 'list', admins[0]!, '--json')).lines[0]!) as { nodes: Record<string, { keys: string[]; primary: string }> };
    expect(final.nodes[admins[0]!]).toMatchObject({ keys: [fingerprint], primary: fingerprint });

    // Gossip and push-pull (every 2 s) run under the new key alone; give them a few rounds.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await allSee(3)).toBe(true);
    for (const n of nodes) {
      expect(await metric(n, 'shoal_swim_failures_total'), n.name).toBe(0);
      expect(await metric(n, 'shoal_gossip_dropped_unauthenticated_total'), n.name).toBe(0);
    }
    const primary = await shoal('keys', 'remove', admins[0]!, '--key-file', keyFile);
    expect(primary.code).toBe(1);
    expect(primary.lines).toEqual([`shoal keys: ${admins[0]}/keys answered 409: cannot remove the primary key; make another key primary first`]);
  }, 30_000);

  it('takes key changes only as JSON from the node\'s own host, never from a browser', async () => {
    const { admin } = nodes[0]!;
    const browser = await fetch(`http://${admin}/keys`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://evil.example' }, body: '{}' });
    expect(browser.status).toBe(403);
    const form = await fetch(`http://${admin}/keys`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    expect(form.status).toBe(403);
    const request = (remoteAddress: string, host: string) => ({ socket: { remoteAddress }, headers: { host, 'content-type': 'application/json' } }) as unknown as IncomingMessage;
    expect(localOnlyRefusal(request('10.0.0.7', '10.0.0.1:9946'))).toMatch(/only from the node's own host/);
    expect(localOnlyRefusal(request('127.0.0.1', 'attacker.example:9946'))).toMatch(/loopback Host/);
    expect(localOnlyRefusal(request('::ffff:127.0.0.1', '[::1]:9946'))).toBeUndefined();
    expect(parseKeyRequest('{"op":"install","key":"short"}')).toMatch(/base64 gossip key of 32 bytes/);
    expect(parseKeyRequest('{"op":"rotate"}')).toMatch(/op must be one of install, use, remove/);
  });
});

describe('the shoal command itself', () => {
  async function inProcess(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void out.push(String(line)));
    const error = vi.spyOn(console, 'error').mockImplementation((line: unknown) => void err.push(String(line)));
    try {
      const code = await main(argv);
      return { code, out: out.join('\n'), err: err.join('\n') };
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  }

  it('prints its version, a one-line summary per verb, and an example in every verb\'s --help', async () => {
    const { version } = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string };
    expect((await inProcess(['--version'])).out).toBe(version);
    expect((await inProcess(['version'])).out).toBe(version);
    const help = await inProcess(['--help']);
    const verbs = [...help.out.matchAll(/^ {2}([a-z]+) +(\S.*)$/gm)].map((m) => m[1]!);
    expect(verbs).toEqual(expect.arrayContaining(['run', 'replay', 'node', 'members', 'monitor', 'call', 'keygen', 'keys']));
    for (const verb of verbs) {
      const own = await inProcess([verb, '--help']);
      expect(own.code, verb).toBe(0);
      expect(own.out, verb).toMatch(new RegExp(`\\nexamples:\\n {2}shoal ${verb}( |$)`, 'm'));
    }
  }, 30_000);

  it('refuses bad input in one line with exit 2, an unreachable endpoint included', async () => {
    const cases: [string[], RegExp][] = [
      [['members', nodes[0]!.admin, '--bogus'], /^shoal members: unknown flag --bogus; see shoal members --help$/],
      [['members'], /^shoal members: give one admin address HOST:PORT/],
      [['members', 'nohost'], /^shoal members: invalid address "nohost"/],
      [['members', '127.0.0.1:1'], /^shoal members: cannot reach the admin endpoint at 127\.0\.0\.1:1: connection refused \(is it the node's --admin address, not its QUIC port\?\)$/],
      [['members', nodes[0]!.admin, '--status', 'dead'], /^shoal members: --status: unknown status "dead"; statuses: alive, suspect, failed, left$/],
      [['monitor', '127.0.0.1:1', '--count', '1'], /^shoal monitor: cannot reach the admin endpoint at 127\.0\.0\.1:1/],
      [['monitor', nodes[0]!.admin, '--kind', 'exploded'], /^shoal monitor: --kind: unknown event kind "exploded"; kinds: joined, /],
      [['monitor', nodes[0]!.admin, '--for', 'ever'], /^shoal monitor: --for must be a duration/],
      [['keys', 'list', '127.0.0.1:1'], /^shoal keys: cannot reach the admin endpoint/],
      [['keys', 'install', nodes[0]!.admin], /^shoal keys: give the key: --key-file F/],
      [['keys', 'install', nodes[0]!.admin, '--key', 'c2hvcnQ='], /^shoal keys: --key is not a base64 gossip key of 32 bytes/],
      [['keys', 'rotate', nodes[0]!.admin], /^shoal keys: want one of list, install, use, remove first, got "rotate"$/],
      [['call', nodes[0]!.address, 'list', 'extra', '--dev-certs', dir], /^shoal call: list takes no argument, got "extra"$/],
      [['frobnicate'], /^shoal: unknown command "frobnicate"; see shoal --help$/],
    ];
    for (const [argv, message] of cases) {
      const result = await inProcess(argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.err.split('\n'), argv.join(' ')).toHaveLength(1);
      expect(result.err, argv.join(' ')).toMatch(message);
    }
  }, 30_000);
});
