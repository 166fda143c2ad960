import { X509Certificate } from 'node:crypto';
import { native } from '@matrixai/quic';

/** Longest certificate chain accepted (leaf, intermediates, then a cluster CA). */
export const certificateChainLengthMax = 4;

/** What a certificate authenticates: a server (the side that accepts) or a client (the side that dials). */
export type TlsPurpose = 'serverAuth' | 'clientAuth';

/** Extended key usage OIDs (RFC 5280 §4.2.1.12). */
export const extendedKeyUsageOids: Readonly<Record<TlsPurpose | 'anyExtendedKeyUsage', string>> = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  anyExtendedKeyUsage: '2.5.29.37.0',
};

/**
 * Whether a leaf certificate may be used for `purpose`. A certificate without the extended
 * key usage extension may be used for anything (RFC 5280); one with it must list the
 * purpose (or anyExtendedKeyUsage), so an e-mail (emailProtection-only) certificate from
 * the same CA cannot pose as a cluster member.
 */
export function allowsPurpose(cert: X509Certificate, purpose: TlsPurpose): boolean {
  const usages = cert.keyUsage as string[] | undefined;
  if (usages === undefined || usages.length === 0) return true;
  return usages.includes(extendedKeyUsageOids[purpose]) || usages.includes(extendedKeyUsageOids.anyExtendedKeyUsage);
}

/**
 * Checks a parsed chain (leaf first) against the cluster CAs: every certificate within its
 * validity period, the chain leads to one of the CAs, and the leaf allows `purpose`.
 * Returns a TLS alert code on failure, undefined on success.
 */
export function chainProblem(chain: readonly X509Certificate[], cas: readonly X509Certificate[], purpose: TlsPurpose, nowMs: number): native.CryptoError | undefined {
  const expired = (cert: X509Certificate) => nowMs < Date.parse(cert.validFrom) || nowMs > Date.parse(cert.validTo);
  const leaf = chain[0];
  if (leaf === undefined) return native.CryptoError.CertificateRequired;
  if (!allowsPurpose(leaf, purpose)) return native.CryptoError.UnsupportedCertificate;
  const issuedBy = (cert: X509Certificate, issuer: X509Certificate) => cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  let current: X509Certificate = leaf;
  for (let depth = 0; depth < certificateChainLengthMax; depth++) {
    if (expired(current)) return native.CryptoError.CertificateExpired;
    const subject: X509Certificate = current;
    const ca = cas.find((c) => issuedBy(subject, c));
    if (ca !== undefined) return expired(ca) ? native.CryptoError.CertificateExpired : undefined;
    const next = chain.find((c) => c !== subject && c.ca && issuedBy(subject, c));
    if (next === undefined) return native.CryptoError.UnknownCA;
    current = next;
  }
  return native.CryptoError.UnknownCA;
}

/**
 * TLS peer verification for a cluster: the peer's chain must lead to one of the cluster
 * CA certificates, every certificate must be within its validity period, and the leaf's
 * extended key usage must allow `purpose`. Host names are deliberately not checked: peers
 * are dialled by IP address or advertised address, and membership of the cluster is what
 * the cluster CA vouches for (the library's native check insists on a DNS name matching
 * the dialled host, which refuses `127.0.0.1`).
 *
 * Returns a TLS alert code (the library's `CryptoError`) on failure, undefined on success.
 */
export async function verifyClusterChain(certs: Uint8Array[], caDers: Uint8Array[], purpose: TlsPurpose): Promise<native.CryptoError | undefined> {
  if (certs.length === 0) return native.CryptoError.CertificateRequired;
  let chain: X509Certificate[];
  let cas: X509Certificate[];
  try {
    chain = certs.slice(0, certificateChainLengthMax).map((der) => new X509Certificate(der));
    cas = caDers.map((der) => new X509Certificate(der));
  } catch {
    return native.CryptoError.BadCertificate;
  }
  return chainProblem(chain, cas, purpose, Date.now());
}

/** The server's check of a client (mutual TLS): the client's certificate must allow clientAuth. */
export function verifyClientCertificate(certs: Uint8Array[], caDers: Uint8Array[]): Promise<native.CryptoError | undefined> {
  return verifyClusterChain(certs, caDers, 'clientAuth');
}

/** The client's check of a server: the server's certificate must allow serverAuth. */
export function verifyServerCertificate(certs: Uint8Array[], caDers: Uint8Array[]): Promise<native.CryptoError | undefined> {
  return verifyClusterChain(certs, caDers, 'serverAuth');
}
