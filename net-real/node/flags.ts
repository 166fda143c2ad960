import { readFile } from 'node:fs/promises';
import { ConfigError, parseAddress, type Address } from '../../core/index.ts';
import { STRATEGY_NAMES, isStrategyName, parseTagFilter, type StrategyName } from '../../core/balance/index.ts';
import { DEFAULT_DIRECTOR_STRATEGY, DEFAULT_WORKER_FILTER } from '../../examples/director-worker/index.ts';
import { resolveSwimConfig, type SwimConfig, type SwimConfigInput, type SwimPreset, type Tags } from '../../core/swim/index.ts';
import { decodeGossipKey, gossipKeyBytes, keyringKeysMax } from '../keyring.ts';
import { parseBindAddress } from '../quic-transport.ts';
import { limitFlagOptions, limitsUsage, parseLimitFlags, type NodeLimits } from '../limits.ts';
import { NodeFlagError } from './flag-error.ts';
import { parseAppFlags, type NodeAppPlacement } from './apps.ts';
import { checkFaultControlAllowed } from './fault-control.ts';

export { NodeFlagError };

export type NodeLogLevel = 'debug' | 'info' | 'warn' | 'error';
const logLevels: readonly NodeLogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Everything `shoal node` needs, checked. */
export interface NodeConfig {
  readonly name: string;
  /** UDP port for QUIC and gossip; port 0 picks a free one. */
  readonly bind: string;
  readonly advertise: Address | undefined;
  readonly seeds: readonly Address[];
  readonly tags: Tags;
  /** TLS files; either these or `devCertsDir`. */
  readonly tls: { cert: string; key: string; ca: string; mutual: boolean } | undefined;
  /** Make (or reuse) a development CA, certificates and gossip key in this directory. */
  readonly devCertsDir: string | undefined;
  /** Mutual TLS: callers must present a certificate of the cluster CA. On unless `insecure`. */
  readonly mutual: boolean;
  /** `--insecure`: server-only TLS and plaintext gossip are allowed (and warned about). @default false */
  readonly insecure: boolean;
  /** Keys of `--gossip-key-file`; with `devCertsDir` and no file, the directory's `gossip.key` is read at start. */
  readonly gossipKeys: readonly Uint8Array[] | undefined;
  readonly swim: SwimConfigInput;
  /** Admin HTTP endpoint; port 0 picks a free one. @default 127.0.0.1:0 */
  readonly admin: string;
  /** `--admin-max-connections`: admin connections open at once (`AdminOptions.maxConnections`); undefined: its default, 128. */
  readonly adminMaxConnections: number | undefined;
  readonly logLevel: NodeLogLevel;
  /** Call `shoal.node.v1/status` on a random live peer this often (0: never). @default 5_000 */
  readonly rpcProbeMs: number;
  /** Graceful shutdown must finish within this; beyond it the process exits 1. @default 10_000 */
  readonly shutdownTimeoutMs: number;
  /** `--worker-filter`: members whose tags match this serve the example's worker service (this node too, if its tags match). @default 'role=worker' */
  readonly workerFilter: string;
  /** `--director [--strategy]`: serve the example's director service with this assignment strategy; undefined: not a director. */
  readonly director: StrategyName | undefined;
  /**
   * The apps the node runs, loaded and configured: each `--app` (with its `--app-config`),
   * and the director/worker example with `workerFilter` and `director` when those flags
   * are given or no `--app` is.
   */
  readonly apps: readonly NodeAppPlacement[];
  /** Node-wide limits (`--max-connections`, ...; see net-real/limits.ts). */
  readonly limits: NodeLimits;
  /** `--fault-control`: the test-only `/fault` admin route (net-real/node/fault-control.ts). @default false */
  readonly faultControl: boolean;
}

/** The flags as `node:util` parseArgs hands them over. */
export type RawFlags = Record<string, string | boolean | undefined>;

/** parseArgs option table of `shoal node`. */
export const nodeFlagOptions = {
  name: { type: 'string' }, bind: { type: 'string' }, advertise: { type: 'string' }, seeds: { type: 'string' },
  tags: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' }, ca: { type: 'string' },
  mtls: { type: 'boolean' }, 'dev-certs': { type: 'string' }, 'gossip-key-file': { type: 'string' }, insecure: { type: 'boolean' },
  preset: { type: 'string' }, swim: { type: 'string' }, admin: { type: 'string' }, 'admin-max-connections': { type: 'string' }, 'log-level': { type: 'string' },
  'rpc-probe-ms': { type: 'string' }, 'shutdown-timeout-ms': { type: 'string' },
  'worker-filter': { type: 'string' }, director: { type: 'boolean' }, strategy: { type: 'string' },
  app: { type: 'string', multiple: true }, 'app-config': { type: 'string', multiple: true },
  'fault-control': { type: 'boolean' }, 'start-on-stdin': { type: 'boolean' },
  ...limitFlagOptions,
} as const;

