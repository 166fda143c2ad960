import { X509Certificate } from 'node:crypto';
import { native } from '@matrixai/quic';

/** Longest certificate chain accepted (leaf, intermediates, then a cluster CA). */
export const certificateChainLengthMax = 4;

/**
 * TLS peer verification for a cluster: the peer's chain must lead to one of the cluster
 * CA certificates and every certificate must be within its validity period. Host names
 * are deliberately not checked: peers are dialled by IP address or advertised address,
 * and membership of the cluster is what the cluster CA vouches for (the library's native
 * check insists on a DNS name matching the dialled host, which refuses `127.0.0.1`).
 *
 * Returns a TLS alert code (the library's `CryptoError`) on failure, undefined on success.
 */
export async function verifyClusterChain(certs: Uint8Array[], caDers: Uint8Array[]): Promise<native.CryptoError | undefined> {
  if (certs.length === 0) return native.CryptoError.CertificateRequired;
  let chain: X509Certificate[];
  let cas: X509Certificate[];
  try {
    chain = certs.slice(0, certificateChainLengthMax).map((der) => new X509Certificate(der));
    cas = caDers.map((der) => new X509Certificate(der));
  } catch {
    return native.CryptoError.BadCertificate;
  }
  const now = Date.now();
  const expired = (cert: X509Certificate) => now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo);
  let current = chain[0]!;
  for (let depth = 0; depth < certificateChainLengthMax; depth++) {
    if (expired(current)) return native.CryptoError.CertificateExpired;
    const ca = cas.find((c) => current.checkIssued(c) && current.verify(c.publicKey));
    if (ca !== undefined) return expired(ca) ? native.CryptoError.CertificateExpired : undefined;
    const next = chain.find((c) => c !== current && c.ca && current.checkIssued(c) && current.verify(c.publicKey));
    if (next === undefined) return native.CryptoError.UnknownCA;
    current = next;
  }
  return native.CryptoError.UnknownCA;
}
