import type { TraceEntry } from '../sim/index.ts';

/**
 * Where a replay first leaves its recording. `shoal replay` feeds every replayed trace
 * entry to a `TraceComparison` as the run records it, beside the recorded file read one
 * line at a time, so it holds one line of each whatever the trace's length, and names
 * the first entry that differs: its position, virtual time, host and kind on both sides,
 * and the fields that differ.
 */

/** The first entry where a replay and its recording differ. */
export interface TraceDivergence {
  /** Position in the run (entries before it are identical). */
  readonly index: number;
  /** The recorded entry; undefined when the recording ended first. */
  readonly recorded: TraceEntry | undefined;
  /** The replayed entry; undefined when the replay ended first. */
  readonly replayed: TraceEntry | undefined;
  /** The recorded line when it is not JSON (a damaged file). */
  readonly damagedLine: string | undefined;
  /** Fields whose values differ (every field of the side that has an entry, when the other has none). */
  readonly fields: readonly string[];
}

export class TraceComparison {
  private first: TraceDivergence | undefined;
  /** Entries compared and found identical. */
  identical = 0;

  /** `nextRecorded` hands out the recorded entries' lines in order, undefined after the last. */
  constructor(private readonly nextRecorded: () => string | undefined) {}

  /** The replay's trace sink. */
  readonly sink = (entry: TraceEntry): void => {
    if (this.first !== undefined) return;
    const recorded = this.nextRecorded();
    if (recorded === JSON.stringify(entry)) this.identical++;
    else this.first = divergence(this.identical, recorded, entry);
  };

  /** Once the replay ended: its first divergence, a recording that goes on past the replay's end included. */
  finish(): TraceDivergence | undefined {
    if (this.first !== undefined) return this.first;
    const extra = this.nextRecorded();
    return extra === undefined ? undefined : divergence(this.identical, extra, undefined);
  }
}

function divergence(index: number, recordedLine: string | undefined, replayed: TraceEntry | undefined): TraceDivergence {
  let recorded: TraceEntry | undefined;
  let damagedLine: string | undefined;
  if (recordedLine !== undefined) {
    try {
      recorded = JSON.parse(recordedLine) as TraceEntry;
    } catch {
      damagedLine = recordedLine;
    }
  }
  return { index, recorded, replayed, damagedLine, fields: differingFields(recorded, replayed) };
}

/** Fields present on either side whose values differ, in the entry's field order. */
export function differingFields(a: TraceEntry | undefined, b: TraceEntry | undefined): string[] {
  const keys = [...new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])];
  const field = (entry: TraceEntry | undefined, key: string) => JSON.stringify((entry as unknown as Record<string, unknown> | undefined)?.[key]);
  return keys.filter((key) => field(a, key) !== field(b, key));
}

/** `t=5012.300 ms n5 deliver` */
function where(entry: TraceEntry): string {
  return `t=${entry.timeMs.toFixed(3)} ms ${entry.host} ${entry.kind}${entry.label === undefined ? '' : ` ${entry.label}`}`;
}

/** The divergence in a few lines: the event on both sides, the fields that differ, both entries as JSON. */
export function describeDivergence(d: TraceDivergence): string[] {
  const recorded = d.recorded === undefined ? (d.damagedLine === undefined ? 'nothing (the recording ended)' : 'a damaged line') : where(d.recorded);
  const replayed = d.replayed === undefined ? 'nothing (the replay ended)' : where(d.replayed);
  const both = d.recorded !== undefined && d.replayed !== undefined;
  return [
    `first divergent event #${d.index}: recorded ${recorded}; replayed ${replayed}${both ? ` (differs in ${d.fields.join(', ')})` : ''}`,
    `  recorded: ${d.damagedLine ?? (d.recorded === undefined ? '-' : JSON.stringify(d.recorded))}`,
    `  replayed: ${d.replayed === undefined ? '-' : JSON.stringify(d.replayed)}`,
  ];
}