export const nodeUsage = 'shoal node --name N --bind HOST:PORT [--advertise HOST:PORT] [--seeds A,B] [--tags k=v,k=v] '
  + '(--cert F --key F --ca F --mtls --gossip-key-file F | --dev-certs DIR) [--insecure] [--preset lan|wan|local] '
  + '[--swim field=value,...] [--admin HOST:PORT] [--admin-max-connections N] [--log-level debug|info|warn|error] [--rpc-probe-ms MS] [--shutdown-timeout-ms MS] '
  + `[--app MODULE [--app-config JSON]]... [--worker-filter k=v,...] [--director [--strategy ${STRATEGY_NAMES.join('|')}]] [--fault-control] [--start-on-stdin] ${limitsUsage}`;

/** Longest node name; it travels in every gossip message. */
export const nodeNameBytesMax = 64;

function str(flags: RawFlags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

function address(flag: string, value: string): Address {
  try {
    parseAddress(value);
  } catch (error) {
    throw new NodeFlagError(`--${flag}: ${(error as Error).message}`);
  }
  return value;
}

/** A repeatable flag's values (parseArgs gives an array for `multiple` options). */
function strings(flags: RawFlags, name: string): string[] {
  const v = (flags as Record<string, unknown>)[name];
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

function list(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

function nonNegativeInt(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new NodeFlagError(`--${flag} must be a non-negative integer (ms), got "${value}"`);
  return Number(value);
}

export function parseTags(value: string | undefined): Tags {
  const tags: Record<string, string> = {};
  for (const pair of list(value)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new NodeFlagError(`--tags wants k=v pairs, got "${pair}"`);
    tags[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return tags;
}

/**
 * `--swim probeIntervalMs=200,awarenessEnabled=false`: overrides on top of the preset. A
 * field the SWIM configuration does not have, or a value of the wrong kind, is refused:
 * a typo would otherwise leave the default silently in force.
 */
export function parseSwimOverrides(value: string | undefined): Record<string, number | boolean | string> {
  const known = resolveSwimConfig() as unknown as Record<string, unknown>;
  const out: Record<string, number | boolean | string> = {};
  for (const pair of list(value)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new NodeFlagError(`--swim wants field=value pairs, got "${pair}"`);
    const field = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    const parsed = raw === 'true' ? true : raw === 'false' ? false : /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
    if (!Object.hasOwn(known, field)) throw new NodeFlagError(`--swim: unknown field "${field}"; fields: ${Object.keys(known).join(', ')}`);
    if (typeof parsed !== typeof known[field]) throw new NodeFlagError(`--swim: ${field} wants a ${typeof known[field]}, got "${raw}"`);
    out[field] = parsed;
  }
  return out;
}

/** A key file: base64 keys of 32 bytes, one a line, primary first; `#` starts a comment. `flag` names it in errors. */
export async function readGossipKeyFile(file: string, flag = '--gossip-key-file'): Promise<Uint8Array[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new NodeFlagError(`${flag}: cannot read ${file}: ${(error as Error).message}`);
  }
  const keys: Uint8Array[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    const body = line.replace(/#.*/, '').trim();
    if (body === '') continue;
    const key = decodeGossipKey(body);
    if (key === undefined) throw new NodeFlagError(`${flag}: ${file} line ${i + 1} is not a base64 key of ${gossipKeyBytes} bytes`);
    keys.push(key);
  }
  if (keys.length === 0) throw new NodeFlagError(`${flag}: ${file} holds no key`);
  if (keys.length > keyringKeysMax) throw new NodeFlagError(`${flag}: ${file} holds ${keys.length} keys, at most ${keyringKeysMax}`);
  return keys;
}

/** TLS files (`--cert --key --ca [--mtls]`) or a development certificate directory (`--dev-certs`), exactly one of them. */
export interface TlsFlags {
  readonly tls: { cert: string; key: string; ca: string; mutual: boolean } | undefined;
  readonly devCertsDir: string | undefined;
  readonly mutual: boolean;
}

export function parseTlsFlags(flags: RawFlags): TlsFlags {
  const mutual = flags.mtls === true;
  const [cert, key, ca] = [str(flags, 'cert'), str(flags, 'key'), str(flags, 'ca')];
  const devCertsDir = str(flags, 'dev-certs');
  const given = [cert, key, ca].filter((v) => v !== undefined).length;
  if (given !== 0 && given !== 3) throw new NodeFlagError('--cert, --key and --ca go together');
  if (given === 3 && devCertsDir !== undefined) throw new NodeFlagError('give either --cert/--key/--ca or --dev-certs, not both');
  if (given === 0 && devCertsDir === undefined) throw new NodeFlagError('TLS is required: give --cert F --key F --ca F (or --dev-certs DIR for development)');
  return { tls: given === 3 ? { cert: cert!, key: key!, ca: ca!, mutual } : undefined, devCertsDir, mutual };
}

/** How a node secures its traffic, as `/status` shows it. */
export interface NodeSecurity {
  /** Started with `--insecure`. */
  readonly insecure: boolean;
  /** Callers must present a certificate of the cluster CA. */
  readonly mtls: boolean;
  /** Gossip datagrams are sealed (AES-256-GCM) under the gossip keyring. */
  readonly gossipEncrypted: boolean;
  /** One sentence per protection that is off; logged at start. */
  readonly warnings: readonly string[];
}

/** What is off, in sentences an operator can act on. */
export function securityWarnings(insecure: boolean, mtls: boolean, gossipEncrypted: boolean): string[] {
  const warnings: string[] = [];
  if (!mtls) warnings.push('mutual TLS is off: any caller that trusts the CA can connect without a client certificate');
  if (!gossipEncrypted) warnings.push('gossip is plaintext: anyone who can reach the UDP port can read and forge membership messages');
  if (insecure && warnings.length === 0) warnings.push('--insecure was given, but mutual TLS and gossip encryption are both on');
  return warnings;
}

/**
 * TLS and gossip protection of a node, secure by default: `--cert/--key/--ca` need `--mtls`
 * and `--gossip-key-file` unless `--insecure`; `--dev-certs` turns mutual TLS on by itself
 * (off with `--insecure`, unless `--mtls` is given too) and gets its gossip key from the
 * directory.
 */
export function parseSecurityFlags(flags: RawFlags): TlsFlags & { insecure: boolean } {
  const insecure = flags.insecure === true;
  const { tls, devCertsDir, mutual: mtlsFlag } = parseTlsFlags(flags);
  if (devCertsDir !== undefined) return { tls, devCertsDir, mutual: mtlsFlag || !insecure, insecure };
  const missing = [mtlsFlag ? undefined : '--mtls (mutual TLS)', str(flags, 'gossip-key-file') === undefined ? '--gossip-key-file F (encrypted gossip)' : undefined]
    .filter((m) => m !== undefined);
  if (!insecure && missing.length > 0) {
    throw new NodeFlagError(`secure by default: --cert/--key/--ca also need ${missing.join(' and ')}; --insecure starts without them (development only)`);
  }
  return { tls, devCertsDir, mutual: mtlsFlag, insecure };
}

/** `--bind` and `--advertise`: a wildcard bind needs the address peers reach the node at. */
function parseBindFlags(flags: RawFlags): { bind: string; advertise: Address | undefined } {
  const bind = str(flags, 'bind');
  if (bind === undefined) throw new NodeFlagError('--bind HOST:PORT is required');
  let host: string;
  try {
    host = parseBindAddress(bind).host;
  } catch (error) {
    throw new NodeFlagError(`--bind: ${(error as Error).message}`);
  }
  const advertiseFlag = str(flags, 'advertise');
  if (advertiseFlag === undefined && (host === '0.0.0.0' || host === '::')) {
    throw new NodeFlagError(`--bind ${bind} is a wildcard address: add --advertise HOST:PORT, the address peers reach this node at`);
  }
  return { bind, advertise: advertiseFlag === undefined ? undefined : address('advertise', advertiseFlag) };
}

/** `--preset` and `--swim`, checked against the SWIM configuration's own rules. */
function parseSwimFlags(flags: RawFlags): SwimConfigInput {
  const preset = str(flags, 'preset') ?? 'lan';
  if (preset !== 'lan' && preset !== 'wan' && preset !== 'local') throw new NodeFlagError(`--preset must be lan, wan or local, got "${preset}"`);
  const swim: SwimConfigInput = { preset: preset as SwimPreset, ...parseSwimOverrides(str(flags, 'swim')) as Partial<SwimConfig> };
  try {
    resolveSwimConfig(swim);
  } catch (error) {
    if (error instanceof ConfigError) throw new NodeFlagError(`--swim: ${error.message}`);
    throw error;
  }
  return swim;
}

/** `--worker-filter`, `--director` and `--strategy`: which part of the director/worker example this node serves. */
export function parseExampleFlags(flags: RawFlags): { workerFilter: string; director: StrategyName | undefined } {
  const workerFilter = str(flags, 'worker-filter') ?? DEFAULT_WORKER_FILTER;
  try {
    parseTagFilter(workerFilter);
  } catch (error) {
    throw new NodeFlagError(`--worker-filter: ${(error as Error).message}`);
  }
  const strategy = str(flags, 'strategy');
  if (strategy !== undefined && flags.director !== true) throw new NodeFlagError('--strategy only applies to a director: add --director');
  if (strategy !== undefined && !isStrategyName(strategy)) {
    throw new NodeFlagError(`--strategy: unknown strategy "${strategy}"; valid strategies: ${STRATEGY_NAMES.join(', ')}`);
  }
  return { workerFilter, director: flags.director === true ? (strategy as StrategyName | undefined) ?? DEFAULT_DIRECTOR_STRATEGY : undefined };
}

/** Checks every flag (and reads the key file); throws `NodeFlagError` with a message naming the flag. */
export async function parseNodeFlags(flags: RawFlags, positionals: readonly string[] = []): Promise<NodeConfig> {
  if (positionals.length > 0) throw new NodeFlagError(`unexpected argument "${positionals[0]}"`);
  const name = str(flags, 'name');
  if (name === undefined || name.length === 0) throw new NodeFlagError('--name is required');
  if (Buffer.byteLength(name) > nodeNameBytesMax || /[\s,]/.test(name)) throw new NodeFlagError(`--name must be at most ${nodeNameBytesMax} bytes without spaces or commas, got "${name}"`);
  const { bind, advertise } = parseBindFlags(flags);
  const seeds = list(str(flags, 'seeds')).map((s) => address('seeds', s));
  const tags = parseTags(str(flags, 'tags'));
  const { tls, devCertsDir, mutual, insecure } = parseSecurityFlags(flags);
  const swim = parseSwimFlags(flags);
  const admin = str(flags, 'admin') ?? '127.0.0.1:0';
  try {
    parseBindAddress(admin);
  } catch (error) {
    throw new NodeFlagError(`--admin: ${(error as Error).message}`);
  }
  const adminMaxConnections = str(flags, 'admin-max-connections');
  if (adminMaxConnections !== undefined && !(/^\d{1,7}$/.test(adminMaxConnections) && Number(adminMaxConnections) >= 2)) {
    throw new NodeFlagError(`--admin-max-connections must be an integer of at least 2, got "${adminMaxConnections}"`);
  }
  const logLevel = (str(flags, 'log-level') ?? 'info') as NodeLogLevel;
  if (!logLevels.includes(logLevel)) throw new NodeFlagError(`--log-level must be one of ${logLevels.join(', ')}, got "${logLevel}"`);
  const keyFile = str(flags, 'gossip-key-file');
  const { workerFilter, director } = parseExampleFlags(flags);
  const exampleAsked = str(flags, 'worker-filter') !== undefined || director !== undefined;
  const apps = await parseAppFlags(strings(flags, 'app'), strings(flags, 'app-config'), exampleAsked ? { workerFilter, director: director ?? false } : undefined);
  const faultControl = flags['fault-control'] === true;
  if (faultControl) checkFaultControlAllowed(bind);
  return {
    faultControl,
    workerFilter, director, apps,
    name, bind, advertise, seeds, tags, mutual, insecure, devCertsDir, swim, admin, logLevel,
    tls: tls === undefined ? undefined : { ...tls, mutual },
    gossipKeys: keyFile === undefined ? undefined : await readGossipKeyFile(keyFile),
    adminMaxConnections: adminMaxConnections === undefined ? undefined : Number(adminMaxConnections),
    rpcProbeMs: nonNegativeInt('rpc-probe-ms', str(flags, 'rpc-probe-ms'), 5_000),
    shutdownTimeoutMs: nonNegativeInt('shutdown-timeout-ms', str(flags, 'shutdown-timeout-ms'), 10_000),
    limits: parseLimitFlags(flags),
  };
}
