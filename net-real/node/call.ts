import { parseAddress, type Address } from '../../core/index.ts';
import { DirectorService, WorkerService } from '../../examples/director-worker/index.ts';
import {
  ReflectionService, RpcClient, RpcError, bidi, clientStream, defineService, serverStream, unary, type AnyMethod, type CallKind, type ServiceDefinition,
} from '../../core/rpc/index.ts';
import { createRealEnv } from '../env.ts';
import { parseBindAddress } from '../quic-transport.ts';
import { loadTlsMaterial, type TlsMaterial } from '../tls.ts';
import { NodeFlagError, parseTlsFlags, type RawFlags } from './flags.ts';
import { ensureDevCerts } from './startup.ts';
import { nodeService } from './service.ts';

/** Calls one `--count` run may make: a person's tool, not a load generator without bounds. */
export const callCountMax = 1_000_000;
/** Calls in flight at once with `--concurrency`. */
export const callConcurrencyMax = 1_024;
/** Messages of one server stream printed before the call is cancelled. */
export const streamMessagesMax = 100_000;
/** Latencies kept for the `--count` summary's percentiles (the first ones). */
export const callLatenciesMax = 100_000;
/** The name the caller's development certificate gets in `--dev-certs DIR`. */
export const callerCertName = 'shoal-call';

/** Services whose call kinds `shoal call` knows; any other method's kind is asked of the node's reflection service. */
const knownServices: readonly ServiceDefinition[] = [WorkerService, DirectorService, nodeService, ReflectionService];
const standIns: Record<CallKind, () => AnyMethod> = { unary, serverStream, clientStream, bidi };

