import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNodeFlags } from '../../net-real/node/index.ts';
import { runShoalToEnd, startNode, status, waitFor, type NodeProcess } from './node-harness.ts';

// `shoal node --app`: a user's app on a real node, beside membership on its one QUIC port,
// called with `shoal call`, its reported values in /status and /metrics; and every way of
// getting `--app` wrong refused in one line with exit 2.

const fixtures = 'tests/fixtures/node-app';
const tally = `${fixtures}/tally.ts`;
/** A refused start takes tsx's first compile and the certificates; well within this. */
const refusalBoundMs = 30_000;

let certDir = '';
let node: NodeProcess;
let udpInUse: Socket;

beforeAll(async () => {
  certDir = mkdtempSync(join(tmpdir(), 'shoal-node-app-'));
  udpInUse = createSocket('udp4');
  await new Promise<void>((resolve) => udpInUse.bind(0, '127.0.0.1', resolve));
  node = await startNode('solo', ['--bind', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--dev-certs', certDir, '--preset', 'local', '--rpc-probe-ms', '0',
    '--app', tally, '--app-config', '{"label":"blue","start":10}', '--app', `${fixtures}/plain.mjs`, '--app-config', '{}']);
  await waitFor(async () => (await status(node))?.ready === true, 10_000, () => node.lines.join('\n'));
}, 60_000);

afterAll(() => {
  if (node !== undefined && node.child.exitCode === null) node.child.kill('SIGKILL');
  udpInUse?.close();
  if (certDir !== '') rmSync(certDir, { recursive: true, force: true });
});

async function call(args: readonly string[]): Promise<{ code: number | string; lines: string[] }> {
  return await runShoalToEnd(['call', node.address, ...args, '--dev-certs', certDir], refusalBoundMs);
}

async function appValues(): Promise<Record<string, Record<string, unknown>> | undefined> {
  return (await status(node) as unknown as { apps: Record<string, Record<string, unknown>> } | undefined)?.apps;
}

describe('shoal node --app', () => {
  it('serves the app on the node\'s port: shoal call reaches it, /status and /metrics show what it reported', async () => {
    const started = JSON.parse(node.lines.find((l) => l.includes('"node started"'))!) as { apps: { name: string; source: string; services: string[] }[] };
    expect(started.apps).toEqual([
      { name: 'tally', source: tally, services: ['fixture.tally.v1'] },
      { name: 'plain', source: `${fixtures}/plain.mjs`, services: [] },
    ]);
    const add = await call(['fixture.tally.v1/add', '{"n":5}']);
    expect(add.code, add.lines.join('\n')).toBe(0);
    expect(JSON.parse(add.lines[0]!)).toEqual({ total: 15 });
    expect(await appValues()).toEqual({
      tally: { label: 'blue', total: 15, calls: 1, even: false },
      plain: { loaded: true, members: 1 },
    });
    const metrics = await (await fetch(`http://${node.admin}/metrics`)).text();
    const appLines = metrics.split('\n').filter((l) => l.startsWith('shoal_app_value{')).sort();
    expect(appLines).toEqual([
      'shoal_app_value{app="plain",key="loaded",node="solo"} 1',
      'shoal_app_value{app="plain",key="members",node="solo"} 1',
      'shoal_app_value{app="tally",key="calls",node="solo"} 1',
      'shoal_app_value{app="tally",key="even",node="solo"} 0',
      'shoal_app_value{app="tally",key="total",node="solo"} 15',
    ]);
    // With --app and no --director/--worker-filter, the director/worker example does not run.
    const example = await call(['cluster.worker.v1/compute', '{"n":2}']);
    expect(example.code).toBe(1);
    expect(example.lines.join('\n')).toMatch(/error: UNIMPLEMENTED: /);
  });

  // A plain exception reaches the caller as UNKNOWN (docs/PROTOCOL.md: "handler throws anything else"), as in the simulator.
  it('an app that throws while handling a call fails that call (UNKNOWN); the node stays up and serves the next', async () => {
    const failed = await call(['fixture.tally.v1/fail', '{}']);
    expect(failed.code).toBe(1);
    expect(failed.lines).toEqual(['error: UNKNOWN: handler failed: the tally app has a bug']);
    expect(node.child.exitCode).toBeNull();
    expect((await fetch(`http://${node.admin}/health`)).status).toBe(200);
    const add = await call(['fixture.tally.v1/add', '{"n":1}']);
    expect(add.code, add.lines.join('\n')).toBe(0);
    expect(JSON.parse(add.lines[0]!)).toEqual({ total: 16 });
    const s = await status(node) as unknown as { rpc: { calls: { server: Record<string, Record<string, number>> } } };
    expect(s.rpc.calls.server['fixture.tally.v1/fail']).toEqual({ UNKNOWN: 1 });
  });
});

