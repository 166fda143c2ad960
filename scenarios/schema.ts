import { z } from 'zod';
import { STRATEGY_NAMES } from '../core/balance/index.ts';
import { swimPresets } from '../core/swim/index.ts';
import { WORKLOAD_CLIENTS_MAX } from '../sim/hosts/client-processes.ts';
import { parseDurationMs } from './duration.ts';

/** The models `linearizable` checks a history against (scenarios/check). */
export const LINEARIZABLE_MODELS = ['register', 'kv', 'cas-register'] as const;

/**
 * The scenario file format (YAML), validated with zod. `docs/SCENARIOS.md` documents every
 * field; `validate.ts` adds the checks across fields and turns failures into messages that
 * point at the line. A message set here names what is expected; validate.ts adds what was found.
 */

/** A value as a message shows what was found: `"forever"`, `3`, `a list of 2`, `nothing`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return `a mapping with ${Object.keys(value).map((k) => JSON.stringify(k)).join(', ') || 'no fields'}`;
  return String(value);
}

const durationText = 'a duration such as 500ms, 2s or 1m';
const duration = z.union([z.string(), z.number()], { error: durationText }).transform((value, ctx) => {
  const ms = parseDurationMs(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected ${durationText}, found ${describeValue(value)}`, input: value });
    return z.NEVER;
  }
  return ms;
});

/** A duration more than 0, where 0 would make the entry do nothing (a slow by 0 ms, or for 0 ms). */
const positiveDuration = duration.refine((ms) => ms > 0, { error: 'expected a duration more than 0: with 0 this fault would do nothing' });
const probability = z.number().min(0).max(1);
const nodeName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'a node name (letters, digits, ".", "_" or "-", at most 63)');
const group = z.array(nodeName).min(1);
const nodeOrGroup = z.union([nodeName, group], { error: 'a node name or a list of node names' });

/** The fields of a variant as a reader writes them: `at, loss, from?, to?`. */
export function fieldList(variant: z.ZodObject, omit?: string): string {
  return Object.entries(variant.shape).filter(([key]) => key !== omit)
    .map(([key, field]) => (field.safeParse(undefined).success ? `${key}?` : key)).join(', ');
}

const latencyVariants = [
  z.object({ kind: z.literal('constant'), ms: z.number().min(0) }).strict(),
  z.object({ kind: z.literal('uniform'), minMs: z.number().min(0), maxMs: z.number().min(0) }).strict(),
  z.object({ kind: z.literal('normal'), meanMs: z.number().min(0), stdDevMs: z.number().min(0), minMs: z.number().min(0).optional(), maxMs: z.number().min(0).optional() }).strict(),
  z.object({ kind: z.literal('exponential'), meanMs: z.number().positive(), minMs: z.number().min(0).optional(), maxMs: z.number().min(0).optional() }).strict(),
  z.object({ kind: z.literal('pareto'), scaleMs: z.number().positive(), shape: z.number().positive(), maxMs: z.number().min(0).optional() }).strict(),
  z.object({ kind: z.literal('lognormal'), medianMs: z.number().positive(), sigma: z.number().min(0), minMs: z.number().min(0).optional(), maxMs: z.number().min(0).optional() }).strict(),
] as const;
const latency = z.discriminatedUnion('kind', latencyVariants, {
  error: `a latency distribution, one of: ${latencyVariants.map((v) => `{ kind: ${v.shape.kind.value}, ${fieldList(v, 'kind')} }`).join(', ')}`,
});

const linkModel = z.object({
  latency: latency.optional(),
  loss: probability.optional(),
  duplicate: probability.optional(),
  reorder: probability.optional(),
  reorderDelay: latency.optional(),
}).strict();

const tags = z.record(z.string(), z.string());

/**
 * Overrides of the membership configuration: the fields of `SwimConfig` (those of the LAN
 * preset), each of the type the preset gives it. The invariants between fields are
 * checked by `resolveSwimConfig` (validate.ts calls it).
 */
const swimConfigOverrides = z.object(Object.fromEntries(Object.entries(swimPresets.lan).map(([key, value]) => [
  key, (typeof value === 'number' ? z.number() : typeof value === 'boolean' ? z.boolean() : z.string()).optional(),
]))).strict();

/** App entries a scenario may place (each loads one module). */
export const appPlacementsMax = 32;

const appPlacementSchema = z.object({
  /** The app's module (`.ts`, `.js`, `.mjs`), relative to the scenario file; its default export is `defineApp(...)`. */
  module: z.string().min(1).max(1024),
  /** A tag filter (`role=kv`): the members that run the app. @default every member */
  on: z.string().max(1024).optional(),
  /** The app's raw configuration, checked by its `parseConfig`. */
  config: z.unknown().optional(),
}).strict();

