import { X509Certificate } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCertDir, type CertDir } from './quic-harness.ts';
import { runShoalToEnd, startNode, status, waitFor, type NodeProcess } from './node-harness.ts';

// Issue 11, finding 10: every start-up error of `shoal node` is one line and exit 2,
// found before the node reports healthy; dev certificates are safe to make concurrently.

/** A refused start ends well within this (tsx compiles on first load; 2 shared cores). */
const refusalBoundMs = 30_000;

let certs: CertDir;
let scratch = '';
let udpInUse: Socket;
let tcpInUse: Server;

beforeAll(async () => {
  certs = makeCertDir(['node', 'other']);
  scratch = mkdtempSync(join(tmpdir(), 'shoal-startup-'));
  udpInUse = createSocket('udp4');
  await new Promise<void>((resolve) => udpInUse.bind(0, '127.0.0.1', resolve));
  tcpInUse = createServer();
  await new Promise<void>((resolve) => tcpInUse.listen(0, '127.0.0.1', resolve));
});

afterAll(() => {
  udpInUse?.close();
  tcpInUse?.close();
  certs?.remove();
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

/** `--cert/--key/--ca --mtls --gossip-key-file` of the shared directory, `cert`/`key` overridable. */
function secureFiles(cert = join(certs.dir, 'node.pem'), key = join(certs.dir, 'node.key')): string[] {
  return ['--cert', cert, '--key', key, '--ca', join(certs.dir, 'ca.pem'), '--mtls', '--gossip-key-file', join(certs.dir, 'gossip.key')];
}

/** Runs `shoal node` and expects a refusal: exit 2, exactly one line naming the problem, no stack trace. */
async function expectRefused(args: readonly string[], message: RegExp): Promise<void> {
  const { code, lines } = await runShoalToEnd(['node', '--name', 'x', '--preset', 'local', ...args], refusalBoundMs);
  const output = lines.join('\n');
  expect(code, output).toBe(2);
  expect(lines, output).toHaveLength(1);
  expect(lines[0]).toMatch(/^shoal node: /);
  expect(lines[0]).toMatch(message);
  expect(output).not.toMatch(/^ {4}at /m);
  expect(output).not.toMatch(/node started/);
}

const udpPort = () => (udpInUse.address()).port;
const tcpPort = () => (tcpInUse.address() as { port: number }).port;

describe.concurrent('shoal node refuses to start with one line and exit 2', () => {
  it('--bind on a wildcard address without --advertise', async () => {
    await expectRefused(['--bind', '0.0.0.0:0', ...secureFiles()], /--bind 0\.0\.0\.0:0 is a wildcard address: add --advertise/);
  }, refusalBoundMs + 5_000);

  it('a UDP port already in use', async () => {
    await expectRefused(['--bind', `127.0.0.1:${udpPort()}`, ...secureFiles()], new RegExp(`--bind 127\\.0\\.0\\.1:${udpPort()}: the port is already in use`));
  }, refusalBoundMs + 5_000);

  it('an admin port already in use', async () => {
    await expectRefused(['--bind', '127.0.0.1:0', '--admin', `127.0.0.1:${tcpPort()}`, ...secureFiles()],
      new RegExp(`--admin 127\\.0\\.0\\.1:${tcpPort()}: the port is already in use`));
  }, refusalBoundMs + 5_000);

  it('--bind to an address not on this host', async () => {
    await expectRefused(['--bind', '192.0.2.1:0', ...secureFiles()], /--bind 192\.0\.2\.1:0: the address is not one of this host's/);
  }, refusalBoundMs + 5_000);

  it('--admin to an address not on this host', async () => {
    await expectRefused(['--bind', '127.0.0.1:0', '--admin', '192.0.2.1:0', ...secureFiles()], /--admin 192\.0\.2\.1:0: the address is not one of this host's/);
  }, refusalBoundMs + 5_000);

  it('--dev-certs below a file', async () => {
    await expectRefused(['--bind', '127.0.0.1:0', '--dev-certs', '/etc/passwd/sub'], /--dev-certs: cannot use \/etc\/passwd\/sub: ENOTDIR/);
  }, refusalBoundMs + 5_000);

  it('--dev-certs where no directory can be made (it used to spin at 100 % CPU)', async () => {
    await expectRefused(['--bind', '127.0.0.1:0', '--dev-certs', '/proc/forbidden'], /--dev-certs: cannot create \/proc\/forbidden/);
  }, refusalBoundMs + 5_000);

  it('--cert and --key swapped', async () => {
    await expectRefused(['--bind', '127.0.0.1:0', ...secureFiles(join(certs.dir, 'node.key'), join(certs.dir, 'node.pem'))],
      /tls\.cert: .*node\.key holds a PRIVATE KEY, not a CERTIFICATE \(are --cert and --key swapped\?\)/);
  }, refusalBoundMs + 5_000);

  it('a certificate file of garbage PEM', async () => {
    const garbage = join(scratch, 'garbage.pem');
    writeFileSync(garbage, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
    await expectRefused(['--bind', '127.0.0.1:0', ...secureFiles(garbage)], /tls\.cert: .*garbage\.pem: certificate 1 does not parse/);
  }, refusalBoundMs + 5_000);

  it('a key that does not belong to the certificate', async () => {
    await expectRefused(['--bind', '127.0.0.1:0', ...secureFiles(join(certs.dir, 'node.pem'), join(certs.dir, 'other.key'))],
      /tls\.key: .*other\.key is not the private key of the certificate in .*node\.pem/);
  }, refusalBoundMs + 5_000);

  it('a certificate of another CA', async () => {
    const foreign = makeCertDir(['node']);
    try {
      await expectRefused(['--bind', '127.0.0.1:0', ...secureFiles(join(foreign.dir, 'node.pem'), join(foreign.dir, 'node.key'))],
        /tls\.cert: .*node\.pem does not chain to the CA in .*ca\.pem/);
    } finally {
      foreign.remove();
    }
  }, refusalBoundMs + 5_000);

  it('an unknown --swim field', async () => {
    await expectRefused(['--bind', '127.0.0.1:0', ...secureFiles(), '--swim', 'bogusField=1'], /--swim: unknown field "bogusField"; fields: .*probeIntervalMs/);
  }, refusalBoundMs + 5_000);
});

describe('--dev-certs on one new directory, four nodes started at once', () => {
  const started: NodeProcess[] = [];
  afterAll(() => {
    for (const node of started) if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
  });

  it('all four start, share one CA and one gossip key, and form one cluster', async () => {
    const dir = join(scratch, 'dev');
    const ports = await freeUdpPorts(4);
    const addresses = ports.map((p) => `127.0.0.1:${p}`);
    const names = ['c0', 'c1', 'c2', 'c3'];
    const results = await Promise.allSettled(names.map((name, i) => startNode(name, [
      '--bind', addresses[i]!, '--admin', '127.0.0.1:0', '--dev-certs', dir, '--preset', 'local', '--rpc-probe-ms', '0',
      '--seeds', addresses.filter((_, j) => j !== i).join(','),
    ])));
    for (const r of results) if (r.status === 'fulfilled') started.push(r.value);
    expect(results.map((r) => r.status === 'rejected' ? String(r.reason) : 'started')).toEqual(names.map(() => 'started'));

    // One CA: every node certificate verifies against DIR/ca.pem; its key sits apart, in a 0700 directory.
    const ca = new X509Certificate(readFileSync(join(dir, 'ca.pem')));
    for (const name of names) expect(new X509Certificate(readFileSync(join(dir, `${name}.pem`))).verify(ca.publicKey), name).toBe(true);
    expect(existsSync(join(dir, 'ca.key'))).toBe(false);
    expect(statSync(join(dir, 'ca-private')).mode & 0o777).toBe(0o700);
    // One gossip key and one CA for all: they form one cluster (mutual TLS, sealed gossip).
    await waitFor(async () => {
      const views = await Promise.all(started.map((n) => status(n)));
      return views.every((s) => s !== undefined && s.members.filter((m) => m.state === 'alive').length === names.length);
    }, 20_000, async () => JSON.stringify(await Promise.all(started.map(async (n) => (await status(n))?.members.map((m) => `${m.name}=${m.state}`)))));
    for (const node of started) expect((await status(node))?.security).toMatchObject({ insecure: false, mtls: true, gossipEncrypted: true, warnings: [] });
  }, 90_000);
});

/** `count` UDP ports free on loopback a moment ago (bound to port 0, then released). */
async function freeUdpPorts(count: number): Promise<number[]> {
  const sockets = await Promise.all(Array.from({ length: count }, () => new Promise<Socket>((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = sockets.map((s) => s.address().port);
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}
