import type { RpcServer } from './server.ts';
import { defineService, unary, type CallKind, type Schema } from './service.ts';
import { RpcError } from './status.ts';

/**
 * Server reflection (grpc's, reduced to what a caller needs to call): `list` names the
 * services a server has registered, `describe` one service's methods and their call kinds.
 * `shoal call HOST:PORT list` and `describe SERVICE` are its client; `shoal call` also reads
 * a method's kind from it to call an app's streaming methods. docs/PROTOCOL.md, "Reflection".
 */

export interface ReflectionList {
  /** Registered service names, sorted. */
  readonly services: readonly string[];
}

export interface ReflectionMethod {
  readonly name: string;
  readonly kind: CallKind;
}

export interface ReflectionDescription {
  readonly service: string;
  /** Methods in registration order. */
  readonly methods: readonly ReflectionMethod[];
}

/** Services a `list` answer may name, and methods a `describe` answer may hold: a caller's bound on what it reads. */
export const reflectionEntriesMax = 4_096;

const callKinds: readonly CallKind[] = ['unary', 'serverStream', 'clientStream', 'bidi'];

function fail(what: string): never {
  throw new TypeError(`reflection: ${what}`);
}

function stringArray(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length > reflectionEntriesMax || !value.every((s) => typeof s === 'string')) fail(`${field} must be at most ${reflectionEntriesMax} strings`);
  return value as string[];
}

const listResponse: Schema<ReflectionList> = {
  parse: (value) => ({ services: stringArray((value as { services?: unknown } | null)?.services, 'services') }),
};

const describeRequest: Schema<{ service: string }> = {
  parse: (value) => {
    const service = (value as { service?: unknown } | null)?.service;
    return typeof service === 'string' ? { service } : fail('describe wants {"service": NAME}');
  },
};

const describeResponse: Schema<ReflectionDescription> = {
  parse: (value) => {
    const { service, methods } = (value ?? {}) as { service?: unknown; methods?: unknown };
    if (typeof service !== 'string') fail('service must be a string');
    if (!Array.isArray(methods) || methods.length > reflectionEntriesMax) fail(`methods must be at most ${reflectionEntriesMax} entries`);
    return {
      service,
      methods: methods.map((m: { name?: unknown; kind?: unknown } | null) => (typeof m?.name === 'string' && callKinds.includes(m.kind as CallKind)
        ? { name: m.name, kind: m.kind as CallKind }
        : fail('each method must be {"name", "kind"}'))),
    };
  },
};

export const ReflectionService = defineService('shoal.reflection.v1', {
  list: unary<Record<string, never>, ReflectionList>({ response: listResponse }),
  describe: unary<{ service: string }, ReflectionDescription>({ request: describeRequest, response: describeResponse }),
});

/** Registers the reflection service on `server`; it answers for every service registered, before or after it. */
export function registerReflection(server: RpcServer): RpcServer {
  const services = () => [...new Set(server.registeredMethods().map((m) => m.service))].sort();
  return server.register(ReflectionService, {
    list: () => ({ services: services() }),
    describe: ({ service }) => {
      const methods = server.registeredMethods().filter((m) => m.service === service).map((m) => ({ name: m.method, kind: m.kind }));
      if (methods.length === 0) throw new RpcError('NOT_FOUND', `unknown service ${service}; services: ${services().join(', ')}`);
      return { service, methods };
    },
  });
}
