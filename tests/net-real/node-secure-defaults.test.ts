import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { native } from '@matrixai/quic';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RpcClient, RpcError } from '../../core/rpc/index.ts';
import { createRealEnv, verifyClusterChain, type TlsMaterial } from '../../net-real/index.ts';
import { nodeService } from '../../net-real/node/index.ts';
import { issueCertificate, makeCertDir, type CertDir } from './quic-harness.ts';
import { runShoalToEnd, startNode, status, type NodeProcess } from './node-harness.ts';

// Issue 11, finding 11: secure by default. Mutual TLS and an encrypted gossip key unless
// `--insecure`; `--dev-certs` makes a secure development cluster by itself; a leaf
// certificate's extended key usage must allow what it is used for.

/** A refused start, a call or a handshake ends well within this. */
const boundMs = 30_000;

let certs: CertDir;
let scratch = '';
const running: NodeProcess[] = [];

beforeAll(() => {
  certs = makeCertDir(['node', 'client']);
  issueCertificate(certs.dir, 'mail', 'emailProtection');
  issueCertificate(certs.dir, 'serveronly', 'serverAuth');
  scratch = mkdtempSync(join(tmpdir(), 'shoal-secure-'));
});

afterEach(() => {
  for (const node of running.splice(0)) if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
});

