import { readFileSync } from 'node:fs';
import { ShoalError } from '../core/index.ts';
import { fileErrorReason } from './files.ts';
import type { Scenario } from './schema.ts';
import { validateScenarioText, type ScenarioProblem } from './validate.ts';

/**
 * A scenario file that cannot be read, parsed or validated. Each problem names its line,
 * column and field; the message lists them all, one a line.
 */
export class ScenarioError extends ShoalError {
  override readonly code = 'SCENARIO_INVALID';
  constructor(readonly file: string, readonly problems: readonly ScenarioProblem[], headline?: string) {
    super(headline ?? [
      `${file}: invalid scenario, ${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}`,
      ...problems.map((p) => `  ${file}:${p.line}:${p.column} ${p.path || '(top)'}: ${p.message}`),
    ].join('\n'));
  }
}

export function loadScenarioFile(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ScenarioError(file, [], `cannot read ${file}: ${fileErrorReason(error)}`);
  }
  return parseScenario(text, file);
}

/** Parses and validates a scenario's YAML; throws `ScenarioError` with every problem found. */
export function parseScenario(text: string, file = '<scenario>'): Scenario {
  const result = validateScenarioText(text);
  if (result.ok) return result.scenario;
  throw new ScenarioError(file, result.problems);
}
