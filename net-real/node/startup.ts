import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '../../core/index.ts';
import { packageFile } from '../package-files.ts';
import { loadTlsMaterial, type TlsMaterial } from '../tls.ts';
import type { TlsPurpose } from '../tls-verify.ts';
import { NodeFlagError, readGossipKeyFile, type NodeConfig } from './flags.ts';

// What a node prepares and checks before it listens: development certificates, TLS
// material and gossip keys, and addresses it cannot listen on, each as a one-line
// `NodeFlagError` (exit 2) instead of a stack trace or a node that fails later.

const devCertScript = packageFile('certs', 'make-dev-certs.sh');

/**
 * Longest `make-dev-certs.sh` may take: it waits up to 60 s for another process holding the
 * directory's lock, then needs well under a second to make a CA and a certificate.
 */
export const devCertsTimeoutMs = 90_000;

/** Files of a development directory a member uses (the CA's key stays in `ca-private/`). */
export interface DevCertPaths {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
  readonly gossipKey: string;
}

/** The error's own code or that of an error it wraps (`cause`), e.g. `EADDRINUSE`. */
function errorCode(error: unknown): string | undefined {
  let current = error as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    if (typeof current.code === 'string' && /^E[A-Z]+$/.test(current.code)) return current.code;
    current = current.cause as typeof current;
  }
  return undefined;
}

/**
 * `mkdir -p` one level at a time. Node 20's recursive mkdir spins at 100 % CPU on a path
 * it cannot create (under /proc); this fails with the reason instead.
 */
async function makeDirectory(flag: string, dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    try {
      if ((await stat(d)).isDirectory()) break;
      throw new NodeFlagError(`${flag}: ${d} is not a directory`);
    } catch (error) {
      if (error instanceof NodeFlagError) throw error;
      if (errorCode(error) !== 'ENOENT') throw new NodeFlagError(`${flag}: cannot use ${dir}: ${(error as Error).message}`);
    }
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) {
    try {
      await mkdir(d, { mode: 0o700 });
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw new NodeFlagError(`${flag}: cannot create ${d}: ${(error as Error).message}`);
    }
  }
}

/**
 * Makes (or reuses) a development CA, gossip key and the certificate of `name` in `dir`.
 * Safe when several processes start at once on one directory: `make-dev-certs.sh` takes
 * an exclusive lock and keeps whatever another run already made.
 */
export async function ensureDevCerts(dir: string, name: string): Promise<DevCertPaths> {
  const paths = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`), ca: join(dir, 'ca.pem'), gossipKey: join(dir, 'gossip.key') };
  if (Object.values(paths).every((file) => existsSync(file))) return paths;
  await makeDirectory('--dev-certs', dir);
  try {
    await promisify(execFile)('bash', [devCertScript, dir, name], { timeout: devCertsTimeoutMs, killSignal: 'SIGKILL' });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim().split('\n').join('; ');
    throw new NodeFlagError(`--dev-certs: cannot make certificates in ${dir}: ${stderr || (error as Error).message.split('\n')[0]}`);
  }
  return paths;
}

/** A `--bind`/`--admin` address the node cannot listen on, as one line naming the flag. */
export function listenError(flag: string, address: string, error: unknown): Error {
  if (error instanceof ConfigError) return new NodeFlagError(`--${error.field}: ${error.message.slice(error.field.length + 2)}`);
  const code = errorCode(error);
  const reasons: Record<string, string> = {
    EADDRINUSE: 'the port is already in use',
    EADDRNOTAVAIL: 'the address is not one of this host\'s',
    EACCES: 'permission denied (ports below 1024 need privileges)',
    ENOTFOUND: 'the host name does not resolve',
  };
  if (code === undefined) return error as Error;
  return new NodeFlagError(`--${flag} ${address}: ${reasons[code] ?? `cannot listen (${code})`}`);
}

/** TLS material and gossip keys of a node, loaded and checked before anything listens. */
export async function loadSecurity(config: NodeConfig): Promise<{ tls: TlsMaterial; gossipKeys: readonly Uint8Array[] | undefined }> {
  const dev = config.tls === undefined ? await ensureDevCerts(config.devCertsDir!, config.name) : undefined;
  // A member serves (serverAuth) and, with mutual TLS, presents the same certificate when it dials (clientAuth).
  const purposes: TlsPurpose[] = config.mutual ? ['serverAuth', 'clientAuth'] : ['serverAuth'];
  let tls: TlsMaterial;
  try {
    tls = await loadTlsMaterial({ ...(config.tls ?? dev!), mutual: config.mutual }, purposes);
  } catch (error) {
    if (error instanceof ConfigError) throw new NodeFlagError(error.message);
    throw error;
  }
  const gossipKeys = config.gossipKeys ?? (dev === undefined ? undefined : await readGossipKeyFile(dev.gossipKey, '--dev-certs'));
  return { tls, gossipKeys };
}
