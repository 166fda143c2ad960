import { readFileSync } from 'node:fs';
import { LineCounter, isMap, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import { ShoalError } from '../core/index.ts';
import { scenarioSchema, type Scenario } from './schema.ts';

/** A scenario file that cannot be read, parsed or validated. Each problem names its line, column and field. */
export class ScenarioError extends ShoalError {
  override readonly code = 'SCENARIO_INVALID';
  constructor(readonly file: string, readonly problems: { line: number; column: number; path: string; message: string }[]) {
    super(`${file}: invalid scenario\n${problems.map((p) => `  ${file}:${p.line}:${p.column} ${p.path || '(top)'}: ${p.message}`).join('\n')}`);
  }
}

export function loadScenarioFile(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ScenarioError(file, [{ line: 0, column: 0, path: '', message: `cannot read: ${(error as Error).message}` }]);
  }
  return parseScenario(text, file);
}

export function parseScenario(text: string, file = '<scenario>'): Scenario {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ScenarioError(file, doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return { line: pos.line, column: pos.col, path: '', message: e.message.split('\n')[0]! };
    }));
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // Unresolved aliases and alias bombs surface here, not as parse errors.
    throw new ScenarioError(file, [{ line: 1, column: 1, path: '', message: (error as Error).message }]);
  }
  const result = scenarioSchema.safeParse(data);
  if (result.success) return result.data;
  throw new ScenarioError(file, result.error.issues.map((issue) => {
    const path = issue.path.map(String);
    const node = nodeAt(doc.contents as YamlNode | null, path);
    const pos = node?.range ? lineCounter.linePos(node.range[0]) : { line: 1, col: 1 };
    return { line: pos.line, column: pos.col, path: path.join('.'), message: issue.message };
  }));
}

/** The deepest YAML node along `path`, so an error points as close to its field as possible. */
function nodeAt(root: YamlNode | null, path: string[]): YamlNode | null {
  let node: YamlNode | null = root;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => String((item.key as { value?: unknown })?.value ?? item.key) === key);
      if (pair === undefined) return node;
      node = (pair.value as YamlNode | null) ?? (pair.key as YamlNode);
    } else if (isSeq(node)) {
      const item = node.items[Number(key)] as YamlNode | undefined;
      if (item === undefined) return node;
      node = item;
    } else {
      return node;
    }
  }
  return node;
}
