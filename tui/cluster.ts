import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { buildScenarioSim, type ScenarioSim } from '../scenarios/runner.ts';
import { parseScenario } from '../scenarios/load.ts';

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
  readonly built: ScenarioSim;
}

/** Builds a scenario's simulation for the dashboard; `text` is YAML, `base` an object already parsed. */
export function buildDashboardScenario(input: { text: string; file: string } | { base: Record<string, unknown> }, seed?: number): DashboardScenario {
  const text = 'text' in input ? input.text : JSON.stringify(input.base);
  const file = 'file' in input ? input.file : '<built-in>';
  const scenario = parseScenario(text, file);
  const base = 'base' in input ? input.base : (parse(text) as Record<string, unknown>);
  return { base, built: buildScenarioSim(scenario, seed === undefined ? {} : { seed }) };
}

export function readScenarioFile(file: string): { text: string; file: string } {
  return { text: readFileSync(file, 'utf8'), file };
}
