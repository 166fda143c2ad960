import { z } from 'zod';
import { ConfigError } from '../core/index.ts';
import { resolveSwimConfig, swimPresets } from '../core/swim/index.ts';
import { latencySampler } from '../sim/index.ts';
import { formatDurationMs } from './duration.ts';
import { scenarioSwimConfig } from './membership.ts';
import {
  clusterSchema, durationSchema, expectationSchema, faultSchema, linkSchema, networkSchema, workloadSchema,
  type Expectation, type ExpectationKind, type ExpectationOf, type Fault, type FaultKind, type FaultOf, type LatencySpecInput, type Link, type Scenario,
} from './schema.ts';

/**
 * The checks across fields that the schema cannot make: every node a fault, link or
 * expectation names exists; groups that must be apart share no node; nothing is timed
 * at or after the end of the run; an expectation about a crash, restart or leave has
 * that fault; the membership configuration holds its invariants; latency bounds are
 * ordered. Each part of the scenario is checked on its own, so a part the schema refuses
 * does not hide the problems of the others.
 */

export type Path = readonly (string | number)[];

/** A problem not yet placed in the text: the path of the field it is about. */
export interface FieldProblem {
  readonly path: Path;
  readonly message: string;
  /** About a key itself (an unknown field, tags of an unknown node): point at the key, not its value. */
  readonly atKey?: boolean;
  /** About something absent, which broken YAML may have swallowed. */
  readonly missing?: boolean;
}

type Names = string | readonly string[];

/** Where a scenario names nodes. */
interface NodeRef {
  readonly path: Path;
  readonly nodes: Names;
  readonly atKey?: boolean;
}

/** What one fault or expectation names, and what it needs. */
interface Shape {
  readonly refs: readonly NodeRef[];
  /** The groups are sides of a cut: no node may be in two. */
  readonly disjoint?: boolean;
  /** An expectation about one node's crash, restart or leave needs that fault. */
  readonly needs?: { readonly fault: FaultKind; readonly node: string; readonly path: Path };
  /** An expectation about RPC outcomes needs a workload. */
  readonly needsWorkload?: boolean;
}

const ref = (path: Path, nodes: Names | undefined): NodeRef[] => (nodes === undefined ? [] : [{ path, nodes }]);
const sides = (path: Path, groups: readonly (readonly string[])[]): NodeRef[] => groups.map((g, i) => ({ path: [...path, i], nodes: g }));
const fromTo = (key: string, x: { from?: Names; to?: Names }): NodeRef[] => [...ref([key, 'from'], x.from), ...ref([key, 'to'], x.to)];
const none: Shape = { refs: [] };

const faultShapes: { readonly [K in FaultKind]: (f: FaultOf<K>) => Shape } = {
  crash: (f) => ({ refs: ref(['crash'], f.crash) }),
  restart: (f) => ({ refs: ref(['restart'], f.restart) }),
  leave: (f) => ({ refs: ref(['leave'], f.leave) }),
  partition: (f) => ({ refs: sides(['partition'], f.partition), disjoint: true }),
  oneway: (f) => ({ refs: fromTo('oneway', f.oneway), disjoint: true }),
  bridge: (f) => ({ refs: [...ref(['bridge', 'a'], f.bridge.a), ...ref(['bridge', 'via'], f.bridge.via), ...ref(['bridge', 'b'], f.bridge.b)], disjoint: true }),
  isolate: (f) => ({ refs: ref(['isolate'], f.isolate) }),
  heal: () => none,
  repair: (f) => ({ refs: [...ref(['repair', 'a'], f.repair.a), ...ref(['repair', 'b'], f.repair.b)] }),
  hold: (f) => ({ refs: fromTo('hold', f.hold) }),
  release: (f) => ({ refs: fromTo('release', f.release) }),
  pause: (f) => ({ refs: ref(['pause'], f.pause) }),
  slow: (f) => ({ refs: ref(['slow', 'node'], f.slow.node) }),
  skew: (f) => ({ refs: ref(['skew', 'node'], f.skew.node) }),
  drift: (f) => ({ refs: ref(['drift', 'node'], f.drift.node) }),
  loss: (f) => ({ refs: [...ref(['from'], f.from), ...ref(['to'], f.to)] }),
  latency: (f) => ({ refs: [...ref(['from'], f.from), ...ref(['to'], f.to)] }),
};

const aboutNode = (kind: ExpectationKind, node: string, fault: FaultKind): Shape => ({ refs: ref([kind, 'node'], node), needs: { fault, node, path: [kind, 'node'] } });
const rpc: Shape = { refs: [], needsWorkload: true };

