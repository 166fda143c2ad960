import { readFile } from 'node:fs/promises';
import { ConfigError } from '../core/index.ts';

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

/** Reads TLS material from files; an unreadable or non-PEM file is a `ConfigError` naming it. */
export async function loadTlsMaterial(paths: TlsPaths): Promise<TlsMaterial> {
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
  return { cert: await read('cert'), key: await read('key'), ca: await read('ca'), mutual: paths.mutual ?? false };
}
