import { readFile } from 'node:fs/promises';
import { ConfigError, parseAddress, type Address } from '../../core/index.ts';
import { STRATEGY_NAMES, isStrategyName, parseTagFilter, type StrategyName } from '../../core/balance/index.ts';
import { DEFAULT_DIRECTOR_STRATEGY, DEFAULT_WORKER_FILTER } from '../../core/cluster/index.ts';
import { resolveSwimConfig, type SwimConfigInput, type SwimPreset, type Tags } from '../../core/swim/index.ts';
import { gossipKeyBytes, keyringKeysMax } from '../keyring.ts';
import { parseBindAddress } from '../quic-transport.ts';

/** A flag or file the node cannot use: the CLI prints the message and exits with code 2. */
export class NodeFlagError extends Error {
  override name = 'NodeFlagError';
}

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
  /** Make (or reuse) development certificates in this directory. */
  readonly devCertsDir: string | undefined;
  readonly mutual: boolean;
  readonly gossipKeys: readonly Uint8Array[] | undefined;
  readonly swim: SwimConfigInput;
  /** Admin HTTP endpoint; port 0 picks a free one. @default 127.0.0.1:0 */
  readonly admin: string;
  readonly logLevel: NodeLogLevel;
  /** Call `shoal.node.v1/status` on a random live peer this often (0: never). @default 5_000 */
  readonly rpcProbeMs: number;
  /** Graceful shutdown must finish within this; beyond it the process exits 1. @default 10_000 */
  readonly shutdownTimeoutMs: number;
  /** Members whose tags match this serve the example's worker service (this node too, if its tags match). @default 'role=worker' */
  readonly workerFilter: string;
  /** Serve the example's director service with this assignment strategy; undefined: not a director. */
  readonly director: StrategyName | undefined;
}

/** The flags as `node:util` parseArgs hands them over. */
export type RawFlags = Record<string, string | boolean | undefined>;

/** parseArgs option table of `shoal node`. */
export const nodeFlagOptions = {
  name: { type: 'string' }, bind: { type: 'string' }, advertise: { type: 'string' }, seeds: { type: 'string' },
  tags: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' }, ca: { type: 'string' },
  mtls: { type: 'boolean' }, 'dev-certs': { type: 'string' }, 'gossip-key-file': { type: 'string' },
  preset: { type: 'string' }, swim: { type: 'string' }, admin: { type: 'string' }, 'log-level': { type: 'string' },
  'rpc-probe-ms': { type: 'string' }, 'shutdown-timeout-ms': { type: 'string' },
  'worker-filter': { type: 'string' }, director: { type: 'boolean' }, strategy: { type: 'string' },
} as const;

export const nodeUsage = 'shoal node --name N --bind HOST:PORT [--advertise HOST:PORT] [--seeds A,B] [--tags k=v,k=v] '
  + '(--cert F --key F --ca F [--mtls] | --dev-certs DIR) [--gossip-key-file F] [--preset lan|wan|local] '
  + '[--swim field=value,...] [--admin HOST:PORT] [--log-level debug|info|warn|error] [--rpc-probe-ms MS] [--shutdown-timeout-ms MS] '
  + `[--worker-filter k=v,...] [--director [--strategy ${STRATEGY_NAMES.join('|')}]]`;

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

/** `--swim probeIntervalMs=200,awarenessEnabled=false`: overrides on top of the preset. */
export function parseSwimOverrides(value: string | undefined): Record<string, number | boolean | string> {
  const out: Record<string, number | boolean | string> = {};
  for (const pair of list(value)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new NodeFlagError(`--swim wants field=value pairs, got "${pair}"`);
    const raw = pair.slice(eq + 1);
    out[pair.slice(0, eq)] = raw === 'true' ? true : raw === 'false' ? false : /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  }
  return out;
}

/** A key file: base64 keys of 32 bytes, one a line, primary first; `#` starts a comment. */
export async function readGossipKeyFile(file: string): Promise<Uint8Array[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new NodeFlagError(`--gossip-key-file: cannot read ${file}: ${(error as Error).message}`);
  }
  const keys: Uint8Array[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    const body = line.replace(/#.*/, '').trim();
    if (body === '') continue;
    const key = Buffer.from(body, 'base64');
    if (key.length !== gossipKeyBytes || !/^[A-Za-z0-9+/]+=*$/.test(body)) {
      throw new NodeFlagError(`--gossip-key-file: ${file} line ${i + 1} is not a base64 key of ${gossipKeyBytes} bytes`);
    }
    keys.push(new Uint8Array(key));
  }
  if (keys.length === 0) throw new NodeFlagError(`--gossip-key-file: ${file} holds no key`);
  if (keys.length > keyringKeysMax) throw new NodeFlagError(`--gossip-key-file: ${file} holds ${keys.length} keys, at most ${keyringKeysMax}`);
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
  const bind = str(flags, 'bind');
  if (bind === undefined) throw new NodeFlagError('--bind HOST:PORT is required');
  try {
    parseBindAddress(bind);
  } catch (error) {
    throw new NodeFlagError(`--bind: ${(error as Error).message}`);
  }
  const advertiseFlag = str(flags, 'advertise');
  const advertise = advertiseFlag === undefined ? undefined : address('advertise', advertiseFlag);
  const seeds = list(str(flags, 'seeds')).map((s) => address('seeds', s));
  const tags = parseTags(str(flags, 'tags'));
  const { tls, devCertsDir, mutual } = parseTlsFlags(flags);
  const preset = str(flags, 'preset') ?? 'lan';
  if (preset !== 'lan' && preset !== 'wan' && preset !== 'local') throw new NodeFlagError(`--preset must be lan, wan or local, got "${preset}"`);
  const swim: SwimConfigInput = { preset: preset as SwimPreset, ...parseSwimOverrides(str(flags, 'swim')) };
  try {
    resolveSwimConfig(swim);
  } catch (error) {
    if (error instanceof ConfigError) throw new NodeFlagError(`--swim: ${error.message}`);
    throw error;
  }
  const admin = str(flags, 'admin') ?? '127.0.0.1:0';
  try {
    parseBindAddress(admin);
  } catch (error) {
    throw new NodeFlagError(`--admin: ${(error as Error).message}`);
  }
  const logLevel = (str(flags, 'log-level') ?? 'info') as NodeLogLevel;
  if (!logLevels.includes(logLevel)) throw new NodeFlagError(`--log-level must be one of ${logLevels.join(', ')}, got "${logLevel}"`);
  const keyFile = str(flags, 'gossip-key-file');
  const { workerFilter, director } = parseExampleFlags(flags);
  return {
    workerFilter, director,
    name, bind, advertise, seeds, tags, mutual, devCertsDir, swim, admin, logLevel,
    tls,
    gossipKeys: keyFile === undefined ? undefined : await readGossipKeyFile(keyFile),
    rpcProbeMs: nonNegativeInt('rpc-probe-ms', str(flags, 'rpc-probe-ms'), 5_000),
    shutdownTimeoutMs: nonNegativeInt('shutdown-timeout-ms', str(flags, 'shutdown-timeout-ms'), 10_000),
  };
}