const expectationShapes: { readonly [K in ExpectationKind]: (e: ExpectationOf<K>) => Shape } = {
  'failed-within': (e) => aboutNode('failed-within', e['failed-within'].node, 'crash'),
  'rejoined-within': (e) => aboutNode('rejoined-within', e['rejoined-within'].node, 'restart'),
  'left-not-failed': (e) => aboutNode('left-not-failed', e['left-not-failed'].node, 'leave'),
  'no-false-failures': (e) => ({ refs: e['no-false-failures'] === true ? [] : ref(['no-false-failures', 'except'], e['no-false-failures'].except) }),
  'false-failures-at-most': () => none,
  'converge-within': () => none,
  'partition-detected': (e) => ({ refs: sides(['partition-detected', 'sides'], e['partition-detected'].sides), disjoint: true }),
  'quorum-side-only': (e) => ({ refs: sides(['quorum-side-only', 'sides'], e['quorum-side-only'].sides), disjoint: true }),
  'no-rpc-outcome-lost': () => rpc,
  'success-ratio-at-least': () => rpc,
  'p99-latency-at-most': () => rpc,
  'shed-at-least': () => rpc,
  linearizable: () => rpc,
  check: () => none,
};

const faultShape = (f: Fault): Shape => (faultShapes[f.kind] as (f: Fault) => Shape)(f);
const expectationShape = (e: Expectation): Shape => (expectationShapes[e.kind] as (e: Expectation) => Shape)(e);

/** Each part of a scenario parsed on its own (undefined where that part is invalid). */
interface Parts {
  readonly duration: number | undefined;
  readonly nodes: readonly string[] | undefined;
  /** The workload's client: a node of its own unless the cluster names it. */
  readonly client: string | undefined;
  readonly cluster: z.output<typeof clusterSchema> | undefined;
  readonly network: z.output<typeof networkSchema> | undefined;
  readonly links: readonly (Link | undefined)[];
  readonly faults: readonly (Fault | undefined)[];
  readonly workload: Scenario['workload'];
  readonly workloadGiven: boolean;
  readonly expect: readonly (Expectation | undefined)[];
}

const record = (value: unknown): Record<string, unknown> => (value !== null && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : {});
function one<T extends z.ZodType>(schema: T, value: unknown): z.output<T> | undefined {
  const result = schema.safeParse(value);
  return result.success ? result.data : undefined;
}
const each = <T extends z.ZodType>(schema: T, value: unknown) => (Array.isArray(value) ? value.map((v) => one(schema, v)) : []);

function partsOf(data: unknown): Parts {
  const root = record(data);
  const cluster = record(root.cluster);
  const size = one(clusterSchema.shape.size, cluster.size);
  const workload = root.workload === undefined ? undefined : record(root.workload);
  return {
    duration: one(durationSchema, root.duration),
    nodes: one(clusterSchema.shape.nodes, cluster.nodes) ?? (size === undefined ? undefined : Array.from({ length: size }, (_, i) => `n${i + 1}`)),
    client: workload === undefined ? undefined : one(workloadSchema.shape.client, workload.client),
    cluster: one(clusterSchema, root.cluster),
    network: root.network === undefined ? undefined : one(networkSchema, root.network),
    links: each(linkSchema, record(root.network).links),
    faults: each(faultSchema, root.faults),
    workload: one(workloadSchema, root.workload),
    workloadGiven: root.workload !== undefined,
    expect: each(expectationSchema, root.expect),
  };
}

/** Every problem across the fields of `data` (a parsed scenario file, or a `Scenario`). */
export function crossFieldProblems(data: unknown): FieldProblem[] {
  const parts = partsOf(data);
  return [...nodeProblems(parts), ...timeProblems(parts), ...slowProblems(parts), ...needProblems(parts), ...configProblems(parts), ...latencyProblems(parts)];
}

const asList = (names: Names): readonly string[] => (typeof names === 'string' ? [names] : names);
const prefixed = (prefix: Path, shape: Shape): Shape => ({
  ...shape, refs: shape.refs.map((r) => ({ ...r, path: [...prefix, ...r.path] })),
  ...(shape.needs ? { needs: { ...shape.needs, path: [...prefix, ...shape.needs.path] } } : {}),
});

