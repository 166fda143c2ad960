import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { ShoalError } from '../core/index.ts';
import type { TraceEntry } from '../sim/index.ts';
import { fileErrorReason } from './files.ts';
import type { Scenario } from './schema.ts';
import { formatFieldProblems, validateScenario } from './validate.ts';

/**
 * Trace files are JSON lines: a header with the scenario (as validated) and the seed, one
 * line per trace entry, and a footer with the hash and count. `shoal replay` re-runs the
 * header's scenario and seed and checks that it reproduces the footer's hash.
 */
export const traceFormatVersion = 1;

/** A trace file that cannot be read or is not a whole shoal trace. */
export class TraceFileError extends ShoalError {
  override readonly code = 'TRACE_INVALID';
}

export interface TraceHeader {
  shoalTrace: number;
  scenario: Scenario;
  seed: number;
  source?: string;
}

export interface TraceWriter {
  sink(entry: TraceEntry): void;
  /** Writes the footer; rejects with the first write error, if any. */
  finish(hash: string, count: number): Promise<void>;
}

export function openTraceWriter(path: string, header: Omit<TraceHeader, 'shoalTrace'>): TraceWriter {
  const out: WriteStream = createWriteStream(path);
  // A write error (disk full, the directory removed) is kept for `finish`, not thrown from nowhere.
  let failure: Error | undefined;
  out.on('error', (error) => {
    failure ??= error;
  });
  out.write(JSON.stringify({ shoalTrace: traceFormatVersion, ...header }) + '\n');
  return {
    sink: (entry) => {
      if (failure === undefined) out.write(JSON.stringify(entry) + '\n');
    },
    finish: (hash, count) => new Promise((resolve, reject) => {
      if (failure !== undefined) return reject(failure);
      out.once('error', reject);
      out.end(JSON.stringify({ end: true, hash, count }) + '\n', () => (failure === undefined ? resolve() : reject(failure)));
    }),
  };
}

export function readTraceFile(path: string): { header: TraceHeader; hash: string; count: number; entries: TraceEntry[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new TraceFileError(`cannot read trace ${path}: ${fileErrorReason(error)}`);
  }
  const lines = text.split('\n').filter((l) => l.length > 0);
  const fail = (line: number, message: string) => new TraceFileError(`${path}:${line}: ${message}`);
  const parse = (i: number): unknown => {
    try {
      return JSON.parse(lines[i] ?? '');
    } catch {
      throw fail(i + 1, i === 0 ? 'not a shoal trace file (expected the JSON lines of `shoal run --trace`)' : 'not a JSON line: the trace is damaged');
    }
  };
  const header = parse(0) as TraceHeader;
  if (header?.shoalTrace !== traceFormatVersion) throw fail(1, `not a shoal trace file of version ${traceFormatVersion}`);
  const footer = parse(lines.length - 1) as { end?: true; hash: string; count: number };
  if (footer?.end !== true) throw fail(lines.length, 'the trace is truncated (no footer): the run did not finish');
  const validation = validateScenario(header.scenario);
  if (!validation.ok) throw fail(1, `the trace's scenario is invalid:\n${formatFieldProblems(validation.problems).map((l) => `  ${l}`).join('\n')}`);
  const entries = lines.slice(1, -1).map((_, i) => parse(i + 1) as TraceEntry);
  return { header: { ...header, scenario: validation.scenario }, hash: footer.hash, count: footer.count, entries };
}
