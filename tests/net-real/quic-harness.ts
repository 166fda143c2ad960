import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