function shapes(parts: Parts): Shape[] {
  const cluster: NodeRef[] = parts.cluster === undefined ? [] : [
    ...ref(['cluster', 'seeds'], parts.cluster.seeds),
    ...Object.keys(parts.cluster.tags).filter((k) => k !== 'all').map((k) => ({ path: ['cluster', 'tags', k], nodes: k, atKey: true })),
  ];
  return [
    { refs: cluster },
    ...parts.links.flatMap((l, i) => (l === undefined ? [] : [{ refs: [{ path: ['network', 'links', i, 'from'], nodes: l.from }, { path: ['network', 'links', i, 'to'], nodes: l.to }] }])),
    ...parts.faults.flatMap((f, i) => (f === undefined ? [] : [prefixed(['faults', i], faultShape(f))])),
    ...parts.expect.flatMap((e, i) => (e === undefined ? [] : [prefixed(['expect', i], expectationShape(e))])),
  ];
}

function nodeProblems(parts: Parts): FieldProblem[] {
  const { nodes } = parts;
  if (nodes === undefined) return [];
  const problems: FieldProblem[] = [];
  nodes.forEach((n, i) => {
    if (nodes.indexOf(n) !== i) problems.push({ path: ['cluster', 'nodes', i], message: `node "${n}" is listed twice` });
  });
  const known = new Set([...nodes, ...(parts.client === undefined ? [] : [parts.client])]);
  for (const shape of shapes(parts)) {
    for (const r of shape.refs) {
      asList(r.nodes).forEach((name, i) => {
        if (known.has(name)) return;
        const path = typeof r.nodes === 'string' ? r.path : [...r.path, i];
        problems.push({ path, atKey: r.atKey, message: `unknown node "${name}"; the cluster has ${describeNodes(nodes, parts.client)}` });
      });
    }
    if (shape.disjoint) problems.push(...overlaps(shape.refs));
  }
  return problems;
}

/** `n1..n4`, or the names, and the workload's own client node if it has one. */
function describeNodes(all: readonly string[], client: string | undefined): string {
  const nodes = [...new Set(all)];
  const numbered = nodes.every((n, i) => n === `n${i + 1}`);
  const list = numbered ? (nodes.length === 1 ? 'n1' : `n1..n${nodes.length}`)
    : nodes.length <= 10 ? nodes.join(', ') : `${nodes.slice(0, 8).join(', ')}, … (${nodes.length} nodes)`;
  return client === undefined || nodes.includes(client) ? list : `${list} and the workload's client "${client}"`;
}

function overlaps(groups: readonly NodeRef[]): FieldProblem[] {
  const sideOf = new Map<string, NodeRef>();
  const problems: FieldProblem[] = [];
  for (const group of groups) {
    for (const name of new Set(asList(group.nodes))) {
      const first = sideOf.get(name);
      if (first === undefined) sideOf.set(name, group);
      else problems.push({ path: group.path, message: `node "${name}" is also in ${first.path.join('.')}: a node can be on one side only` });
    }
  }
  return problems;
}

function timeProblems(parts: Parts): FieldProblem[] {
  const { duration } = parts;
  if (duration === undefined) return [];
  const end = `the end of the run (duration ${formatDurationMs(duration)})`;
  const problems: FieldProblem[] = [];
  parts.faults.forEach((f, i) => {
    if (f !== undefined && f.at >= duration) problems.push({ path: ['faults', i, 'at'], message: `at ${formatDurationMs(f.at)} is not before ${end}: this fault would never happen` });
  });
  parts.expect.forEach((e, i) => {
    if (e?.kind !== 'converge-within' || e['converge-within'].after < duration) return;
    problems.push({ path: ['expect', i, 'converge-within', 'after'], message: `after ${formatDurationMs(e['converge-within'].after)} is not before ${end}: convergence would never be sampled` });
  });
  const w = parts.workload;
  if (w !== undefined && w.start >= duration) problems.push({ path: ['workload', 'start'], message: `start ${formatDurationMs(w.start)} is not before ${end}: no call would be made` });
  if (w?.stop !== undefined && w.stop > duration) problems.push({ path: ['workload', 'stop'], message: `stop ${formatDurationMs(w.stop)} is after ${end}: calls in flight at the end would have no outcome` });
  const spread = parts.cluster?.startSpread;
  if (spread !== undefined && spread > 0 && spread >= duration) problems.push({ path: ['cluster', 'startSpread'], message: `${formatDurationMs(spread)} is not shorter than the run (duration ${formatDurationMs(duration)}): the last nodes would never start` });
  return problems;
}

/**
 * Two slow faults of one node that overlap: the simulator ends a node's slowness when the
 * first of them ends, a real node when the last one given ends, so the scenario would mean
 * two things. A crash or restart of the node in between ends the first with its process.
 */
