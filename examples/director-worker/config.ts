import { ConfigError, STRATEGY_NAMES, isStrategyName, parseTagFilter, type StrategyName } from '../../core/public.ts';

/** The worker filter when none is given: rpcnet's tutorial tags its workers `role=worker`. */
export const DEFAULT_WORKER_FILTER = 'role=worker';
/** The director's strategy when `director: true`. */
export const DEFAULT_DIRECTOR_STRATEGY: StrategyName = 'round-robin';

/** The app's configuration as a scenario or `--app-config` gives it. */
export interface DirectorWorkerConfigInput {
  /** Members whose own tags match serve the worker service; the director's pool is the members that match. @default 'role=worker' */
  workerFilter?: string;
  /** Serve the director service; a strategy name picks its assignment strategy. @default false */
  director?: boolean | StrategyName;
}

/** The configuration, checked. */
export interface DirectorWorkerConfig {
  readonly workerFilter: string;
  /** The director's assignment strategy; undefined: not a director. */
  readonly director: StrategyName | undefined;
}

const fields: readonly string[] = ['workerFilter', 'director'];

/**
 * Checks a raw configuration: an object with at most `workerFilter` (a tag filter) and
 * `director` (a boolean or a strategy name). An unknown field is refused, since a typo
 * would otherwise leave a default silently in force.
 */
export function parseDirectorWorkerConfig(raw: unknown): DirectorWorkerConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('config', `must be an object with workerFilter and director, got ${JSON.stringify(raw)}`);
  const input = raw as Record<string, unknown>;
  const unknown = Object.keys(input).find((key) => !fields.includes(key));
  if (unknown !== undefined) throw new ConfigError(unknown, `unknown field; fields: ${fields.join(', ')}`);
  const workerFilter = input.workerFilter ?? DEFAULT_WORKER_FILTER;
  if (typeof workerFilter !== 'string') throw new ConfigError('workerFilter', `must be a tag filter string, got ${JSON.stringify(workerFilter)}`);
  try {
    parseTagFilter(workerFilter);
  } catch (error) {
    throw new ConfigError('workerFilter', (error as Error).message);
  }
  const director = input.director ?? false;
  if (director === true) return { workerFilter, director: DEFAULT_DIRECTOR_STRATEGY };
  if (director === false) return { workerFilter, director: undefined };
  if (!isStrategyName(director)) {
    throw new ConfigError('director', `must be true, false or a strategy (${STRATEGY_NAMES.join(', ')}), got ${JSON.stringify(director)}`);
  }
  return { workerFilter, director };
}
