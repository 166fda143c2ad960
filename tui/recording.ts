import { Document, isMap, isSeq } from 'yaml';
import { writtenForm } from '../scenarios/faults.ts';
import type { FaultOf } from '../scenarios/schema.ts';

/**
 * A keyboard action recorded with the simulated time it took effect (`at`), as the fault
 * the scenario runner applied (crash, restart, partition, heal, pause … for, loss), so a
 * dashboard session can be saved as a scenario file and replayed exactly.
 */
export type RecordedAction = FaultOf<'crash' | 'restart' | 'partition' | 'heal' | 'pause' | 'loss'>;

/** Actions kept at most in one session (a held-down key must not grow memory without bound). */
export const recordedActionsMax = 10_000;

export interface SessionInfo {
  /** The scenario the session started from, as written (its YAML parsed, not validated): kept as is, faults appended. */
  base: Readonly<Record<string, unknown>>;
  seed: number;
  /** The simulated time the session reached. */
  durationMs: number;
  /** The base scenario's own duration: a session saved before it keeps it. @default durationMs */
  scenarioDurationMs?: number;
  /** Where the session came from, written as a comment. */
  source?: string;
}

/**
 * Formats milliseconds as scenario files write durations, so that parsing gives back
 * exactly the same number: whole seconds as `20s`, anything else as `12500ms` (JavaScript
 * prints the shortest decimal that round-trips, and the parser multiplies by 1).
 */
export function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** One recorded action as a scenario `faults` entry (durations written so that they parse back exactly). */
export function faultEntry(action: RecordedAction): Record<string, unknown> {
  const written: Record<string, unknown> = { ...writtenForm(action), at: formatDuration(action.at) };
  if (action.kind === 'pause') written.for = formatDuration(action.for);
  return written;
}

/**
 * The session as a scenario file: the base scenario with the same seed, its own faults
 * followed by the recorded ones, and its expectations, so a replay checks what the
 * scenario promised under what the person did to it. It runs for the scenario's own
 * duration, or as far as the session went when it continued past the end (and past its
 * last recorded fault: a fault must lie before the end to happen at all).
 */
export function sessionToScenarioYaml(actions: readonly RecordedAction[], session: SessionInfo): string {
  const { faults: baseFaults, ...base } = session.base;
  // A fault taken the instant before saving would otherwise lie at the end, where it never happens.
  const afterLastFaultMs = Math.floor(Math.max(0, ...actions.map((a) => a.at))) + 1;
  const durationMs = Math.max(session.durationMs, session.scenarioDurationMs ?? 0, afterLastFaultMs);
  const document = {
    ...base,
    name: `${typeof base.name === 'string' ? base.name : 'scenario'}-tui-session`,
    seed: session.seed,
    duration: formatDuration(durationMs),
    faults: [...(Array.isArray(baseFaults) ? baseFaults : []), ...actions.map(faultEntry)],
  };
  const header = `# Recorded by shoal tui${session.source ? ` (${session.source})` : ''}; replay with: npx shoal run <this file>\n`;
  const doc = new Document(document);
  // One flow map per fault keeps one fault per line, as people write scenario files.
  const faults = doc.get('faults');
  if (isSeq(faults)) for (const item of faults.items) if (isMap(item)) item.flow = true;
  return header + doc.toString({ flowCollectionPadding: true });
}