describe('shoal node --app refusals: exit 2, one line naming the file and the cause', () => {
  /** Runs `shoal node` with `args`; with `portInUse` it binds a UDP port already taken, so an app refusal proves it came first. */
  async function refused(args: readonly string[], portInUse: boolean): Promise<string> {
    const port = portInUse ? udpInUse.address().port : 0;
    const { code, lines } = await runShoalToEnd(['node', '--name', 'x', '--bind', `127.0.0.1:${port}`, '--dev-certs', certDir, '--preset', 'local', ...args], refusalBoundMs);
    expect(code, lines.join('\n')).toBe(2);
    expect(lines, lines.join('\n')).toHaveLength(1);
    expect(lines[0]).not.toMatch(/ {4}at /);
    return lines[0]!;
  }

  it.each([
    ['a missing module', ['--app', `${fixtures}/missing.ts`], /^shoal node: --app tests\/fixtures\/node-app\/missing\.ts: no such file \(/],
    ['a module that is not an app', ['--app', `${fixtures}/not-an-app.ts`], /^shoal node: --app tests\/fixtures\/node-app\/not-an-app\.ts: not an app: .*defineApp/],
    ['--app-config that is not JSON', ['--app', tally, '--app-config', '{label:'], /^shoal node: --app-config of tests\/fixtures\/node-app\/tally\.ts: not JSON: /],
    ['a config the app refuses', ['--app', tally, '--app-config', '{"start":"ten"}'], /^shoal node: --app tests\/fixtures\/node-app\/tally\.ts: app tally: config refused: start must be an integer, got "ten"$/],
    ['the example configured wrong', ['--app', 'examples/director-worker/app.ts', '--app-config', '{"director":"fastest"}'],
      /^shoal node: --app examples\/director-worker\/app\.ts: app director-worker: config refused: director: must be true, false or a strategy \(round-robin, /],
  ])('%s, before binding any port', async (_, args, message) => {
    expect(await refused(args, true)).toMatch(message);
  });

  it('an app whose start throws: the node closes what it opened and exits', async () => {
    expect(await refused(['--app', `${fixtures}/start-throws.ts`], false))
      .toMatch(/^shoal node: --app tests\/fixtures\/node-app\/start-throws\.ts: app start-throws: start failed: cannot reach the database at db\.invalid:5432$/);
  });
});

describe('--app flags', () => {
  const flags = { name: 'a', bind: '127.0.0.1:1', 'dev-certs': '/d' };
  const names = async (extra: Record<string, unknown>) => (await parseNodeFlags({ ...flags, ...extra } as never)).apps.map((p) => `${p.app.name}<${p.source}`);

  it('runs the example when no --app is given or --director/--worker-filter ask for it, and each --app beside it', async () => {
    expect(await names({})).toEqual(['director-worker<built-in']);
    expect(await names({ app: [tally] })).toEqual([`tally<${tally}`]);
    expect(await names({ app: [tally], director: true })).toEqual(['director-worker<built-in', `tally<${tally}`]);
    expect((await parseNodeFlags({ ...flags, 'worker-filter': 'gpu' })).apps[0]?.config).toEqual({ workerFilter: 'gpu', director: false });
  });

  it.each([
    [{ app: [tally, tally] }, /--app tests\/fixtures\/node-app\/tally\.ts: app tally is already loaded \(from tests\/fixtures\/node-app\/tally\.ts\)/],
    [{ app: ['examples/director-worker/app.ts'], director: true }, /app director-worker is already loaded \(from built-in\)/],
    [{ app: [tally, `${fixtures}/plain.mjs`], 'app-config': ['{}'] }, /1 --app-config for 2 --app: give one per --app/],
  ])('refuses %j', async (extra, message) => {
    await expect(parseNodeFlags({ ...flags, ...extra } as never)).rejects.toThrow(message);
  });
});
