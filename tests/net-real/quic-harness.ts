import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyring, QuicTransport, RealClock, type QuicTransportOptions, type TlsMaterial } from '../../net-real/index.ts';
import type { TransportHarness } from '../compliance/transport-suite.ts';

const repoRoot = join(import.meta.dirname, '..', '..');

/** A temporary directory with a dev CA and node certificates; `remove()` deletes it. */
export interface CertDir {
  readonly dir: string;
  /** TLS material for `node` (made by `make-dev-certs.sh`), trusting the directory's CA. */
  tls(node: string, mutual?: boolean): TlsMaterial;
  remove(): void;
}

export function makeCertDir(nodes: readonly string[] = ['node', 'other']): CertDir {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-certs-'));
  execFileSync(join(repoRoot, 'certs', 'make-dev-certs.sh'), [dir, ...nodes], { stdio: 'ignore' });
  return {
    dir,
    tls(node, mutual = false) {
      return {
        cert: readFileSync(join(dir, `${node}.pem`), 'utf8'),
        key: readFileSync(join(dir, `${node}.key`), 'utf8'),
        ca: readFileSync(join(dir, 'ca.pem'), 'utf8'),
        mutual,
      };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Issues `DIR/NAME.pem` and `DIR/NAME.key` from the directory's development CA with the
 * given extended key usage (e.g. `emailProtection`), for tests of certificates a node must refuse.
 */
export function issueCertificate(dir: string, name: string, extendedKeyUsage: string): void {
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=${extendedKeyUsage}\nsubjectAltName=IP:127.0.0.1\n`);
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`,
    '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.csr`)], { stdio: 'ignore' });
  execFileSync('openssl', ['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca-private', 'ca.key'),
    '-set_serial', '7', '-days', '2', '-extfile', ext, '-out', join(dir, `${name}.pem`)], { stdio: 'ignore' });
}

/** Idle timeout used on loopback in tests: short, so a dead peer surfaces fast. */
export const testIdleTimeoutMs = 1_000;
/** Stream limit used in tests: small, so the stream-credit test stays cheap. */
export const testMaxStreams = 64;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function waitFor(cond: () => boolean, boundMs: number, pollMs = 5): Promise<boolean> {
  const deadline = performance.now() + boundMs;
  while (!cond()) {
    if (performance.now() >= deadline) return false;
    await sleep(pollMs);
  }
  return true;
}

/** Starts a transport on loopback with test-sized timeouts. */
export function startTestTransport(certs: CertDir, overrides: Partial<QuicTransportOptions> = {}): Promise<QuicTransport> {
  return QuicTransport.start({
    bind: '127.0.0.1:0', tls: certs.tls('node'), idleTimeoutMs: testIdleTimeoutMs, maxStreams: testMaxStreams,
    ...overrides,
  });
}

/**
 * The compliance harness over real QUIC on loopback: each endpoint is a `QuicTransport`
 * on an ephemeral port; a crash blackholes its socket (no CONNECTION_CLOSE leaves) and
 * releases it. Gossip is sealed under a shared keyring, as in production.
 */
export function quicHarness(certs: CertDir): () => Promise<TransportHarness> {
  return async () => {
    const endpoints = new Map<string, QuicTransport>();
    const keyring = new Keyring([Buffer.alloc(32, 7)]);
    return {
      async endpoint(name) {
        const transport = await startTestTransport(certs, { keyring });
        endpoints.set(name, transport);
        return transport;
      },
      clock: new RealClock(),
      advance: sleep,
      waitFor,
      async crash(name) {
        await endpoints.get(name)?.crash();
      },
      idleTimeoutMs: testIdleTimeoutMs,
      async close() {
        await Promise.all([...endpoints.values()].map((t) => t.close()));
      },
    };
  };
}