export const clusterSchema = z.object({
  /** Number of nodes, named n1..nN unless `nodes` names them. */
  size: z.number().int().min(1).max(20_000).optional(),
  nodes: z.array(nodeName).min(1).max(20_000).optional(),
  preset: z.enum(['lan', 'wan', 'local']).default('lan'),
  /** Overrides of the membership configuration (see docs/MEMBERSHIP.md). */
  config: swimConfigOverrides.default({}),
  /** Turn all three Lifeguard mechanisms on or off together. */
  lifeguard: z.boolean().default(true),
  /** Tags per node name, or `all` for every node. */
  tags: z.record(z.string(), tags).default({}),
  /** Nodes every node joins through; default the first node. */
  seeds: z.array(nodeName).optional(),
  /** Application services: `director-worker` runs the director/worker example app on every member. */
  services: z.array(z.enum(['director-worker'])).default([]),
  /** Users' apps (`defineApp` modules, paths relative to the scenario file), each started on the members matching `on`. */
  apps: z.array(appPlacementSchema).max(appPlacementsMax).default([]),
  /** Stagger node starts over this window (all start at 0 by default). */
  startSpread: duration.default(0),
}).strict().refine((c) => c.size !== undefined || c.nodes !== undefined, { message: 'give cluster.size or cluster.nodes' })
  .refine((c) => c.size === undefined || c.nodes === undefined || c.size === c.nodes.length, { message: 'cluster.size and cluster.nodes disagree' });

export const linkSchema = linkModel.extend({ from: nodeOrGroup, to: nodeOrGroup }).strict();

export const networkSchema = linkModel.extend({
  links: z.array(linkSchema).default([]),
}).strict();

/** The fields of the object `root` expects at `path`, if it expects an object there. */
export function knownKeys(root: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let schema: z.ZodType | undefined = root;
  for (const key of path) {
    const s = unwrap(schema);
    schema = s instanceof z.ZodObject ? s.shape[String(key)] as z.ZodType | undefined
      : s instanceof z.ZodArray ? s.element as z.ZodType
        : s instanceof z.ZodRecord ? s.valueType as z.ZodType : undefined;
    if (schema === undefined) return undefined;
  }
  const s = unwrap(schema);
  return s instanceof z.ZodObject ? Object.keys(s.shape) : undefined;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodType;
    else if (s instanceof z.ZodPipe) s = s.in as z.ZodType;
    else return s;
  }
}

/**
 * What a variant's issues carry for validate.ts: the variant's fields, which the schema
 * walk cannot see through the union's transform.
 */
export interface VariantIssueParams {
  /** `a pause fault has: at, pause, for`. */
  readonly context: string;
  readonly known: readonly string[] | undefined;
}

/**
 * A union told apart by which action key is present (`crash`, `partition`, ...), so an
 * error names the field that is wrong instead of "no variant matched", and an unknown
 * action lists every action with its fields.
 */
function keyedUnion<V extends Record<string, z.ZodObject>>(what: string, example: string, variants: V) {
  const kinds = Object.keys(variants);
  const shared = new Set(Object.values(variants).flatMap((v) => Object.keys(v.shape)).filter((k) => !kinds.includes(k)));
  const catalogue = Object.entries(variants).map(([kind, v]) => `${kind} (${fieldList(v)})`).join(', ');
  return z.record(z.string(), z.unknown(), { error: `a ${what}: a mapping such as ${example}` }).transform((value, ctx): Keyed<V> => {
    // A parsed entry parses again to itself: its `kind` names the action key it carries.
    const { kind: givenKind, ...fields } = value;
    const present = Object.keys(fields).filter((k) => kinds.includes(k));
    if (givenKind !== undefined && present.length === 0 && typeof givenKind === 'string' && kinds.includes(givenKind)) {
      // `{ kind: crash, at: 5s }`: the action's own field is what is missing.
      ctx.addIssue({ code: 'custom', input: value, path: [givenKind], params: { missing: true }, message: `missing field "${givenKind}": a ${givenKind} ${what} has: ${fieldList(variants[givenKind]!)}` });
      return z.NEVER;
    }
    if (givenKind !== undefined && present.length === 1 && givenKind !== present[0]) {
      ctx.addIssue({ code: 'custom', input: value, message: `kind ${describeValue(givenKind)} does not name the ${what} this entry gives (${present[0]}); leave kind out` });
      return z.NEVER;
    }
    if (present.length !== 1) {
      // A `kind` naming no action (`kind: bogus`) is told as the unknown action it names.
      const unknown = [...(typeof givenKind === 'string' ? [givenKind] : []), ...Object.keys(fields).filter((k) => !kinds.includes(k) && !shared.has(k))];
      ctx.addIssue({
        code: 'custom',
        input: value,
        message: present.length > 1
          ? `one ${what} per entry, found ${present.join(' and ')}`
          : `${unknown.length ? `unknown ${what} "${unknown.join('", "')}"` : `no ${what} in this entry`}; expected one of: ${catalogue}`,
      });
      return z.NEVER;
    }
    const kind = present[0]! as keyof V & string;
    const variant = variants[kind]!;
    const result = variant.safeParse(fields, { reportInput: true });
    if (!result.success) {
      // A missing field of the variant itself is told with the variant's field list.
      const context = `a ${kind} ${what} has: ${fieldList(variant)}`;
      for (const issue of result.error.issues) {
        const params: Partial<VariantIssueParams> = issue.code === 'unrecognized_keys' ? { known: knownKeys(variant, issue.path) } : issue.path.length === 1 ? { context } : {};
        ctx.addIssue({ ...issue, params } as Parameters<typeof ctx.addIssue>[0]);
      }
      return z.NEVER;
    }
    // The discriminant comes first, so a fault reads `{ kind: 'crash', at: 5000, crash: 'n3' }`.
    return { kind, ...result.data } as Keyed<V>;
  });
}

