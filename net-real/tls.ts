import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { native } from '@matrixai/quic';
import { ConfigError } from '../core/index.ts';
import { certificateChainLengthMax, chainProblem, type TlsPurpose } from './tls-verify.ts';

/** PEM text of a node's TLS identity and the cluster CA it trusts. */
export interface TlsMaterial {
  /** The node's certificate chain (PEM), signed by the cluster CA. */
  readonly cert: string;
  /** The node's private key (PEM). */
  readonly key: string;
  /** The cluster CA certificate(s) (PEM): peers' certificates must chain to it. */
  readonly ca: string;
  /**
   * Mutual TLS: a node accepts a connection only if the client presents a certificate
   * signed by the cluster CA (and always presents its own when connecting).
   * @default false
   */
  readonly mutual?: boolean;
}

export interface TlsPaths {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
  readonly mutual?: boolean;
}

/** CA certificates one `ca` file may hold (a bundle during a CA rotation). */
export const caCertificatesMax = 16;

const pemBlock = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** The PEM blocks of a file, with their labels (`CERTIFICATE`, `PRIVATE KEY`, ...). */
function pemBlocks(text: string): { label: string; pem: string }[] {
  return [...text.matchAll(pemBlock)].map((m) => ({ label: m[1]!, pem: m[0] }));
}

/** The first line of an OpenSSL error, so a message stays on one line. */
function reason(error: unknown): string {
  return (error as Error).message.split('\n')[0]!;
}

function certificates(field: 'cert' | 'ca', file: string, text: string, countMax: number): X509Certificate[] {
  const blocks = pemBlocks(text);
  const certs = blocks.filter((b) => b.label === 'CERTIFICATE');
  if (certs.length === 0) {
    const other = blocks[0]?.label;
    const hint = other === undefined ? 'holds no PEM block' : `holds a ${other}, not a CERTIFICATE${other.includes('KEY') ? ' (are --cert and --key swapped?)' : ''}`;
    throw new ConfigError(`tls.${field}`, `${file} ${hint}`);
  }
  if (certs.length > countMax) throw new ConfigError(`tls.${field}`, `${file} holds ${certs.length} certificates, at most ${countMax}`);
  return certs.map((b, i) => {
    try {
      return new X509Certificate(b.pem);
    } catch (error) {
      throw new ConfigError(`tls.${field}`, `${file}: certificate ${i + 1} does not parse: ${reason(error)}`);
    }
  });
}

function privateKey(file: string, text: string): KeyObject {
  const keys = pemBlocks(text).filter((b) => b.label.endsWith('PRIVATE KEY'));
  if (keys.length !== 1) {
    const hint = pemBlocks(text).some((b) => b.label === 'CERTIFICATE') ? ' (are --cert and --key swapped?)' : '';
    throw new ConfigError('tls.key', `${file} must hold exactly one PEM private key, found ${keys.length}${hint}`);
  }
  try {
    return createPrivateKey(keys[0]!.pem);
  } catch (error) {
    throw new ConfigError('tls.key', `${file} does not parse as a private key: ${reason(error)}`);
  }
}

/** A one-line reason for a chain the peers would refuse. */
function chainProblemText(problem: native.CryptoError, paths: TlsPaths, leaf: X509Certificate, purpose: TlsPurpose): string {
  switch (problem) {
    case native.CryptoError.UnsupportedCertificate: return `${paths.cert}: its extended key usage does not include ${purpose}, which this node needs`;
    case native.CryptoError.CertificateExpired: return `${paths.cert}: a certificate of the chain or the CA in ${paths.ca} is outside its validity period (leaf valid ${leaf.validFrom} to ${leaf.validTo})`;
    case native.CryptoError.UnknownCA: return `${paths.cert} does not chain to the CA in ${paths.ca}`;
    default: return `${paths.cert} is refused (TLS alert ${problem})`;
  }
}

/**
 * Checks TLS material against itself, so a node refuses to start instead of failing every
 * handshake later: the certificate and the key parse, the key belongs to the certificate,
 * the certificate chains to the CA and is within its validity period, and its extended
 * key usage allows every purpose in `purposes`. Throws `ConfigError` naming the file.
 */
export function checkTlsMaterial(material: TlsMaterial, paths: TlsPaths, purposes: readonly TlsPurpose[]): void {
  const chain = certificates('cert', paths.cert, material.cert, certificateChainLengthMax);
  const cas = certificates('ca', paths.ca, material.ca, caCertificatesMax);
  const key = privateKey(paths.key, material.key);
  const leaf = chain[0]!;
  if (!leaf.checkPrivateKey(key)) throw new ConfigError('tls.key', `${paths.key} is not the private key of the certificate in ${paths.cert}`);
  for (const purpose of purposes) {
    const problem = chainProblem(chain, cas, purpose, Date.now());
    if (problem !== undefined) throw new ConfigError('tls.cert', chainProblemText(problem, paths, leaf, purpose));
  }
}

/**
 * Reads TLS material from files and checks it (`checkTlsMaterial`) for `purposes`; an
 * unreadable, unparsable or inconsistent file is a `ConfigError` naming it.
 */
export async function loadTlsMaterial(paths: TlsPaths, purposes: readonly TlsPurpose[]): Promise<TlsMaterial> {
  const read = async (field: 'cert' | 'key' | 'ca'): Promise<string> => {
    let text: string;
    try {
      text = await readFile(paths[field], 'utf8');
    } catch (error) {
      throw new ConfigError(`tls.${field}`, `cannot read ${paths[field]}: ${(error as Error).message}`);
    }
    if (!text.includes('-----BEGIN ')) throw new ConfigError(`tls.${field}`, `${paths[field]} is not a PEM file`);
    return text;
  };
  const material = { cert: await read('cert'), key: await read('key'), ca: await read('ca'), mutual: paths.mutual ?? false };
  checkTlsMaterial(material, paths, purposes);
  return material;
}