function slowProblems(parts: Parts): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const slowUntil = new Map<string, { untilMs: number; index: number }>();
  const faults = parts.faults.map((f, i) => ({ f, i })).filter((x): x is { f: Fault; i: number } => x.f !== undefined).sort((a, b) => a.f.at - b.f.at || a.i - b.i);
  for (const { f, i } of faults) {
    if (f.kind === 'crash' || f.kind === 'restart') for (const n of asList(f.kind === 'crash' ? f.crash : f.restart)) slowUntil.delete(n);
    if (f.kind !== 'slow') continue;
    for (const n of asList(f.slow.node)) {
      const earlier = slowUntil.get(n);
      if (earlier !== undefined && f.at < earlier.untilMs) {
        problems.push({ path: ['faults', i, 'slow', 'node'], message: `${n} is still slow from faults.${earlier.index} until ${formatDurationMs(earlier.untilMs)}: one slow fault per node at a time (start this one at ${formatDurationMs(earlier.untilMs)} or later)` });
      }
      slowUntil.set(n, { untilMs: f.at + f.slow.for, index: i });
    }
  }
  return problems;
}

/** Expectations that could only fail: about a crash, restart or leave that never happens, or about RPC without a workload. */
function needProblems(parts: Parts): FieldProblem[] {
  if (parts.faults.includes(undefined) || parts.duration === undefined) return [];
  const duration = parts.duration;
  const happens = (kind: FaultKind, node: string) => parts.faults.some((f) => f !== undefined && f.at < duration && f.kind === kind && asList((f as unknown as Record<string, Names>)[kind]!).includes(node));
  const problems: FieldProblem[] = [];
  parts.expect.forEach((e, i) => {
    if (e === undefined) return;
    const shape = prefixed(['expect', i], expectationShape(e));
    const needs = shape.needs;
    // An unknown node is told as such by nodeProblems.
    if (needs !== undefined && parts.nodes?.includes(needs.node) === true && !happens(needs.fault, needs.node)) {
      problems.push({ path: needs.path, message: `no fault ${verbs[needs.fault] ?? needs.fault} ${needs.node} before the end of the run: this expectation could only fail (add { at: …, ${needs.fault}: ${needs.node} } to faults)` });
    }
    if (shape.needsWorkload && parts.workload === undefined && !parts.workloadGiven) {
      problems.push({ path: ['expect', i], message: `${e.kind} is about RPC calls, and the scenario has no workload: it could only fail (add a workload, see docs/SCENARIOS.md)` });
    }
  });
  return problems;
}

const verbs: Partial<Record<FaultKind, string>> = { crash: 'crashes', restart: 'restarts', leave: 'makes leave' };

/** The invariants `resolveSwimConfig` holds a node's configuration to, checked before any node starts. */
function configProblems(parts: Parts): FieldProblem[] {
  const cluster = parts.cluster;
  if (cluster === undefined) return [];
  try {
    resolveSwimConfig(scenarioSwimConfig({ cluster } as Scenario));
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const detail = error.message.slice(error.field.length + 2);
    if (error.field in cluster.config) return [{ path: ['cluster', 'config', error.field], message: `${error.field} ${detail}` }];
    const preset = swimPresets[cluster.preset] as unknown as Record<string, unknown>;
    return [{ path: ['cluster', 'config'], message: `${error.field} ${detail} (${error.field} is ${String(preset[error.field])} in the ${cluster.preset} preset: set it in cluster.config too)` }];
  }
}

/** Latency distributions whose bounds the simulator refuses (maxMs below minMs, or below the pareto scale). */
function latencyProblems(parts: Parts): FieldProblem[] {
  const specs: { path: Path; spec: LatencySpecInput | undefined }[] = [
    { path: ['network', 'latency'], spec: parts.network?.latency },
    { path: ['network', 'reorderDelay'], spec: parts.network?.reorderDelay },
    ...parts.links.flatMap((l, i) => [{ path: ['network', 'links', i, 'latency'], spec: l?.latency }, { path: ['network', 'links', i, 'reorderDelay'], spec: l?.reorderDelay }]),
    ...parts.faults.map((f, i) => ({ path: ['faults', i, 'latency'], spec: f?.kind === 'latency' ? f.latency : undefined })),
    { path: ['workload', 'serviceTime'], spec: parts.workload?.serviceTime },
  ];
  return specs.flatMap(({ path, spec }) => {
    if (spec === undefined) return [];
    try {
      latencySampler(spec);
      return [];
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const field = error.field.replace(/^latency\./, '');
      return [{ path: [...path, field], message: `${field} ${error.message.slice(error.field.length + 2)}` }];
    }
  });
}
