import { stringify } from 'yaml';
import { describeFault, writtenForm, writtenScenario } from './faults.ts';
import { ShoalError } from '../core/index.ts';
import { appsForChangedScenario, type ScenarioApps } from './apps.ts';
import { formatDurationMs } from './duration.ts';
import { nodeNames, runScenario } from './runner.ts';
import type { Expectation, Scenario } from './schema.ts';
import { validateScenario } from './validate.ts';

/**
 * Reduces a failing run to a smaller scenario that still fails the same way (the same
 * expectation fails, with evidence if it failed with evidence): fewer faults, a shorter
 * run, fewer nodes, no workload. Greedy, one reduction at a time, like delta debugging;
 * bounded by `maxRuns`.
 */
export interface ShrinkResult {
  scenario: Scenario;
  runs: number;
  failing: string[];
  steps: string[];
}

export interface ShrinkOptions {
  /** Runs at most. @default 200 */
  maxRuns?: number;
  /** The scenario's apps, loaded with `loadScenarioApps` (each candidate keeps the same ones). */
  apps?: ScenarioApps;
  onStep?: (step: string) => void;
}

/** The run to shrink does not fail: there is nothing to keep failing. */
export class NothingToShrinkError extends ShoalError {
  override readonly code = 'NOTHING_TO_SHRINK';
}

export async function shrink(original: Scenario, seed: number, options: ShrinkOptions = {}): Promise<ShrinkResult> {
  const maxRuns = options.maxRuns ?? 200;
  const apps = options.apps;
  let runs = 0;
  const first = await runScenario(original, { seed, apps });
  runs++;
  const failed = first.expectations.filter((e) => !e.ok);
  const target = failed.map((e) => e.name);
  // An expectation that failed with evidence (a checker's operations that cannot be
  // ordered) fails the same way only with evidence again: a run cut so short that its
  // history holds no operation fails the linearizability check too, but proves nothing.
  const withEvidence = new Set(failed.filter((e) => (e.evidence?.length ?? 0) > 0).map((e) => e.name));
  if (target.length === 0) throw new NothingToShrinkError(`seed ${seed} passes every expectation of ${original.name}: nothing to shrink`);
  const stillFails = async (candidate: Scenario): Promise<boolean> => {
    // A candidate the validator refuses (an expectation about a crash it no longer has) proves nothing.
    if (runs >= maxRuns || !validateScenario(candidate).ok) return false;
    runs++;
    try {
      const report = await runScenario(candidate, { seed, apps: apps === undefined ? undefined : appsForChangedScenario(candidate, apps) });
      return report.expectations.some((e) => !e.ok && target.includes(e.name) && (!withEvidence.has(e.name) || (e.evidence?.length ?? 0) > 0));
    } catch {
      return false;
    }
  };
  let current = original;
  const steps: string[] = [];
  const accept = (next: Scenario, step: string) => {
    current = next;
    steps.push(step);
    options.onStep?.(step);
  };
  let progress = true;
  while (progress && runs < maxRuns) {
    progress = false;
    if (current.workload !== undefined) {
      const { workload: _w, ...rest } = current;
      const candidate = { ...rest, expect: current.expect.filter((e) => !isRpcExpectation(e)) } as Scenario;
      if (candidate.expect.length > 0 && await stillFails(candidate)) {
        accept(candidate, 'removed the workload');
        progress = true;
      }
    }
    for (let i = current.faults.length - 1; i >= 0; i--) {
      const candidate = { ...current, faults: current.faults.filter((_, j) => j !== i) };
      if (await stillFails(candidate)) {
        accept(candidate, `removed fault ${describeFault(current.faults[i]!)}`);
        progress = true;
      }
    }
    const lastNeeded = Math.max(0, ...current.faults.map((f) => f.at), ...current.expect.map(expectationEndMs));
    const shorter = Math.max(lastNeeded + 1_000, Math.round(current.duration / 2));
    if (shorter < current.duration && await stillFails({ ...current, duration: shorter })) {
      accept({ ...current, duration: shorter }, `shortened the run to ${formatDurationMs(shorter)}`);
      progress = true;
    }
    const names = nodeNames(current);
    const referenced = referencedNodes(current);
    const removable = names.filter((n) => !referenced.has(n) && n !== names[0]);
    if (removable.length > 0) {
      const keep = names.filter((n) => !removable.slice(0, Math.ceil(removable.length / 2)).includes(n));
      const { size: _size, ...cluster } = current.cluster;
      const candidate = { ...current, cluster: { ...cluster, nodes: keep } } as Scenario;
      if (await stillFails(candidate)) {
        accept(candidate, `reduced the cluster to ${keep.length} nodes`);
        progress = true;
      }
    }
  }
  return { scenario: current, runs, failing: target, steps };
}

function isRpcExpectation(e: Expectation): boolean {
  return e.kind === 'no-rpc-outcome-lost' || e.kind === 'success-ratio-at-least' || e.kind === 'p99-latency-at-most' || e.kind === 'shed-at-least';
}

function expectationEndMs(e: Expectation): number {
  if (e.kind === 'converge-within') return e['converge-within'].after + e['converge-within'].within;
  return 0;
}

function referencedNodes(s: Scenario): Set<string> {
  const names = new Set<string>();
  const walk = (x: unknown) => {
    if (typeof x === 'string') names.add(x);
    else if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') Object.values(x).forEach(walk);
  };
  walk(s.faults.map(writtenForm));
  walk(s.expect.map(writtenForm));
  walk(s.cluster.seeds ?? []);
  walk(Object.keys(s.cluster.tags));
  if (s.workload) names.add(s.workload.client);
  return names;
}

/** Writes a scenario back as YAML (durations in milliseconds). */
export function scenarioToYaml(s: Scenario, note?: string): string {
  return (note ? `# ${note}\n` : '') + stringify(writtenScenario(s));
}
