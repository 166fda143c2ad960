import { RpcError, defineService, serverStream, unary, type Schema } from '../../core/public.ts';

// The service and method names are the example's wire contract: independent clients
// (`shoal call`, other languages) call them by name, so they never change.

/** Tokens one `tokens` call may ask for: a stream is bounded like everything else. */
export const TOKENS_MAX = 100_000;
/** Longest simulated work a `compute` call may ask for. */
export const SERVICE_MS_MAX = 60_000;

export interface ComputeRequest { n: number; serviceMs?: number }
export interface TokensRequest { count: number; from?: number; intervalMs?: number }

/** The request as a record of its fields; anything else (nil, a number, an array) is refused. */
function fields(value: unknown, method: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw new RpcError('INVALID_ARGUMENT', `${method}: the request must be a map, got ${value === null ? 'nil' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value as Record<string, unknown>;
}

/** A finite number within [min, max], or undefined when the field is optional and absent (nil counts as absent). */
function numberField(record: Record<string, unknown>, name: string, min: number, max: number, required: boolean): number | undefined {
  const value = record[name];
  if (value === undefined || value === null) {
    if (required) throw new RpcError('INVALID_ARGUMENT', `${name} is required`);
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new RpcError('INVALID_ARGUMENT', `${name} must be a number within ${min}..${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Squared results stay exact integers in a double up to 2^53: |n| ≤ 2^26. */
const computeNMax = 2 ** 26;

const computeRequest: Schema<ComputeRequest> = {
  parse(value) {
    const record = fields(value, 'compute');
    const serviceMs = numberField(record, 'serviceMs', 0, SERVICE_MS_MAX, false);
    return { n: numberField(record, 'n', -computeNMax, computeNMax, true)!, ...(serviceMs === undefined ? {} : { serviceMs }) };
  },
};

const tokensRequest: Schema<TokensRequest> = {
  parse(value) {
    const record = fields(value, 'tokens');
    const from = numberField(record, 'from', 0, TOKENS_MAX, false);
    const intervalMs = numberField(record, 'intervalMs', 0, SERVICE_MS_MAX, false);
    return { count: numberField(record, 'count', 0, TOKENS_MAX, true)!, ...(from === undefined ? {} : { from }), ...(intervalMs === undefined ? {} : { intervalMs }) };
  },
};

/** What workers serve: rpcnet's cluster tutorial, typed. Requests are checked before a handler runs (INVALID_ARGUMENT). */
export const WorkerService = defineService('cluster.worker.v1', {
  /** Squares `n` after `serviceMs` of simulated work; answers with the worker's name. */
  compute: unary<ComputeRequest, { worker: string; result: number }>({ request: computeRequest }),
  /** Streams tokens `from` .. `count - 1`, one every `intervalMs`. */
  tokens: serverStream<TokensRequest, { i: number; worker: string }>({ request: tokensRequest }),
});

/** What the director serves: worker assignment from its registry. */
export const DirectorService = defineService('cluster.director.v1', {
  /** A live worker matching `filter`, chosen by the director's strategy; never one in `exclude`. */
  assign: unary<{ filter?: string; key?: string; exclude?: string[] }, { name: string; address: string }>(),
  /** The director's view of the pool. */
  workers: unary<Record<string, never>, { workers: { name: string; address: string; inFlight: number }[] }>(),
});