export const callFlagOptions = {
  'dev-certs': { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' }, ca: { type: 'string' }, mtls: { type: 'boolean' },
  timeout: { type: 'string' }, count: { type: 'string' }, concurrency: { type: 'string' }, bind: { type: 'string' }, json: { type: 'boolean' },
} as const;

export const callUsage = 'shoal call HOST:PORT (SERVICE/METHOD [JSON] | list | describe SERVICE[/METHOD]) (--dev-certs DIR | --cert F --key F --ca F [--mtls]) '
  + '[--timeout MS] [--count N [--concurrency C]] [--bind HOST:PORT] [--json]';

/** `shoal call HOST:PORT list` and `describe SERVICE[/METHOD]`: questions for the node's reflection service. */
export type ReflectionQuery = { readonly op: 'list' } | { readonly op: 'describe'; readonly service: string; readonly method: string | undefined };

export interface CallConfig {
  readonly target: Address;
  readonly service: string;
  readonly method: string;
  readonly request: unknown;
  /** Set for `list` and `describe`, which ask the reflection service instead of calling SERVICE/METHOD. */
  readonly reflect: ReflectionQuery | undefined;
  /** `--json`: `list` and `describe` print the reflection service's answer as JSON. @default false */
  readonly json: boolean;
  readonly tls: { cert: string; key: string; ca: string; mutual: boolean } | undefined;
  readonly devCertsDir: string | undefined;
  readonly mutual: boolean;
  /** Deadline of each call. @default 5_000 */
  readonly timeoutMs: number;
  /** Calls to make; undefined: one call, its reply printed. */
  readonly count: number | undefined;
  /** Calls in flight at once with `count`. @default 1 */
  readonly concurrency: number;
  /** Local UDP address. @default 127.0.0.1:0 for a loopback target, else 0.0.0.0:0 */
  readonly bind: string;
}

function str(flags: RawFlags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

function positiveInt(flag: string, value: string | undefined, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) throw new NodeFlagError(`--${flag} must be an integer within 1..${max}, got "${value}"`);
  return Number(value);
}

/** Checks `shoal call`'s arguments; throws `NodeFlagError` (exit 2) naming what is wrong. */
export function parseCallArgs(flags: RawFlags, positionals: readonly string[]): CallConfig {
  const [target, path, json, extra] = positionals;
  if (target === undefined || path === undefined) throw new NodeFlagError('want HOST:PORT SERVICE/METHOD [JSON], HOST:PORT list, or HOST:PORT describe SERVICE[/METHOD]');
  if (extra !== undefined) throw new NodeFlagError(`unexpected argument "${extra}" (quote the JSON request)`);
  try {
    parseAddress(target);
  } catch (error) {
    throw new NodeFlagError(`target: ${(error as Error).message}`);
  }
  const reflect = reflectionQuery(path, json);
  if (reflect !== undefined && (flags.count !== undefined || flags.concurrency !== undefined)) throw new NodeFlagError(`--count and --concurrency do not apply to ${reflect.op}`);
  if (reflect === undefined && flags.json === true) throw new NodeFlagError('--json applies to list and describe (a call prints JSON already)');
  const [service, method] = reflect === undefined ? splitMethod(path) : [ReflectionService.name, reflect.op];
  const request = reflect === undefined ? parseRequest(json) : reflect.op === 'list' ? {} : { service: reflect.service };
  const { tls, devCertsDir, mutual } = parseTlsFlags(flags);
  const timeoutMs = positiveInt('timeout', str(flags, 'timeout'), 3_600_000) ?? 5_000;
  const count = positiveInt('count', str(flags, 'count'), callCountMax);
  const concurrency = positiveInt('concurrency', str(flags, 'concurrency'), callConcurrencyMax) ?? 1;
  if (count === undefined && str(flags, 'concurrency') !== undefined) throw new NodeFlagError('--concurrency only applies with --count');
  const bindFlag = str(flags, 'bind');
  if (bindFlag !== undefined) {
    try {
      parseBindAddress(bindFlag);
    } catch (error) {
      throw new NodeFlagError(`--bind: ${(error as Error).message}`);
    }
  }
  const host = parseAddress(target).host;
  const bind = bindFlag ?? (/^(127\.|localhost$|::1$)/.test(host) ? '127.0.0.1:0' : '0.0.0.0:0');
  return { target, service, method, request, reflect, json: flags.json === true, devCertsDir, mutual, timeoutMs, count, concurrency, bind, tls };
}

/** `list`, `describe SERVICE[/METHOD]`, or undefined for a call of SERVICE/METHOD. */
function reflectionQuery(path: string, argument: string | undefined): ReflectionQuery | undefined {
  if (path === 'list') {
    if (argument !== undefined) throw new NodeFlagError(`list takes no argument, got "${argument}"`);
    return { op: 'list' };
  }
  if (path !== 'describe') return undefined;
  if (argument === undefined) throw new NodeFlagError('describe wants SERVICE or SERVICE/METHOD (shoal call HOST:PORT list names the services)');
  if (!argument.includes('/')) return { op: 'describe', service: argument, method: undefined };
  const [service, method] = splitMethod(argument);
  return { op: 'describe', service, method };
}

/** `SERVICE/METHOD` as its two names, checked as `defineService` checks them. */
function splitMethod(path: string): [string, string] {
  const slash = path.lastIndexOf('/');
  if (slash <= 0 || slash === path.length - 1) throw new NodeFlagError(`method must be SERVICE/METHOD (e.g. cluster.director.v1/assign), got "${path}"`);
  try {
    methodDefinition(path.slice(0, slash), path.slice(slash + 1));
  } catch (error) {
    throw new NodeFlagError(`method: ${(error as Error).message}`);
  }
  return [path.slice(0, slash), path.slice(slash + 1)];
}

function parseRequest(json: string | undefined): unknown {
  if (json === undefined) return {};
  try {
    return JSON.parse(json);
  } catch (error) {
    throw new NodeFlagError(`request is not JSON: ${(error as Error).message}`);
  }
}

/** The definition to call `service/method` with: a known service's own, or a stand-in of the given kind. */
export function methodDefinition(service: string, method: string, kind: CallKind = 'unary'): ServiceDefinition {
  const known = knownServices.find((s) => s.name === service && Object.hasOwn(s.methods, method));
  if (known !== undefined) return known;
  const methods: Record<string, AnyMethod> = { [method]: standIns[kind]() };
  return defineService(service, methods);
}

/**
 * The definition of a method `shoal call` does not know: its kind from the node's
 * reflection service, so an app's streaming methods are called as what they are. A node
 * without reflection, or one that does not know the service, gets a unary call (and
 * answers it, `UNIMPLEMENTED` for an unknown method).
 */
async function discoveredDefinition(client: RpcClient, config: CallConfig): Promise<ServiceDefinition> {
  if (knownServices.some((s) => s.name === config.service && Object.hasOwn(s.methods, config.method))) return methodDefinition(config.service, config.method);
  try {
    const description = await client.service(ReflectionService, config.target).describe({ service: config.service }, { timeoutMs: config.timeoutMs });
    const kind = description.methods.find((m) => m.name === config.method)?.kind;
    return methodDefinition(config.service, config.method, kind);
  } catch (error) {
    if (error instanceof RpcError && (error.code === 'NOT_FOUND' || error.code === 'UNIMPLEMENTED')) return methodDefinition(config.service, config.method);
    throw error;
  }
}

/** What `--count` prints. */
export interface CallSummary {
  calls: number;
  ok: number;
  /** Outcomes by status code (`OK` included). */
  outcomes: Record<string, number>;
  seconds: number;
  callsPerSec: number;
  latencyMsP50: number;
  latencyMsP99: number;
}

/** Where `runCall` writes: one line per reply, stream message or summary. */
export interface CallOutput {
  out(line: string): void;
  err(line: string): void;
}

/** Exit code of a run: 0 all calls OK, 1 an RPC error (its code printed), 2 bad input. */
export async function runCall(config: CallConfig, output: CallOutput): Promise<number> {
  // A development directory's nodes use mutual TLS, so the caller presents its certificate of the dev CA.
  const paths = config.tls ?? { ...await ensureDevCerts(config.devCertsDir!, callerCertName), mutual: true };
  let tls: TlsMaterial;
  try {
    tls = await loadTlsMaterial(paths, paths.mutual ? ['clientAuth'] : []);
  } catch (error) {
    throw new NodeFlagError((error as Error).message);
  }
  const wildcard = config.bind.startsWith('0.0.0.0:') || config.bind.startsWith('[::]:');
  // The caller never gossips, so no peer dials its advertised address; a wildcard bind only needs a placeholder.
  const real = await createRealEnv({ bind: config.bind, tls, ...(wildcard ? { advertise: 'caller.invalid:1' } : {}) });
  const client = new RpcClient(real.env, { defaultTimeoutMs: config.timeoutMs });
  try {
    if (config.reflect !== undefined) return await reflect(client, config.reflect, config, output);
    const definition = await discoveredDefinition(client, config);
    const stub = client.service(definition, config.target) as Record<string, (request: unknown, options: { timeoutMs: number }) => unknown>;
    const kind = definition.methods[config.method]!.kind;
    const request = requestOf(kind, config.request);
    if (config.count === undefined) return await callOnce(() => stub[config.method]!(request, { timeoutMs: config.timeoutMs }), kind, output);
    const summary = await callMany(() => stub[config.method]!(request, { timeoutMs: config.timeoutMs }), kind, config);
    output.out(JSON.stringify(summary));
    return summary.ok === summary.calls ? 0 : 1;
  } catch (error) {
    return rpcFailure(error, output);
  } finally {
    client.close();
    await real.close();
  }
}

/** Methods whose callers stream send the JSON request's elements, one message each (a non-array is one message). */
function requestOf(kind: CallKind, request: unknown): unknown {
  return kind === 'clientStream' || kind === 'bidi' ? (Array.isArray(request) ? request : [request]) : request;
}

/** Whether a method of this kind answers with a stream of messages. */
function streamsResponses(kind: CallKind): boolean {
  return kind === 'serverStream' || kind === 'bidi';
}

/** An RPC error as `error: CODE: message` on stderr; exit code 1. */
function rpcFailure(error: unknown, output: CallOutput): number {
  const e = error instanceof RpcError ? error : new RpcError('UNKNOWN', (error as Error).message);
  output.err(`error: ${e.code}: ${e.message}`);
  return 1;
}

/** `list`: a service name a line; `describe`: the service, then each method with its call kind; or the answer as JSON. */
async function reflect(client: RpcClient, query: ReflectionQuery, config: CallConfig, output: CallOutput): Promise<number> {
  const reflection = client.service(ReflectionService, config.target);
  if (query.op === 'list') {
    const { services } = await reflection.list({}, { timeoutMs: config.timeoutMs });
    if (config.json) output.out(JSON.stringify({ services }));
    else services.forEach((service) => output.out(service));
    return 0;
  }
  const description = await reflection.describe({ service: query.service }, { timeoutMs: config.timeoutMs });
  const methods = description.methods.filter((m) => query.method === undefined || m.name === query.method);
  if (methods.length === 0) {
    throw new RpcError('NOT_FOUND', `${query.service} has no method ${query.method}; methods: ${description.methods.map((m) => m.name).join(', ')}`);
  }
  if (config.json) output.out(JSON.stringify({ service: description.service, methods }));
  else if (query.method !== undefined) output.out(`${query.service}/${query.method}  ${methods[0]!.kind}`);
  else {
    const width = Math.max(...methods.map((m) => m.name.length));
    output.out(description.service);
    for (const m of methods) output.out(`  ${m.name.padEnd(width)}  ${m.kind}`);
  }
  return 0;
}

async function callOnce(call: () => unknown, kind: CallKind, output: CallOutput): Promise<number> {
  try {
    const result = call();
    if (streamsResponses(kind)) {
      let n = 0;
      for await (const message of result as AsyncIterable<unknown>) {
        output.out(JSON.stringify(message));
        if (++n >= streamMessagesMax) break;
      }
    } else {
      output.out(JSON.stringify(await result));
    }
    return 0;
  } catch (error) {
    return rpcFailure(error, output);
  }
}

async function callMany(call: () => unknown, kind: CallKind, config: CallConfig): Promise<CallSummary> {
  const outcomes: Record<string, number> = {};
  const latencies: number[] = [];
  let issued = 0;
  const started = performance.now();
  const lane = async () => {
    while (issued < config.count!) {
      issued++;
      const t0 = performance.now();
      let code = 'OK';
      try {
        const result = call();
        if (streamsResponses(kind)) for await (const _ of result as AsyncIterable<unknown>) { /* drained: the summary counts calls, not messages */ }
        else await result;
      } catch (error) {
        code = error instanceof RpcError ? error.code : 'UNKNOWN';
      }
      outcomes[code] = (outcomes[code] ?? 0) + 1;
      if (latencies.length < callLatenciesMax) latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: Math.min(config.concurrency, config.count!) }, lane));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies.length === 0 ? 0 : Math.round(latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)]! * 1000) / 1000;
  return {
    calls: config.count!, ok: outcomes.OK ?? 0, outcomes, seconds: Math.round(seconds * 1000) / 1000,
    callsPerSec: Math.round(config.count! / seconds), latencyMsP50: at(0.5), latencyMsP99: at(0.99),
  };
}