/**
 * The parsed form of a keyed union: each variant's fields as written, plus `kind`, the
 * action key that told it apart, so code switches on `kind` instead of probing keys.
 */
export type Keyed<V extends Record<string, z.ZodObject>> = { [K in keyof V & string]: { kind: K } & z.output<V[K]> }[keyof V & string];

const at = { at: duration };
export const faultVariants = {
  crash: z.object({ ...at, crash: nodeOrGroup }).strict(),
  restart: z.object({ ...at, restart: nodeOrGroup }).strict(),
  partition: z.object({ ...at, partition: z.array(group).min(2) }).strict(),
  oneway: z.object({ ...at, oneway: z.object({ from: nodeOrGroup, to: nodeOrGroup }).strict() }).strict(),
  bridge: z.object({ ...at, bridge: z.object({ a: nodeOrGroup, via: nodeName, b: nodeOrGroup }).strict() }).strict(),
  isolate: z.object({ ...at, isolate: nodeName }).strict(),
  heal: z.object({ ...at, heal: z.literal(true) }).strict(),
  repair: z.object({ ...at, repair: z.object({ a: nodeOrGroup, b: nodeOrGroup }).strict() }).strict(),
  hold: z.object({ ...at, hold: z.object({ from: nodeOrGroup, to: nodeOrGroup }).strict() }).strict(),
  release: z.object({ ...at, release: z.object({ from: nodeOrGroup, to: nodeOrGroup }).strict() }).strict(),
  pause: z.object({ ...at, pause: nodeOrGroup, for: duration }).strict(),
  /** The node keeps running and its timers fire on time, but it handles every inbound message `delay` late, in order, for `for`. */
  slow: z.object({ ...at, slow: z.object({ node: nodeOrGroup, delay: positiveDuration, for: positiveDuration }).strict() }).strict(),
  skew: z.object({ ...at, skew: z.object({ node: nodeName, ms: z.number().min(0) }).strict() }).strict(),
  drift: z.object({ ...at, drift: z.object({ node: nodeName, ppm: z.number().gt(-1e6).max(1e6) }).strict() }).strict(),
  loss: z.object({ ...at, loss: probability, from: nodeOrGroup.optional(), to: nodeOrGroup.optional() }).strict(),
  latency: z.object({ ...at, latency, from: nodeOrGroup.optional(), to: nodeOrGroup.optional() }).strict(),
  leave: z.object({ ...at, leave: nodeOrGroup }).strict(),
};
export const faultSchema = keyedUnion('fault', '{ at: 5s, crash: n3 }', faultVariants);

