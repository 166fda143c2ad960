import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import type { TraceEntry } from '../sim/index.ts';
import { ScenarioError } from './load.ts';
import { scenarioSchema, type Scenario } from './schema.ts';

/**
 * Trace files are JSON lines: a header with the scenario (as validated) and the seed, one
 * line per trace entry, and a footer with the hash and count. `shoal replay` re-runs the
 * header's scenario and seed and checks that it reproduces the footer's hash.
 */
export const traceFormatVersion = 1;

export interface TraceHeader {
  shoalTrace: number;
  scenario: Scenario;
  seed: number;
  source?: string;
}

export interface TraceWriter {
  sink(entry: TraceEntry): void;
  finish(hash: string, count: number): Promise<void>;
}

export function openTraceWriter(path: string, header: Omit<TraceHeader, 'shoalTrace'>): TraceWriter {
  const out: WriteStream = createWriteStream(path);
  out.write(JSON.stringify({ shoalTrace: traceFormatVersion, ...header }) + '\n');
  return {
    sink: (entry) => out.write(JSON.stringify(entry) + '\n'),
    finish: (hash, count) => new Promise((resolve, reject) => {
      out.end(JSON.stringify({ end: true, hash, count }) + '\n', () => resolve());
      out.on('error', reject);
    }),
  };
}

export function readTraceFile(path: string): { header: TraceHeader; hash: string; count: number; entries: TraceEntry[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ScenarioError(path, [{ line: 0, column: 0, path: '', message: `cannot read: ${(error as Error).message}` }]);
  }
  const lines = text.split('\n').filter((l) => l.length > 0);
  const fail = (line: number, message: string) => new ScenarioError(path, [{ line, column: 1, path: '', message }]);
  let header: TraceHeader;
  let footer: { end: true; hash: string; count: number };
  try {
    header = JSON.parse(lines[0] ?? '');
    footer = JSON.parse(lines[lines.length - 1] ?? '');
  } catch {
    throw fail(1, 'not a shoal trace file (expected JSON lines)');
  }
  if (header.shoalTrace !== traceFormatVersion) throw fail(1, `not a shoal trace file of version ${traceFormatVersion}`);
  if (footer.end !== true) throw fail(lines.length, 'the trace is truncated (no footer): the run did not finish');
  const parsed = scenarioSchema.safeParse(header.scenario);
  if (!parsed.success) throw fail(1, `the embedded scenario is invalid: ${parsed.error.issues[0]?.message}`);
  const entries = lines.slice(1, -1).map((l) => JSON.parse(l) as TraceEntry);
  return { header: { ...header, scenario: parsed.data }, hash: footer.hash, count: footer.count, entries };
}
