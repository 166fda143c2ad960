import { falseFailures, type RunRecord } from '../scenarios/expectations.ts';
import { parseScenario } from '../scenarios/load.ts';
import { startScenarioRun } from '../scenarios/runner.ts';
import type { Scenario } from '../scenarios/schema.ts';

/**
 * Lifeguard as its paper measured it (Dadgar, Phillips, Currey: "Lifeguard: Local Health
 * Awareness for More Accurate Failure Detection", 2018): a cluster with no failures but
 * some members that are *slow* to process what they receive (they keep running and their
 * timers fire on time, but every inbound message is handled `delay` late: the `slow` fault),
 * and false "failed" declarations counted with Lifeguard off and on. The paper's headline is
 * about healthy members: those that were never slow, declared failed anyway (mostly by a slow
 * member, whose late view of the acks makes it blame its peers). Each cell also crashes one
 * healthy member, to measure what Lifeguard costs in detection time.
 *
 * Every run is a scenario (the same runner `shoal run` uses), so any cell can be replayed
 * with `shoal run` from the scenario the bench prints with `--print-scenario`.
 */

export interface LifeguardSide {
  /** False failure declarations about members that were never slow (each observer's verdict counts once). */
  falseHealthy: number;
  /** False failure declarations about any running member, slow ones included. */
  falseAll: number;
  /** Median over the runs of the first declaration of the crashed member's failure by a healthy member, ms after its crash (null: never detected). */
  firstDetectionMs: number | null;
  /** Median over the runs of the time until every healthy live member declared it failed (null: not all did, in some run). */
  allDetectionMs: number | null;
}

export interface LifeguardCell {
  slow: number;
  delayMs: number;
  loss: number;
  off: LifeguardSide;
  on: LifeguardSide;
  /** off.falseHealthy / max(1, on.falseHealthy). */
  healthyReduction: number;
  /** off.falseAll / max(1, on.falseAll). */
  allReduction: number;
  /** on.firstDetectionMs / off.firstDetectionMs. */
  detectionRatio: number | null;
}

export interface LifeguardBenchResult {
  /** The paper's figure: false positives at healthy members with Lifeguard off, summed over every cell, over the same with it on (at least 1). */
  healthyReduction: number;
  /** The same over false positives about all members. */
  allReduction: number;
  healthyOff: number;
  healthyOn: number;
  allOff: number;
  allOn: number;
  /** Largest on/off ratio of first detection of the real crash over the cells. */
  worstDetectionRatio: number | null;
  targetHealthyReduction: 50;
  targetDetectionRatioMax: 2;
  members: number;
  seeds: number;
  simulatedMs: number;
  wallMs: number;
  cells: LifeguardCell[];
  method: string;
}

export interface LifeguardBenchOptions {
  members?: number;
  /** Seeds per cell and side. */
  seeds?: number;
  slowCounts?: readonly number[];
  delaysMs?: readonly number[];
  losses?: readonly number[];
  durationMs?: number;
}

/** The scenario of one run: `slow` members n2.. slowed from 10 s to the end, the last member crashed at 60 % of the run. */
export function lifeguardScenario(o: { members: number; slow: number; delayMs: number; loss: number; lifeguard: boolean; durationMs: number; seed: number }): Scenario {
  const slowNodes = Array.from({ length: o.slow }, (_, i) => `n${i + 2}`);
  const crashAt = Math.round(o.durationMs * 0.6);
  const yaml = [
    `name: lifeguard-${o.slow}x${o.delayMs}ms-loss${o.loss}-${o.lifeguard ? 'on' : 'off'}`,
    `seed: ${o.seed}`,
    `duration: ${o.durationMs}ms`,
    `cluster: { size: ${o.members}, preset: lan, lifeguard: ${o.lifeguard}, startSpread: 2s }`,
    `network: { loss: ${o.loss} }`,
    'faults:',
    `  - { at: 10s, slow: { node: [${slowNodes.join(', ')}], delay: ${o.delayMs}ms, for: ${o.durationMs - 10_000}ms } }`,
    `  - { at: ${crashAt}ms, crash: n${o.members} }`,
  ].join('\n');
  return parseScenario(`${yaml}\n`);
}

interface RunCounts {
  falseHealthy: number;
  falseAll: number;
  firstMs: number | undefined;
  allMs: number | undefined;
}