export const workloadSchema = z.object({
  /** Calls per second, spread evenly, issued by the client node. */
  rate: z.number().positive().max(100_000),
  /** The node that issues calls (default: a dedicated client node named `client`). */
  client: nodeName.default('client'),
  /** `compute` or `tokens` (the director/worker example), or any app method as `service/method` (e.g. `kv.v1/put`). */
  method: z.string().regex(/^(compute|tokens|[A-Za-z][A-Za-z0-9_.-]{0,127}\/[A-Za-z][A-Za-z0-9_]{0,127})$/, 'compute, tokens, or an app method as service/method (e.g. kv.v1/put)').default('compute'),
  strategy: z.enum(STRATEGY_NAMES).default('round-robin'),
  /** Narrows the members called (a tag filter). @default role=worker for compute and tokens, none for app methods */
  filter: z.string().optional(),
  idempotent: z.boolean().default(true),
  deadline: duration.default(2_000),
  /** Simulated service time of a worker. */
  serviceTime: latency.default({ kind: 'exponential', meanMs: 5, minMs: 1 }),
  retries: z.number().int().min(0).max(10).default(2),
  /** Admission control in front of the workers: calls wait in a bounded queue when every worker is at its limit. */
  admission: z.object({
    capacity: z.number().int().min(0).max(100_000).default(256),
    timeout: duration.default(1_000),
    inFlightPerWorker: z.number().int().min(1).max(100_000).default(32),
  }).strict().optional(),
  hedgeAfter: duration.optional(),
  start: duration.default(0),
  stop: duration.optional(),
  /**
   * Client processes on the client node, each with at most one call outstanding and its own
   * arrivals at `rate / clients` (the rate is the total). @default none: an open workload,
   * every arrival issued at once (each call by a process with none outstanding)
   */
  clients: z.number().int().min(1).max(WORKLOAD_CLIENTS_MAX).optional(),
}).strict();

export const expectationVariants = {
  'failed-within': z.object({ 'failed-within': z.object({ node: nodeName, within: duration }).strict() }).strict(),
  'no-false-failures': z.object({ 'no-false-failures': z.object({ except: z.array(nodeName).default([]) }).strict().or(z.literal(true)) }).strict(),
  'converge-within': z.object({ 'converge-within': z.object({ after: duration, within: duration }).strict() }).strict(),
  'partition-detected': z.object({ 'partition-detected': z.object({ sides: z.array(group).min(2), within: duration.optional() }).strict() }).strict(),
  'rejoined-within': z.object({ 'rejoined-within': z.object({ node: nodeName, within: duration }).strict() }).strict(),
  'left-not-failed': z.object({ 'left-not-failed': z.object({ node: nodeName }).strict() }).strict(),
  'false-failures-at-most': z.object({ 'false-failures-at-most': z.number().int().min(0) }).strict(),
  'no-rpc-outcome-lost': z.object({ 'no-rpc-outcome-lost': z.literal(true) }).strict(),
  'success-ratio-at-least': z.object({ 'success-ratio-at-least': z.number().min(0).max(1) }).strict(),
  'p99-latency-at-most': z.object({ 'p99-latency-at-most': duration }).strict(),
  'quorum-side-only': z.object({ 'quorum-side-only': z.object({ sides: z.array(group).min(2) }).strict() }).strict(),
  'shed-at-least': z.object({ 'shed-at-least': z.number().min(0).max(1) }).strict(),
  /** The run's operation history is linearizable for the model; a checker out of budget (`unknown`) fails it. */
  linearizable: z.object({
    linearizable: z.object({
      model: z.enum(LINEARIZABLE_MODELS),
      /** Search steps the checker may take. @default the checker's own */
      stepsMax: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
      /** Wall-clock time the checker may take. @default the checker's own */
      timeMax: duration.optional(),
    }).strict(),
  }).strict(),
  /** A user's checker module (path relative to the scenario file), default-exporting `(input) => { pass, evidence? }`. */
  check: z.object({ check: z.string().min(1).max(1024) }).strict(),
};
export const expectationSchema = keyedUnion('expectation', '{ failed-within: { node: n3, within: 15s } }', expectationVariants);

export const durationSchema = duration;

export const scenarioSchema = z.object({
  name: z.string().min(1).max(200),
  description: z.string().default(''),
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(1),
  duration,
  cluster: clusterSchema,
  network: networkSchema.default({ links: [] }),
  faults: z.array(faultSchema).default([]),
  workload: workloadSchema.optional(),
  expect: z.array(expectationSchema).default([]),
}).strict();

export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
/** A fault as parsed: a discriminated union on `kind` (`{ kind: 'crash', at, crash }` …). */
export type Fault = Keyed<typeof faultVariants>;
export type FaultKind = keyof typeof faultVariants;
/** The fault of one kind: `FaultOf<'crash'>` is `{ kind: 'crash'; at: number; crash: string | string[] }`. */
export type FaultOf<K extends FaultKind> = Extract<Fault, { kind: K }>;
/** An expectation as parsed: a discriminated union on `kind`. */
export type Expectation = Keyed<typeof expectationVariants>;
export type ExpectationKind = keyof typeof expectationVariants;
export type ExpectationOf<K extends ExpectationKind> = Extract<Expectation, { kind: K }>;
export type Link = z.output<typeof linkSchema>;
export type Workload = z.output<typeof workloadSchema>;
export type LatencySpecInput = z.output<typeof latency>;
