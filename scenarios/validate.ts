import { LineCounter, isMap, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { crossFieldProblems, type FieldProblem, type Path } from './cross-checks.ts';
import { describeValue, knownKeys, scenarioSchema, type Scenario, type VariantIssueParams } from './schema.ts';

/**
 * Validates a scenario completely before anything runs, and reports every problem at once:
 * YAML syntax, the schema (schema.ts), then what the schema cannot see (cross-checks.ts:
 * node names, overlapping groups, times past the end, the membership configuration).
 * Each problem names its line and column, the field, what was expected and what was found.
 */

/** One problem, placed in the file: 1-based line and column. */
export interface ScenarioProblem {
  readonly line: number;
  readonly column: number;
  /** The field, dotted (`faults.0.at`); empty for the file as a whole. */
  readonly path: string;
  readonly message: string;
}

export type { FieldProblem } from './cross-checks.ts';

export type Validation<P> = { readonly ok: true; readonly scenario: Scenario } | { readonly ok: false; readonly problems: readonly P[] };

/** Validates a scenario's YAML text. */
export function validateScenarioText(text: string): Validation<ScenarioProblem> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntax: ScenarioProblem[] = doc.errors.map((e) => {
    const pos = lineCounter.linePos(e.pos[0]);
    return { line: pos.line, column: pos.col, path: '', message: `YAML: ${e.message.split('\n')[0]!}` };
  });
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // Unresolved aliases and alias bombs surface here, not as parse errors.
    return { ok: false, problems: [...syntax, { line: 1, column: 1, path: '', message: `YAML: ${(error as Error).message}` }] };
  }
  const result = validateScenario(data);
  if (result.ok && syntax.length === 0) return result;
  const root = doc.contents as YamlNode | null;
  const syntaxLines = new Set(syntax.map((p) => p.line));
  // Broken syntax can swallow fields: next to YAML errors, only problems on other lines are trusted.
  const placed = (result.ok ? [] : result.problems)
    .filter((p) => syntax.length === 0 || !p.missing)
    .map((p) => place(root, lineCounter, p))
    .filter((p) => !syntaxLines.has(p.line));
  return { ok: false, problems: sortedUnique([...syntax, ...placed]) };
}

/** Validates a scenario given as data (parsed YAML, or a `Scenario` such as a trace's or a shrink candidate). */
export function validateScenario(data: unknown): Validation<FieldProblem> {
  const result = scenarioSchema.safeParse(data, { reportInput: true });
  const schema = result.success ? [] : result.error.issues.flatMap(issueProblems);
  const cross = crossFieldProblems(data).filter((p) => !schema.some((s) => startsWith(p.path, s.path)));
  if (result.success && cross.length === 0) return { ok: true, scenario: result.data };
  return { ok: false, problems: [...schema, ...cross] };
}

/** Field problems as lines, for data without a text to point into. */
export function formatFieldProblems(problems: readonly FieldProblem[]): string[] {
  return problems.map((p) => `${p.path.join('.') || '(top)'}: ${p.message}`);
}

const startsWith = (path: Path, prefix: Path) => prefix.length <= path.length && prefix.every((key, i) => String(key) === String(path[i]));

function sortedUnique(problems: ScenarioProblem[]): ScenarioProblem[] {
  const seen = new Set<string>();
  return problems
    .sort((a, b) => a.line - b.line || a.column - b.column)
    .filter((p) => {
      const key = `${p.line}:${p.column}:${p.message}`;
      return !seen.has(key) && seen.add(key) !== undefined;
    });
}

// ---------------------------------------------------------------- zod issues as messages

/** Zod's own messages, which say neither what was expected in words nor what was found. */
const zodDefaultMessage = /^(Invalid|Too (small|big)|Unrecognized)/;

const typeNames: Record<string, string> = {
  string: 'text', number: 'a number', int: 'an integer', boolean: 'true or false', array: 'a list', object: 'a mapping', record: 'a mapping',
};

