import type { SweepAbort, SweepResult } from './sweep.ts';

/**
 * What `shoal sweep --json` prints, and what `shoal sweep merge` reads back and joins: the
 * counts, each failing seed with the command that reproduces it, and every seed's result
 * (`{ seed, ok, traceHash, failed, figures, ... }`), so shards run on different machines
 * merge into exactly the sweep one machine would have run.
 */
export interface SweepSummary {
  file: string;
  scenario: string;
  /** The seed range asked for (`1..10000`), whole, before sharding. */
  range: string;
  /** The shards this summary holds (`["2/8"]`; a merge lists every shard it joined); absent for an unsharded sweep. */
  shards?: string[];
  seeds: number;
  passed: number;
  failed: number;
  runaway: number;
  /** Wall-clock time of the sweep (a merge: the slowest shard's). */
  wallMs: number;
  failures: { seed: number; failed: string[]; aborted?: string; detail?: string; reproduce: string }[];
  results: SweepSeed[];
}

/** One seed's result as JSON holds it: the abort without its stack, and the reproduce command when it failed. */
export type SweepSeed = Omit<SweepResult, 'aborted'> & { aborted?: Omit<SweepAbort, 'stack'>; reproduce?: string };

/** A sweep's summary from its results (sorted by seed); `reproduce` gives the command of a failing seed. */
export function summarizeSweep(
  meta: Pick<SweepSummary, 'file' | 'scenario' | 'range' | 'wallMs'> & { shards?: string[] },
  results: readonly SweepResult[], reproduce: (r: SweepResult) => string,
): SweepSummary {
  const seeds: SweepSeed[] = results.map(({ aborted, ...rest }) => {
    const { stack: _stack, ...abort } = aborted ?? {};
    return { ...rest, ...(aborted === undefined ? {} : { aborted: abort as Omit<SweepAbort, 'stack'> }), ...(rest.ok ? {} : { reproduce: reproduce({ aborted, ...rest }) }) };
  });
  return fromSeeds(meta, seeds);
}

function fromSeeds(meta: Pick<SweepSummary, 'file' | 'scenario' | 'range' | 'wallMs'> & { shards?: string[] }, results: SweepSeed[]): SweepSummary {
  const failing = results.filter((r) => !r.ok);
  return {
    file: meta.file, scenario: meta.scenario, range: meta.range, ...(meta.shards ? { shards: meta.shards } : {}),
    seeds: results.length, passed: results.length - failing.length, failed: failing.length,
    runaway: failing.filter((r) => r.aborted?.kind === 'runaway').length,
    wallMs: meta.wallMs,
    failures: failing.map((r) => ({ seed: r.seed, failed: r.failed, aborted: r.aborted?.kind, detail: r.aborted?.detail, reproduce: r.reproduce ?? '' })),
    results,
  };
}

/** A file that is not a sweep's `--json` output, or shards that do not belong together. */
export class SweepMergeError extends Error {
  override readonly name = 'SweepMergeError';
}

/** Checks that `value` (parsed from `source`) is a sweep summary with per-seed results. */
export function parseSweepSummary(value: unknown, source: string): SweepSummary {
  const s = value as Partial<SweepSummary> | null;
  if (s === null || typeof s !== 'object' || !Array.isArray(s.results) || typeof s.file !== 'string' || typeof s.range !== 'string') {
    throw new SweepMergeError(`${source}: not the output of shoal sweep --json (an object with file, range and results)`);
  }
  for (const r of s.results) {
    if (r === null || typeof r !== 'object' || !Number.isSafeInteger(r.seed) || typeof r.ok !== 'boolean' || typeof r.traceHash !== 'string') {
      throw new SweepMergeError(`${source}: a result without seed, ok and traceHash: ${JSON.stringify(r).slice(0, 80)}`);
    }
  }
  return s as SweepSummary;
}

/**
 * Joins shards of one sweep: the same scenario file and seed range, disjoint seeds. The
 * result is the sweep as one machine would have reported it (seed by seed), its wall time
 * the slowest shard's; `missing` names the shards of the range not given.
 */
export function mergeSweeps(parts: readonly { summary: SweepSummary; source: string }[]): { summary: SweepSummary; missing: string[] } {
  const first = parts[0];
  if (first === undefined) throw new SweepMergeError('give the JSON outputs of the shards to merge');
  const seen = new Map<number, string>();
  for (const { summary, source } of parts) {
    for (const field of ['file', 'range'] as const) {
      if (summary[field] !== first.summary[field]) throw new SweepMergeError(`${source}: ${field} ${JSON.stringify(summary[field])} differs from ${first.source}'s ${JSON.stringify(first.summary[field])}: not shards of one sweep`);
    }
    for (const r of summary.results) {
      const other = seen.get(r.seed);
      if (other !== undefined) throw new SweepMergeError(`${source}: seed ${r.seed} is also in ${other}: shards must be disjoint`);
      seen.set(r.seed, source);
    }
  }
  const shards = parts.flatMap((p) => p.summary.shards ?? []);
  const count = Number(shards[0]?.split('/')[1]);
  const missing = Number.isSafeInteger(count) ? Array.from({ length: count }, (_, i) => `${i + 1}/${count}`).filter((s) => !shards.includes(s)) : [];
  const results = parts.flatMap((p) => p.summary.results).sort((a, b) => a.seed - b.seed);
  const meta = { file: first.summary.file, scenario: first.summary.scenario, range: first.summary.range, wallMs: Math.max(...parts.map((p) => p.summary.wallMs)), shards };
  return { summary: fromSeeds(meta, results), missing };
}
