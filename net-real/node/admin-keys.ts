import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { ConfigError, LimitExceededError } from '../../core/index.ts';
import { decodeGossipKey, keyFingerprint, keyringKeysMax, type Keyring } from '../keyring.ts';
import { send, type AdminRoute } from './admin.ts';

/**
 * Gossip-key rotation at run time through the admin endpoint, memberlist's three steps
 * (docs/OPERATIONS.md, "Gossip keys"): `GET /keys` lists the ring's fingerprints, `POST
 * /keys` with `{"op": "install" | "use" | "remove", "key": BASE64}` changes it. `shoal
 * keys` is the client.
 *
 * The admin endpoint is plain HTTP without authentication, so a key operation is taken only
 * from the node's own host: the peer address must be loopback, the `Host` header a
 * loopback name (a DNS-rebinding page names its own host), the body JSON
 * (`content-type: application/json`, which a cross-site form cannot send) and no `Origin`
 * header (browsers add it to cross-origin requests). Listing fingerprints reveals no key
 * and is served to anyone who can reach the endpoint.
 */

export type KeyOperation = 'install' | 'use' | 'remove';
const operations: readonly KeyOperation[] = ['install', 'use', 'remove'];

/** A key operation's body is a few dozen bytes; more is refused before it is read. */
export const keyRequestBytesMax = 4_096;

/** What `GET /keys` and a successful `POST /keys` answer. */
export interface KeyringListing {
  /** Fingerprints (`keyFingerprint`), primary first. */
  readonly keys: readonly string[];
  readonly primary: string;
  readonly keysMax: number;
}

/** What the routes report to the node's log after each change. */
export type KeyChangeLog = (op: KeyOperation, fingerprint: string, listing: KeyringListing) => void;

/** The `/keys` route; without a keyring (plaintext gossip) it answers 409 and says so. */
export function keyRoutes(keyring: Keyring | undefined, log: KeyChangeLog): Map<string, AdminRoute> {
  return new Map([['/keys', (req, res) => serveKeys(keyring, log, req, res)]]);
}

function listing(keyring: Keyring): KeyringListing {
  const keys = keyring.fingerprints();
  return { keys, primary: keys[0]!, keysMax: keyringKeysMax };
}

async function serveKeys(keyring: Keyring | undefined, log: KeyChangeLog, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'POST') return text(res, 405, 'only GET and POST');
  if (keyring === undefined) return text(res, 409, 'gossip is plaintext on this node (started with --insecure and no key): it has no keyring');
  if (req.method === 'GET') return send(res, 200, 'application/json', JSON.stringify(listing(keyring)));
  const refusal = localOnlyRefusal(req);
  if (refusal !== undefined) return text(res, 403, refusal);
  const body = await readBody(req);
  if (body === undefined) return text(res, 413, `the request exceeds ${keyRequestBytesMax} bytes`);
  const parsed = parseKeyRequest(body);
  if (typeof parsed === 'string') return text(res, 400, parsed);
  const outcome = apply(keyring, parsed.op, parsed.key);
  if (outcome !== undefined) return text(res, outcome.status, outcome.message);
  const after = listing(keyring);
  log(parsed.op, keyFingerprint(parsed.key), after);
  return send(res, 200, 'application/json', JSON.stringify(after));
}

/** Why a key operation is refused from where it came, or undefined when it may go ahead. */
export function localOnlyRefusal(req: IncomingMessage): string | undefined {
  if (!isLoopback(req.socket.remoteAddress ?? '')) return 'key operations are taken only from the node\'s own host (loopback); run shoal keys there, or through a tunnel';
  if (!isLoopback(hostOf(req.headers.host ?? ''))) return 'key operations need a loopback Host header';
  if (req.headers.origin !== undefined) return 'key operations are refused from a browser (an Origin header was sent)';
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return 'key operations take a JSON body (content-type: application/json)';
  return undefined;
}

/** Whether a host (name or address, IPv4-mapped included) is this machine's loopback. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^::ffff:/, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1';
}

/** The host of a `Host` header (`127.0.0.1:9946`, `[::1]:9946`, `localhost`). */
function hostOf(header: string): string {
  const bracketed = /^\[([^\]]+)\]/.exec(header);
  if (bracketed !== null) return bracketed[1]!;
  return header.replace(/:\d+$/, '');
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  if (Number(req.headers['content-length'] ?? 0) > keyRequestBytesMax) return undefined;
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > keyRequestBytesMax) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The operation and key of a request body, or why it is refused. */
export function parseKeyRequest(body: string): { op: KeyOperation; key: Uint8Array } | string {
  let request: { op?: unknown; key?: unknown };
  try {
    request = JSON.parse(body) as typeof request;
  } catch {
    return 'the body is not JSON';
  }
  if (typeof request !== 'object' || request === null) return 'the body must be {"op": ..., "key": ...}';
  if (!operations.includes(request.op as KeyOperation)) return `op must be one of ${operations.join(', ')}`;
  const key = typeof request.key === 'string' ? decodeGossipKey(request.key) : undefined;
  if (key === undefined) return 'key must be a base64 gossip key of 32 bytes (shoal keygen makes one)';
  return { op: request.op as KeyOperation, key };
}

/** Applies one operation; undefined when done, otherwise the refusal to answer. */
function apply(keyring: Keyring, op: KeyOperation, key: Uint8Array): { status: number; message: string } | undefined {
  const fingerprint = keyFingerprint(key);
  const held = keyring.fingerprints().includes(fingerprint);
  try {
    if (op === 'install') keyring.install(key);
    else if (!held) return { status: 404, message: `key ${fingerprint} is not installed on this node` };
    else if (op === 'use') keyring.usePrimary(key);
    else keyring.remove(key);
    return undefined;
  } catch (error) {
    if (error instanceof LimitExceededError) return { status: 409, message: `the keyring is full (${keyringKeysMax} keys): remove a key first` };
    if (error instanceof ConfigError) return { status: 409, message: error.message.replace(/^gossipKeys: /, '') };
    throw error;
  }
}

function text(res: ServerResponse, status: number, message: string): void {
  send(res, status, 'text/plain', `${message}\n`);
}