afterAll(() => {
  certs?.remove();
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

function files(name: string, dir = certs.dir): string[] {
  return ['--cert', join(dir, `${name}.pem`), '--key', join(dir, `${name}.key`), '--ca', join(dir, 'ca.pem')];
}

function material(name: string, mutual: boolean, dir = certs.dir): TlsMaterial {
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  return { cert: read(`${name}.pem`), key: read(`${name}.key`), ca: read('ca.pem'), mutual };
}

async function launch(name: string, args: readonly string[]): Promise<NodeProcess> {
  const node = await startNode(name, ['--bind', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--preset', 'local', '--rpc-probe-ms', '0', ...args]);
  running.push(node);
  return node;
}

/** Calls `shoal.node.v1/status` on `node` from this process with `tls`: the name it answers, or the error code. */
async function callFrom(tls: TlsMaterial, node: NodeProcess): Promise<string> {
  const real = await createRealEnv({ bind: '127.0.0.1:0', tls, idleTimeoutMs: 2_000, connectTimeoutMs: 5_000 });
  const client = new RpcClient(real.env);
  try {
    return (await client.service(nodeService, node.address).status({}, { timeoutMs: 5_000 })).name;
  } catch (error) {
    return `refused: ${error instanceof RpcError ? error.code : String(error)}`;
  } finally {
    client.close();
    await real.close();
  }
}

async function expectRefused(args: readonly string[], ...messages: RegExp[]): Promise<void> {
  const { code, lines } = await runShoalToEnd(['node', '--name', 'x', '--bind', '127.0.0.1:0', ...args], boundMs);
  expect(code, lines.join('\n')).toBe(2);
  expect(lines, lines.join('\n')).toHaveLength(1);
  for (const message of messages) expect(lines[0]).toMatch(message);
}

describe('--cert/--key/--ca: secure unless --insecure', () => {
  it('refuses to start without --mtls, saying so and that --insecure exists', async () => {
    await expectRefused([...files('node'), '--gossip-key-file', join(certs.dir, 'gossip.key')], /also need --mtls \(mutual TLS\);/, /--insecure/);
  }, boundMs + 5_000);

  it('refuses to start without a gossip key, saying so and that --insecure exists', async () => {
    await expectRefused([...files('node'), '--mtls'], /also need --gossip-key-file F \(encrypted gossip\);/, /--insecure/);
  }, boundMs + 5_000);

  it('--insecure starts with server-only TLS and plaintext gossip, warns at start and in /status; a caller without a certificate gets through', async () => {
    const node = await launch('open', [...files('node'), '--insecure']);
    const started = node.lines.findIndex((l) => l.includes('"node started"'));
    const warnings = node.lines.slice(0, started).map((l) => JSON.parse(l) as { level: number; msg: string }).filter((e) => e.level === 40).map((e) => e.msg);
    expect(warnings).toEqual([expect.stringMatching(/^mutual TLS is off/), expect.stringMatching(/^gossip is plaintext/)]);
    expect((await status(node))?.security).toEqual({ insecure: true, mtls: false, gossipEncrypted: false, warnings });
    expect(await callFrom(material('client', false), node)).toBe('open');
  }, boundMs + 20_000);

  it('--mtls with a gossip key runs secure: a caller without a certificate is refused, a member certificate gets through', async () => {
    const node = await launch('closed', [...files('node'), '--mtls', '--gossip-key-file', join(certs.dir, 'gossip.key')]);
    expect((await status(node))?.security).toEqual({ insecure: false, mtls: true, gossipEncrypted: true, warnings: [] });
    expect(await callFrom(material('client', false), node)).toMatch(/^refused: /);
    expect(await callFrom(material('client', true), node)).toBe('closed');
  }, boundMs + 20_000);
});

describe('--dev-certs DIR', () => {
  it('gives mutual TLS and encrypted gossip; the CA key stays apart; `shoal call --dev-certs DIR` works, a caller without a certificate does not', async () => {
    const dir = join(scratch, 'dev');
    const node = await launch('dev', ['--dev-certs', dir]);
    expect((await status(node))?.security).toEqual({ insecure: false, mtls: true, gossipEncrypted: true, warnings: [] });
    expect(readFileSync(join(dir, 'gossip.key'), 'utf8')).toMatch(/^[A-Za-z0-9+/]{43}=$/m);
    expect(existsSync(join(dir, 'ca.key'))).toBe(false);
    expect(statSync(join(dir, 'ca-private')).mode & 0o777).toBe(0o700);
    expect(await callFrom(material('dev', false, dir), node)).toMatch(/^refused: /);
    const call = await runShoalToEnd(['call', node.address, 'shoal.node.v1/status', '--dev-certs', dir], boundMs);
    expect(call.code, call.lines.join('\n')).toBe(0);
    expect(JSON.parse(call.lines[0]!)).toMatchObject({ name: 'dev', address: node.address });
  }, boundMs * 2);

  it('with --insecure: callers without a certificate get through, gossip stays encrypted, the warning shows', async () => {
    const dir = join(scratch, 'dev-open');
    const node = await launch('devopen', ['--dev-certs', dir, '--insecure']);
    expect((await status(node))?.security).toEqual({
      insecure: true, mtls: false, gossipEncrypted: true, warnings: [expect.stringMatching(/^mutual TLS is off/)],
    });
    expect(await callFrom(material('devopen', false, dir), node)).toBe('devopen');
  }, boundMs + 20_000);
});

describe('extended key usage', () => {
  const der = (name: string) => new Uint8Array(new X509Certificate(readFileSync(join(certs.dir, `${name}.pem`))).raw);
  const caDers = () => [der('ca')];

  it.each([
    ['node', 'serverAuth', undefined],
    ['node', 'clientAuth', undefined],
    ['mail', 'serverAuth', native.CryptoError.UnsupportedCertificate],
    ['mail', 'clientAuth', native.CryptoError.UnsupportedCertificate],
    ['serveronly', 'serverAuth', undefined],
    ['serveronly', 'clientAuth', native.CryptoError.UnsupportedCertificate],
  ] as const)('%s for %s: %s', async (name, purpose, alert) => {
    expect(await verifyClusterChain([der(name)], caDers(), purpose)).toBe(alert);
  });

  it('a node refuses to start with an emailProtection-only certificate', async () => {
    await expectRefused([...files('mail'), '--mtls', '--gossip-key-file', join(certs.dir, 'gossip.key')],
      /tls\.cert: .*mail\.pem: its extended key usage does not include serverAuth/);
  }, boundMs + 5_000);

  it('a mutual-TLS node refuses a caller presenting an emailProtection-only or serverAuth-only certificate of its own CA', async () => {
    const node = await launch('eku', [...files('node'), '--mtls', '--gossip-key-file', join(certs.dir, 'gossip.key')]);
    expect(await callFrom(material('mail', true), node)).toMatch(/^refused: /);
    expect(await callFrom(material('serveronly', true), node)).toMatch(/^refused: /);
    expect(await callFrom(material('client', true), node)).toBe('eku');
  }, boundMs + 20_000);
});
