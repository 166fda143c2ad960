import { closeSync, createWriteStream, fstatSync, openSync, readSync, type WriteStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
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

/** A trace line longer than this is refused as damaged: entries are a few hundred bytes, a fault's detail a few KiB. */
export const traceLineBytesMax = 16 * 1024 * 1024;
/** Bytes read from the file at a time: what reading a trace holds beside its current line. */
const traceChunkBytes = 64 * 1024;

/** A trace file opened for reading its entries in order, one line at a time (bounded memory, whatever its size). */
export interface TraceFileReader {
  readonly header: TraceHeader;
  /** The footer's hash and count (the run's event count). */
  readonly hash: string;
  readonly count: number;
  /** The next entry's line as written (`JSON.stringify` of the entry), or undefined after the last. */
  nextLine(): string | undefined;
  /** Line number in the file of the line `nextLine` returned last (from 1). */
  readonly lineNumber: number;
  close(): void;
}

/**
 * Opens a trace file: checks its header (version, scenario) and footer (a finished run)
 * first, then hands out entry lines one at a time.
 */
export function openTraceFile(path: string): TraceFileReader {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new TraceFileError(`cannot read trace ${path}: ${fileErrorReason(error)}`);
  }
  try {
    const fail = (line: number, message: string) => new TraceFileError(`${path}:${line}: ${message}`);
    const parse = (text: string | undefined, line: number, what: string): unknown => {
      try {
        return JSON.parse(text ?? '');
      } catch {
        throw fail(line, what);
      }
    };
    const lines = lineReader(fd, path);
    const header = parse(lines.next(), 1, 'not a shoal trace file (expected the JSON lines of `shoal run --trace`)') as TraceHeader;
    if (header?.shoalTrace !== traceFormatVersion) throw fail(1, `not a shoal trace file of version ${traceFormatVersion}`);
    const footer = parseOrUndefined(lastLine(fd)) as { end?: true; hash: string; count: number } | undefined;
    if (footer?.end !== true) throw new TraceFileError(`${path}: the trace is truncated (no footer): the run did not finish`);
    const validation = validateScenario(header.scenario);
    if (!validation.ok) throw fail(1, `the trace's scenario is invalid:\n${formatFieldProblems(validation.problems).map((l) => `  ${l}`).join('\n')}`);
    let lineNumber = 1;
    return {
      header: { ...header, scenario: validation.scenario }, hash: footer.hash, count: footer.count,
      get lineNumber() {
        return lineNumber;
      },
      nextLine: () => {
        const line = lines.next();
        if (line === undefined || line.startsWith('{"end":true')) return undefined;
        lineNumber++;
        return line;
      },
      close: () => closeSync(fd),
    };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

function parseOrUndefined(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? '');
  } catch {
    return undefined;
  }
}

/** Non-empty lines of a file, read a chunk at a time. */
function lineReader(fd: number, path: string): { next(): string | undefined } {
  const chunk = Buffer.alloc(traceChunkBytes);
  const decoder = new StringDecoder('utf8');
  let buffer = '';
  let position = 0;
  let ended = false;
  return {
    next() {
      for (;;) {
        const end = buffer.indexOf('\n');
        if (end >= 0) {
          const line = buffer.slice(0, end);
          buffer = buffer.slice(end + 1);
          if (line.length > 0) return line;
          continue;
        }
        if (ended) {
          const rest = buffer;
          buffer = '';
          return rest.length > 0 ? rest : undefined;
        }
        if (buffer.length > traceLineBytesMax) throw new TraceFileError(`${path}: a line exceeds ${traceLineBytesMax} bytes: the trace is damaged`);
        const read = readSync(fd, chunk, 0, chunk.length, position);
        position += read;
        if (read === 0) ended = true;
        else buffer += decoder.write(chunk.subarray(0, read));
      }
    },
  };
}

/** The file's last non-empty line (the footer of a finished trace), read from its end. */
function lastLine(fd: number): string | undefined {
  const size = fstatSync(fd).size;
  const length = Math.min(size, traceChunkBytes);
  const tail = Buffer.alloc(length);
  readSync(fd, tail, 0, length, size - length);
  return tail.toString('utf8').trimEnd().split('\n').pop();
}
