import { ConfigError } from '../errors.ts';

/** Longest filter expression accepted: filters come from config files and CLI flags, never bulk data. */
export const FILTER_EXPRESSION_CHARS_MAX = 512;
/** Most clauses in one expression; a worker's tag table is small, so more is a mistake. */
export const FILTER_CLAUSES_MAX = 32;

/** Tag keys: what SWIM tags and config keys use (letters, digits, `_ . / -`). */
const KEY_PATTERN = /^[A-Za-z0-9_./-]+$/;
/** Tag values: as keys, plus `:` `@` `+` for addresses and versions; never `=`, `!`, `,` or spaces. */
const VALUE_PATTERN = /^[A-Za-z0-9_./:@+-]+$/;

/**
 * One clause of a tag filter. `eq`: the tag is present with this value. `ne`: the tag is
 * absent or has another value (as in Kubernetes label selectors). `present` / `absent`:
 * the tag exists / does not exist, whatever its value.
 */
export type TagClause =
  | { readonly op: 'eq' | 'ne'; readonly key: string; readonly value: string }
  | { readonly op: 'present' | 'absent'; readonly key: string };

/** A parsed tag filter: every clause must hold (clauses are joined by AND). */
export interface TagFilter {
  /** The expression as given, for logs and error messages. */
  readonly expression: string;
  readonly clauses: readonly TagClause[];
  matches(tags: Readonly<Record<string, string>>): boolean;
}

/**
 * Parses a tag filter such as `role=worker`, `role=worker,zone=eu`, `gpu=true`,
 * `zone!=us`, `gpu` (tag present) or `!draining` (tag absent). Whitespace around clauses,
 * keys and values is ignored; the empty expression matches every member. Bad syntax gives
 * a `ConfigError` on field `filter` naming the clause, and nothing else is ever thrown.
 */
export function parseTagFilter(expression: string): TagFilter {
  if (typeof expression !== 'string') throw new ConfigError('filter', `expected a string, got ${typeof expression}`);
  if (expression.length > FILTER_EXPRESSION_CHARS_MAX) {
    throw new ConfigError('filter', `expression is ${expression.length} characters, the limit is ${FILTER_EXPRESSION_CHARS_MAX}`);
  }
  const clauses: TagClause[] = [];
  if (expression.trim() !== '') {
    const parts = expression.split(',');
    if (parts.length > FILTER_CLAUSES_MAX) {
      throw new ConfigError('filter', `${parts.length} clauses, the limit is ${FILTER_CLAUSES_MAX}`);
    }
    for (const part of parts) clauses.push(parseClause(part));
  }
  return {
    expression,
    clauses,
    matches: (tags) => clauses.every((clause) => clauseMatches(clause, tags)),
  };
}

function parseClause(part: string): TagClause {
  const text = part.trim();
  if (text === '') throw new ConfigError('filter', 'empty clause (a stray or doubled comma?)');
  const ne = text.indexOf('!=');
  if (ne >= 0) return { op: 'ne', key: checkKey(text.slice(0, ne), text), value: checkValue(text.slice(ne + 2), text) };
  const eq = text.indexOf('=');
  if (eq >= 0) return { op: 'eq', key: checkKey(text.slice(0, eq), text), value: checkValue(text.slice(eq + 1), text) };
  if (text.startsWith('!')) return { op: 'absent', key: checkKey(text.slice(1), text) };
  return { op: 'present', key: checkKey(text, text) };
}

function checkKey(raw: string, clause: string): string {
  const key = raw.trim();
  if (!KEY_PATTERN.test(key)) {
    throw new ConfigError('filter', `bad tag key in "${clause}": keys are letters, digits and _ . / -`);
  }
  return key;
}

function checkValue(raw: string, clause: string): string {
  const value = raw.trim();
  if (!VALUE_PATTERN.test(value)) {
    throw new ConfigError('filter', `bad tag value in "${clause}": values are non-empty letters, digits and _ . / : @ + -`);
  }
  return value;
}

function clauseMatches(clause: TagClause, tags: Readonly<Record<string, string>>): boolean {
  // Own properties only: a tag table is plain data, and "constructor" must not match.
  const value = Object.hasOwn(tags, clause.key) ? tags[clause.key] : undefined;
  switch (clause.op) {
    case 'eq': return value === clause.value;
    case 'ne': return value !== clause.value;
    case 'present': return value !== undefined;
    case 'absent': return value === undefined;
  }
}
