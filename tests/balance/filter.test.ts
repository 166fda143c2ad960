import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/index.ts';
import { FILTER_CLAUSES_MAX, FILTER_EXPRESSION_CHARS_MAX, parseTagFilter } from '../../core/balance/index.ts';

const worker = { role: 'worker', zone: 'eu', gpu: 'true' };
const director = { role: 'director', zone: 'us' };

describe('tag filter', () => {
  it('matches the issue examples', () => {
    expect(parseTagFilter('role=worker').matches(worker)).toBe(true);
    expect(parseTagFilter('role=worker').matches(director)).toBe(false);
    expect(parseTagFilter('role=worker,zone=eu').matches(worker)).toBe(true);
    expect(parseTagFilter('role=worker,zone=us').matches(worker)).toBe(false);
    expect(parseTagFilter('gpu=true').matches(worker)).toBe(true);
    expect(parseTagFilter('gpu=true').matches(director)).toBe(false);
  });

  it('supports !=, presence and absence, and ignores whitespace', () => {
    expect(parseTagFilter('zone!=us').matches(worker)).toBe(true);
    expect(parseTagFilter('zone!=us').matches(director)).toBe(false);
    expect(parseTagFilter('gpu!=true').matches(director)).toBe(true);
    expect(parseTagFilter(' gpu ').matches(worker)).toBe(true);
    expect(parseTagFilter('gpu').matches(director)).toBe(false);
    expect(parseTagFilter('!gpu').matches(director)).toBe(true);
    expect(parseTagFilter(' role = worker , ! draining ').matches(worker)).toBe(true);
    expect(parseTagFilter('version=1.2.3+build,addr=10.0.0.1:7946').clauses).toHaveLength(2);
  });

  it('the empty expression matches everyone', () => {
    expect(parseTagFilter('').matches({})).toBe(true);
    expect(parseTagFilter('   ').matches(director)).toBe(true);
  });

  it('looks at own tags only, never inherited properties', () => {
    expect(parseTagFilter('constructor').matches({})).toBe(false);
    expect(parseTagFilter('!toString').matches({})).toBe(true);
  });

  it('explains bad syntax with a ConfigError on field filter', () => {
    for (const bad of ['role=', '=worker', 'role==worker', 'role=worker,', ',role=worker', 'a=b=c', 'role worker',
      '!', 'role=wor ker', 'a!=', 'a=!b', 'a,,b']) {
      let error: unknown;
      try {
        parseTagFilter(bad);
      } catch (caught) {
        error = caught;
      }
      expect(error, bad).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).field).toBe('filter');
    }
  });

  it('enforces its named limits', () => {
    expect(() => parseTagFilter('a'.repeat(FILTER_EXPRESSION_CHARS_MAX + 1))).toThrow(ConfigError);
    expect(() => parseTagFilter(Array.from({ length: FILTER_CLAUSES_MAX + 1 }, (_, i) => `k${i}`).join(','))).toThrow(ConfigError);
    expect(parseTagFilter(Array.from({ length: FILTER_CLAUSES_MAX }, (_, i) => `k${i}`).join(',')).clauses).toHaveLength(FILTER_CLAUSES_MAX);
  });

  it('never throws anything but ConfigError, whatever the input', () => {
    const alphabet = fc.constantFrom('a', 'z', '0', '=', '!', ',', ' ', '.', ':', '-', '\u00e9', '\n', '\u0000');
    const input = fc.oneof(fc.string(), fc.string({ unit: alphabet, maxLength: 40 }), fc.anything());
    fc.assert(fc.property(input, (expression) => {
      try {
        const filter = parseTagFilter(expression as string);
        filter.matches(worker);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
      }
    }), { numRuns: 500 });
  });

  it('round-trips generated clauses: a filter built from a tag table matches it', () => {
    const token = fc.string({ unit: fc.constantFrom('a', 'b', 'x', '1', '_', '-', '.'), minLength: 1, maxLength: 6 });
    fc.assert(fc.property(fc.dictionary(token, token, { minKeys: 1, maxKeys: 5 }), (tags) => {
      const expression = Object.entries(tags).map(([k, v]) => `${k}=${v}`).join(',');
      const filter = parseTagFilter(expression);
      expect(filter.matches(tags)).toBe(true);
      const [firstKey] = Object.keys(tags);
      expect(filter.matches({ ...tags, [firstKey!]: `${tags[firstKey!]}!` })).toBe(false);
    }), { numRuns: 200 });
  });
});
