import { ConfigError } from '../../core/public.ts';

/**
 * How reads finish:
 * - `abd`: a read writes the value it returns back to a majority before answering (the
 *   Attiya–Bar-Noy–Dolev register), so no later read can return an older value:
 *   linearizable while a majority of the key's replicas is reachable;
 * - `fast`: a read returns the newest value a majority showed it, without the write-back:
 *   one round trip instead of two, and not linearizable (docs/GUIDE.md, chapter 2).
 */
export type KvMode = 'abd' | 'fast';
export const kvModes: readonly KvMode[] = ['abd', 'fast'];

/** The app's configuration as a scenario's `config` or `--app-config` gives it. */
export interface KvConfigInput {
  /** @default 'abd' */
  mode?: KvMode;
  /**
   * The replica list: names of the members that store keys. Fixed for the life of the
   * cluster, never taken from membership, so every member places a key on the same replicas
   * whoever it believes alive. Required.
   */
  replicas: string[];
  /** Replicas per key (R); a quorum is a majority of them. @default 3 */
  copies?: number;
  /** Deadline of one call to a replica. @default 300 */
  replicaTimeoutMs?: number;
  /** Wait between a restarted replica's attempts to fetch a peer's entries. @default 500 */
  catchUpRetryMs?: number;
}

/** The configuration, checked. */
export interface KvConfig {
  readonly mode: KvMode;
  readonly replicas: readonly string[];
  readonly copies: number;
  /**
   * 300 ms: a few hundred times a LAN round trip, and long enough for a reply delayed by
   * several lost segments, yet short enough that both phases of an operation fit twice in a
   * client's 1 s deadline. The operation's own deadline caps it.
   */
  readonly replicaTimeoutMs: number;
  /** 500 ms: a peer that did not answer is likely partitioned or down; asking again sooner adds load and no news. */
  readonly catchUpRetryMs: number;
}

/** Names in the replica list: every replica is a peer a restarted replica fetches from. */
export const replicasMax = 64;
/** Longest wait the configuration may set (a deadline or a retry interval). */
const waitMsMax = 60_000;

const fields: readonly string[] = ['mode', 'replicas', 'copies', 'replicaTimeoutMs', 'catchUpRetryMs'];

/**
 * Checks a raw configuration. An unknown field is refused, since a typo would otherwise
 * leave a default silently in force (`mod: fast` would run `abd`).
 */
export function parseKvConfig(raw: unknown): KvConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('config', `must be an object with replicas and mode, got ${JSON.stringify(raw)}`);
  const input = raw as Record<string, unknown>;
  const unknown = Object.keys(input).find((key) => !fields.includes(key));
  if (unknown !== undefined) throw new ConfigError(unknown, `unknown field; fields: ${fields.join(', ')}`);
  const mode = input.mode ?? 'abd';
  if (!kvModes.includes(mode as KvMode)) throw new ConfigError('mode', `must be ${kvModes.join(' or ')}, got ${JSON.stringify(mode)}`);
  const replicas = parseReplicas(input.replicas);
  const copies = integer(input, 'copies', 3, 1, replicas.length);
  return {
    mode: mode as KvMode, replicas, copies,
    replicaTimeoutMs: integer(input, 'replicaTimeoutMs', 300, 1, waitMsMax),
    catchUpRetryMs: integer(input, 'catchUpRetryMs', 500, 1, waitMsMax),
  };
}

function parseReplicas(raw: unknown): string[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > replicasMax || !raw.every((n) => typeof n === 'string' && n.length > 0 && n.length <= 64)) {
    throw new ConfigError('replicas', `must list 1 to ${replicasMax} member names, got ${JSON.stringify(raw)}`);
  }
  const duplicate = raw.find((n, i) => raw.indexOf(n) !== i);
  if (duplicate !== undefined) throw new ConfigError('replicas', `lists ${duplicate} twice`);
  return [...raw] as string[];
}

function integer(input: Record<string, unknown>, field: string, fallback: number, min: number, max: number): number {
  const value = input[field] ?? fallback;
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw new ConfigError(field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value as number;
}
