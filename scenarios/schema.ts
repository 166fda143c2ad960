import { z } from 'zod';
import { STRATEGY_NAMES } from '../core/balance/index.ts';
import { parseDurationMs } from './duration.ts';

/**
 * The scenario file format (YAML), validated with zod. `docs/SCENARIOS.md` documents every
 * field; `load.ts` turns validation failures into errors that point at the line.
 */

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDurationMs(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a duration such as 500ms, 2s or 1m, got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return ms;
});

const probability = z.number().min(0).max(1);
const nodeName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'a node name: letters, digits, . _ -');
const group = z.array(nodeName).min(1);
const nodeOrGroup = z.union([nodeName, group]);

const latency = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('constant'), ms: z.number().min(0) }).strict(),
  z.object({ kind: z.literal('uniform'), minMs: z.number().min(0), maxMs: z.number().min(0) }).strict(),
  z.object({ kind: z.literal('normal'), meanMs: z.number().min(0), stdDevMs: z.number().min(0), minMs: z.number().min(0).optional(), maxMs: z.number().min(0).optional() }).strict(),
  z.object({ kind: z.literal('exponential'), meanMs: z.number().positive(), minMs: z.number().min(0).optional(), maxMs: z.number().min(0).optional() }).strict(),
  z.object({ kind: z.literal('pareto'), scaleMs: z.number().positive(), shape: z.number().positive(), maxMs: z.number().min(0).optional() }).strict(),
  z.object({ kind: z.literal('lognormal'), medianMs: z.number().positive(), sigma: z.number().min(0), minMs: z.number().min(0).optional(), maxMs: z.number().min(0).optional() }).strict(),
]);

const linkModel = z.object({
  latency: latency.optional(),
  loss: probability.optional(),
  duplicate: probability.optional(),
  reorder: probability.optional(),
  reorderDelay: latency.optional(),
}).strict();

const tags = z.record(z.string(), z.string());

export const clusterSchema = z.object({
  /** Number of nodes, named n1..nN unless `nodes` names them. */
  size: z.number().int().min(1).max(20_000).optional(),
  nodes: z.array(nodeName).min(1).max(20_000).optional(),
  preset: z.enum(['lan', 'wan', 'local']).default('lan'),
  /** Overrides of the membership configuration (see docs/MEMBERSHIP.md). */
  config: z.record(z.string(), z.union([z.number(), z.boolean(), z.string()])).default({}),
  /** Turn all three Lifeguard mechanisms on or off together. */
  lifeguard: z.boolean().default(true),
  /** Tags per node name, or `all` for every node. */
  tags: z.record(z.string(), tags).default({}),
  /** Nodes every node joins through; default the first node. */
  seeds: z.array(nodeName).optional(),
  /** Application services: `director-worker` runs the director/worker example. */
  services: z.array(z.enum(['director-worker'])).default([]),
  /** Stagger node starts over this window (all start at 0 by default). */
  startSpread: duration.default(0),
}).strict().refine((c) => c.size !== undefined || c.nodes !== undefined, { message: 'give cluster.size or cluster.nodes' })
  .refine((c) => c.size === undefined || c.nodes === undefined || c.size === c.nodes.length, { message: 'cluster.size and cluster.nodes disagree' });

export const networkSchema = linkModel.extend({
  links: z.array(linkModel.extend({ from: nodeOrGroup, to: nodeOrGroup }).strict()).default([]),
}).strict();

/**
 * A union told apart by which action key is present (`crash`, `partition`, ...), so an
 * error names the field that is wrong instead of "no variant matched".
 */
function keyedUnion<T extends z.ZodObject>(what: string, variants: Record<string, T>) {
  const kinds = Object.keys(variants);
  return z.record(z.string(), z.unknown()).transform((value, ctx): z.output<T> => {
    const present = Object.keys(value).filter((k) => kinds.includes(k));
    if (present.length !== 1) {
      const unknown = Object.keys(value).filter((k) => !kinds.includes(k) && !['at', 'for', 'from', 'to'].includes(k));
      ctx.addIssue({
        code: 'custom',
        message: present.length > 1
          ? `one ${what} per entry, found ${present.join(' and ')}`
          : `unknown ${what}${unknown.length ? ` "${unknown.join('", "')}"` : ''}; expected one of: ${kinds.join(', ')}`,
      });
      return z.NEVER;
    }
    const result = variants[present[0]!]!.safeParse(value);
    if (!result.success) {
      for (const issue of result.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path as PropertyKey[] });
      return z.NEVER;
    }
    return result.data as z.output<T>;
  });
}

const at = { at: duration };
export const faultSchema = keyedUnion('fault', {
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
  skew: z.object({ ...at, skew: z.object({ node: nodeName, ms: z.number().min(0) }).strict() }).strict(),
  drift: z.object({ ...at, drift: z.object({ node: nodeName, ppm: z.number().gt(-1e6).max(1e6) }).strict() }).strict(),
  loss: z.object({ ...at, loss: probability, from: nodeOrGroup.optional(), to: nodeOrGroup.optional() }).strict(),
  latency: z.object({ ...at, latency, from: nodeOrGroup.optional(), to: nodeOrGroup.optional() }).strict(),
  leave: z.object({ ...at, leave: nodeOrGroup }).strict(),
});

export const workloadSchema = z.object({
  /** Calls per second, spread evenly, issued by the client node. */
  rate: z.number().positive().max(100_000),
  /** The node that issues calls (default: a dedicated client node named `client`). */
  client: nodeName.default('client'),
  method: z.enum(['compute', 'tokens']).default('compute'),
  strategy: z.enum(STRATEGY_NAMES).default('round-robin'),
  filter: z.string().default('role=worker'),
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
}).strict();

export const expectationSchema = keyedUnion('expectation', {
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
});

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
export type Fault = z.output<typeof faultSchema>;
export type Expectation = z.output<typeof expectationSchema>;
export type Workload = z.output<typeof workloadSchema>;
export type LatencySpecInput = z.output<typeof latency>;
