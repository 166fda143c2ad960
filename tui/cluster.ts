import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { startScenarioRun, type ScenarioRun, type ScenarioSim } from '../scenarios/runner.ts';
import { loadScenarioApps, type ScenarioApps } from '../scenarios/apps.ts';
import { fileErrorReason } from '../scenarios/files.ts';
import { ScenarioError, parseScenario } from '../scenarios/load.ts';

/** Members the built-in cluster may have (the dashboard stays usable, the simulation stays fast). */
export const demoNodesMax = 1_000;

const zones = ['a', 'b', 'c'];

/**
 * The built-in scenario `shoal tui` shows when no file is given: N SWIM members (n1..nN)
 * with the LAN preset, tagged with a zone, on a LAN-like network, and no scheduled faults;
 * the person at the keyboard brings the faults. It is an ordinary scenario, so a recorded
 * session replays through the scenario runner exactly as it ran here.
 */
export function defaultScenario(nodes = 8, seed = 1): Record<string, unknown> {
  const tags: Record<string, Record<string, string>> = {};
  for (let i = 1; i <= nodes; i++) tags[`n${i}`] = { zone: zones[(i - 1) % zones.length]! };
  return {
    name: 'tui-default',
    description: 'The built-in cluster of shoal tui.',
    seed,
    duration: '1h',
    cluster: { size: nodes, preset: 'lan', tags },
    network: { latency: { kind: 'lognormal', medianMs: 1, sigma: 0.4 } },
  };
}

export interface DashboardScenario {
  /** The scenario as written (for saving the session). */
  readonly base: Record<string, unknown>;
  /** The run as the scenario runner makes it: the same simulation, convergence samples and checks as `shoal run`. */
  readonly run: ScenarioRun;
  readonly built: ScenarioSim;
}

/** A scenario file read for the dashboard, its apps loaded (module paths are relative to the file). */
export interface DashboardScenarioFile {
  readonly text: string;
  readonly file: string;
  readonly apps: ScenarioApps;
}

/** Builds a scenario's simulation for the dashboard; `text` is a file read with `readScenarioFile`, `base` an object already parsed. */
export function buildDashboardScenario(input: DashboardScenarioFile | { base: Record<string, unknown> }, seed?: number): DashboardScenario {
  const text = 'text' in input ? input.text : JSON.stringify(input.base);
  const file = 'file' in input ? input.file : '<built-in>';
  const scenario = parseScenario(text, file);
  const base = 'base' in input ? input.base : (parse(text) as Record<string, unknown>);
  const apps = 'apps' in input ? input.apps : undefined;
  const run = startScenarioRun(scenario, { ...(seed === undefined ? {} : { seed }), ...(apps === undefined ? {} : { apps }) });
  return { base, run, built: run.built };
}

/** Reads a scenario file and loads its apps. Throws `ScenarioError`, or `AppModuleError` for an app that cannot be loaded. */
export async function readScenarioFile(file: string): Promise<DashboardScenarioFile> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ScenarioError(file, [], `cannot read ${file}: ${fileErrorReason(error)}`);
  }
  return { text, file, apps: await loadScenarioApps(parseScenario(text, file), file) };
}