function issueProblems(issue: z.core.$ZodIssue): FieldProblem[] {
  const path = issue.path.map((key) => (typeof key === 'number' ? key : String(key)));
  const params = (issue as { params?: Partial<VariantIssueParams> }).params;
  if (issue.code === 'unrecognized_keys') {
    const known = params?.known ?? knownKeys(scenarioSchema, path);
    return issue.keys.map((key) => ({ path: [...path, key], atKey: true, message: unknownKeyMessage(key, path, known) }));
  }
  if (issue.code === 'custom') return [{ path, message: issue.message }];
  const discriminator = (issue as { discriminator?: string }).discriminator;
  // A discriminated union reports the whole object at the path of its discriminator.
  const whole = (issue as { input?: unknown }).input;
  const input = discriminator === undefined ? whole : (whole as Record<string, unknown> | undefined)?.[discriminator];
  if (input === undefined) {
    const field = path.length > 0 ? ` "${path[path.length - 1]}"` : '';
    return [{ path, missing: true, message: `missing field${field}: expected ${expected(issue)}${params?.context ? ` (${params.context})` : ''}` }];
  }
  return [{ path, message: `expected ${expected(issue)}, found ${describeValue(input)}` }];
}

/** What an issue expected, in words. */
function expected(issue: z.core.$ZodIssue): string {
  if (!zodDefaultMessage.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      return typeNames[issue.expected] ?? issue.expected;
    case 'invalid_value':
      return issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
    case 'too_big':
      return bound(issue);
    case 'invalid_union': {
      const alternatives = issue.errors.map((alternative) => (alternative[0] ? expected(alternative[0]) : undefined)).filter((a) => a !== undefined);
      return alternatives.length > 0 ? alternatives.join(' or ') : 'another value';
    }
    default:
      return issue.message;
  }
}

function bound(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string {
  const small = issue.code === 'too_small';
  const limit = Number(small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum);
  if (issue.origin === 'number' || issue.origin === 'bigint') return `a number ${small ? (issue.inclusive ? '≥' : '>') : (issue.inclusive ? '≤' : '<')} ${limit}`;
  const unit = issue.origin === 'string' ? (limit === 1 ? 'character' : 'characters') : (limit === 1 ? 'item' : 'items');
  const thing = issue.origin === 'string' ? 'text' : 'a list';
  return `${thing} of ${small ? 'at least' : 'at most'} ${limit} ${unit}`;
}

function unknownKeyMessage(key: string, path: Path, known: readonly string[] | undefined): string {
  const where = path.length > 0 ? ` in ${path.join('.')}` : '';
  const guess = known === undefined ? undefined : closest(key, known);
  if (guess !== undefined) return `unknown field "${key}"${where}; did you mean "${guess}"?${known!.length > 12 ? '' : ` (fields: ${known!.join(', ')})`}`;
  return `unknown field "${key}"${where}${known === undefined ? '' : `; expected one of: ${known.join(', ')}`}`;
}

/** The known name nearest to a misspelt one, if it is near enough to be what was meant. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = name.toLowerCase().startsWith(word.toLowerCase()) ? 1 : editDistance(word.toLowerCase(), name.toLowerCase());
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  return best !== undefined && best.distance <= Math.max(1, Math.floor(word.length / 3)) ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}

// ---------------------------------------------------------------- places in the text

function place(root: YamlNode | null, lineCounter: LineCounter, problem: FieldProblem): ScenarioProblem {
  const node = nodeAt(root, problem.path.map(String), problem.atKey === true);
  const pos = node?.range ? lineCounter.linePos(node.range[0]) : { line: 1, col: 1 };
  return { line: pos.line, column: pos.col, path: problem.path.join('.'), message: problem.message };
}

/** The deepest YAML node along `path` (the key's node for the last step when `atKey`), so a problem points as close to its field as possible. */
function nodeAt(root: YamlNode | null, path: string[], atKey: boolean): YamlNode | null {
  let node: YamlNode | null = root;
  for (const [i, key] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((item) => String((item.key as { value?: unknown })?.value ?? item.key) === key);
      if (pair === undefined) return node;
      const last = i === path.length - 1;
      node = ((last && atKey ? pair.key : pair.value) as YamlNode | null) ?? (pair.key as YamlNode);
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