async function runOne(scenario: Scenario, slowNodes: ReadonlySet<string>): Promise<RunCounts> {
  const run = startScenarioRun(scenario);
  await run.advance(scenario.duration);
  const { built } = run;
  const record: RunRecord = { nodes: built.nodes, endMs: scenario.duration, observer: built.observer, convergedAt: new Map(), rpc: undefined };
  // One verdict per (observer, member): a member declared failed, refuting and declared again counts each time.
  const found = falseFailures(record);
  // Detection as the healthy members see it: a slow member sees everything late (and may have blamed the member before it crashed).
  const crash = built.observer.faults.find((f) => f.kind === 'crash');
  const crashed = crash?.nodes[0];
  const healthyObservers = built.nodes.filter((n) => n !== crashed && !slowNodes.has(n));
  const firstByObserver = healthyObservers.map((o) => built.observer.observations.find((x) => x.observer === o && x.member === crashed && x.type === 'failed' && x.timeMs >= crash!.timeMs)?.timeMs);
  const seen = firstByObserver.filter((t): t is number => t !== undefined);
  return {
    falseHealthy: found.filter((f) => !slowNodes.has(f.member)).length,
    falseAll: found.length,
    firstMs: crash === undefined || seen.length === 0 ? undefined : Math.min(...seen) - crash.timeMs,
    allMs: crash === undefined || seen.length < healthyObservers.length ? undefined : Math.max(...seen) - crash.timeMs,
  };
}

function median(xs: readonly (number | undefined)[]): number | null {
  if (xs.some((x) => x === undefined) || xs.length === 0) return null;
  const s = [...xs as number[]].sort((a, b) => a - b);
  return Math.round(s[Math.floor(s.length / 2)]!);
}

export async function runLifeguardBench(options: LifeguardBenchOptions = {}, progress?: (line: string) => void): Promise<LifeguardBenchResult> {
  const members = options.members ?? 100;
  const seeds = options.seeds ?? 2;
  const slowCounts = options.slowCounts ?? [1, 4, 16];
  const delaysMs = options.delaysMs ?? [1_000, 5_000, 10_000];
  const losses = options.losses ?? [0, 0.1];
  const durationMs = options.durationMs ?? 90_000;
  const started = performance.now();
  const cells: LifeguardCell[] = [];
  for (const loss of losses) {
    for (const slow of slowCounts) {
      for (const delayMs of delaysMs) {
        const slowNodes = new Set(Array.from({ length: slow }, (_, i) => `n${i + 2}`));
        const side = async (lifeguard: boolean): Promise<LifeguardSide> => {
          const runs: RunCounts[] = [];
          for (let seed = 1; seed <= seeds; seed++) {
            runs.push(await runOne(lifeguardScenario({ members, slow, delayMs, loss, lifeguard, durationMs, seed }), slowNodes));
          }
          return {
            falseHealthy: runs.reduce((a, r) => a + r.falseHealthy, 0),
            falseAll: runs.reduce((a, r) => a + r.falseAll, 0),
            firstDetectionMs: median(runs.map((r) => r.firstMs)),
            allDetectionMs: median(runs.map((r) => r.allMs)),
          };
        };
        const off = await side(false);
        const on = await side(true);
        const cell: LifeguardCell = {
          slow, delayMs, loss, off, on,
          healthyReduction: round(off.falseHealthy / Math.max(1, on.falseHealthy)),
          allReduction: round(off.falseAll / Math.max(1, on.falseAll)),
          detectionRatio: on.firstDetectionMs === null || off.firstDetectionMs === null || off.firstDetectionMs === 0 ? null : round(on.firstDetectionMs / off.firstDetectionMs),
        };
        cells.push(cell);
        progress?.(`slow ${slow} × ${delayMs} ms, loss ${loss}: healthy false positives ${off.falseHealthy} → ${on.falseHealthy}, all ${off.falseAll} → ${on.falseAll}, first detection ${off.firstDetectionMs} → ${on.firstDetectionMs} ms`);
      }
    }
  }
  const sum = (f: (c: LifeguardCell) => number) => cells.reduce((a, c) => a + f(c), 0);
  const healthyOff = sum((c) => c.off.falseHealthy);
  const healthyOn = sum((c) => c.on.falseHealthy);
  const allOff = sum((c) => c.off.falseAll);
  const allOn = sum((c) => c.on.falseAll);
  const ratios = cells.map((c) => c.detectionRatio).filter((r): r is number => r !== null);
  return {
    healthyReduction: round(healthyOff / Math.max(1, healthyOn)),
    allReduction: round(allOff / Math.max(1, allOn)),
    healthyOff, healthyOn, allOff, allOn,
    worstDetectionRatio: ratios.length === 0 ? null : Math.max(...ratios),
    targetHealthyReduction: 50,
    targetDetectionRatioMax: 2,
    members, seeds, simulatedMs: durationMs,
    wallMs: Math.round(performance.now() - started),
    cells,
    method: `${members} members (LAN preset, start spread 2 s), ${durationMs / 1_000} s simulated per run; members n2.. slowed from 10 s to the end (inbound messages handled late, in order; timers on time); n${members} crashed at ${Math.round(durationMs * 0.6 / 1_000)} s; ${seeds} seeds per cell and side; false positives = "failed" declarations about a running member, by any observer`,
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
