import { count, formatMs } from '../duration.ts';
import { operationText, type Evidence, type EvidenceOperation } from './evidence.ts';
import type { LinearizabilityResult, Verdict } from './linearizable.ts';

const verdictWords: Record<Verdict, string> = { linearizable: 'linearizable', 'not-linearizable': 'NOT LINEARIZABLE', unknown: 'UNKNOWN' };

/**
 * A check's result for a person: the verdict with what was explored, per-key counts for
 * `kv`, and for a violation the operations that cannot be ordered, one per line with the
 * process, what it did and saw, and when it was invoked and completed.
 */
export function formatLinearizabilityResult(result: LinearizabilityResult, subject: string): string {
  const keys = result.keys === undefined ? '' : ` over ${count(Object.keys(result.keys).length, 'key')}`;
  const lines = [
    `${subject}: ${verdictWords[result.verdict]} (model ${result.model}, ${count(result.operations, 'operation')}${keys}; ${count(result.explored.steps, 'step')} in ${formatMs(result.explored.timeMs)})`,
  ];
  if (result.keys !== undefined && result.verdict !== 'linearizable') lines.push(`  keys: ${keyCounts(result.keys)}`);
  if (result.verdict === 'unknown') {
    lines.push(`  the search reached ${result.stoppedBy === 'timeMsMax' ? 'its time limit' : 'its step limit'} before deciding; a larger budget (--steps-max, --time-max) may decide it`);
  }
  if (result.evidence !== undefined) lines.push(...formatEvidence(result.evidence));
  return lines.join('\n');
}

function keyCounts(keys: NonNullable<LinearizabilityResult['keys']>): string {
  const tally: Record<Verdict, number> = { linearizable: 0, 'not-linearizable': 0, unknown: 0 };
  for (const key of Object.values(keys)) tally[key.verdict]++;
  const failing = Object.entries(keys).filter(([, k]) => k.verdict === 'not-linearizable').map(([name]) => JSON.stringify(name));
  const named = failing.length === 0 ? '' : ` (${failing.slice(0, 10).join(', ')}${failing.length > 10 ? ', …' : ''})`;
  return `${tally.linearizable} linearizable, ${tally['not-linearizable']} not linearizable${named}, ${tally.unknown} unknown`;
}

function formatEvidence(evidence: Evidence): string[] {
  const rows = evidence.operations.map((op) => [String(op.process), operationText(op), String(op.invokeTime), completion(op)]);
  const header = ['process', 'operation', 'invoked', 'completed'];
  const widths = header.map((h, column) => Math.max(h.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]) => `    ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ')}`.trimEnd();
  return [
    `  ${evidence.key === undefined ? '' : `key ${JSON.stringify(evidence.key)}: `}${evidence.message}`,
    line(header),
    ...rows.map(line),
  ];
}

/** An unknown outcome shows when the process gave up, if it did: the effect may still land later. */
function completion(op: EvidenceOperation): string {
  if (op.type === 'ok') return String(op.completeTime);
  return op.completeTime === null ? 'never (info)' : `${op.completeTime} (info)`;
}
