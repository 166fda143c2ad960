import { Text } from 'ink';
import type { ActionName, StatusInfo } from '../types.ts';
import { fit, formatTime } from './format.ts';

/** What the run is doing, as the status line says it. */
function runLabel(status: StatusInfo): { label: string; color: string } {
  if (status.mode === 'attach') return status.connected ? { label: 'LIVE', color: 'green' } : { label: 'DISCONNECTED', color: 'red' };
  if (status.phase === 'ended') return { label: 'SCENARIO ENDED', color: 'magenta' };
  return status.paused ? { label: 'PAUSED', color: 'yellow' } : { label: 'RUNNING', color: 'green' };
}

/** Simulated time, with the scenario's end when it has one: `t=12.3 s / 60.0 s`. */
export function timeLabel(status: StatusInfo): string {
  const now = `t=${formatTime(status.timeMs)}`;
  if (status.endMs === undefined) return now;
  return `${now} / ${formatTime(status.endMs)}${status.phase === 'past-end' ? ' (past the end)' : ''}`;
}

export function StatusLine({ status, width, counts }: { status: StatusInfo; width: number; counts: string }) {
  const run = runLabel(status);
  const left = status.mode === 'sim'
    ? `shoal tui · sim · seed ${status.seed ?? '?'} · ${timeLabel(status)} · ${status.speed} · `
    : `shoal tui · attached ${status.target ?? '?'} · ${timeLabel(status)} · `;
  return (
    <Text wrap="truncate">
      <Text bold>{left}</Text>
      <Text color={run.color} bold>{run.label}</Text>
      {` · ${counts}`}
      {status.reproduce ? <Text dimColor>{` · ${status.reproduce}`}</Text> : null}
      {status.message ? <Text color="cyan">{` · ${fit(status.message, Math.max(10, width))}`.trimEnd()}</Text> : null}
    </Text>
  );
}

interface KeyHelpEntry {
  keys: string;
  label: string;
  action?: ActionName;
}

export const keyHelp: readonly KeyHelpEntry[] = [
  { keys: 'space', label: 'pause', action: 'pause' },
  { keys: '.', label: 'step', action: 'step' },
  { keys: '+/-', label: 'speed', action: 'speed' },
  { keys: '↑↓', label: 'select' },
  { keys: 'm', label: 'mark' },
  { keys: 'c', label: 'crash', action: 'crash' },
  { keys: 'r', label: 'restart', action: 'restart' },
  { keys: 'p', label: 'partition marked', action: 'partition' },
  { keys: 'h', label: 'heal', action: 'heal' },
  { keys: 'z', label: 'pause member', action: 'pauseMember' },
  { keys: 'l', label: 'loss +5%', action: 'loss' },
  { keys: 's/S', label: 'sort/reverse' },
  { keys: '/', label: 'filter members' },
  { keys: 'f', label: 'event kind' },
  { keys: 'e', label: 'filter events' },
  { keys: 'n', label: 'continue past end', action: 'continue' },
  { keys: 'w', label: 'save scenario', action: 'save' },
  { keys: 'q', label: 'quit' },
];

/** The key reference; keys the source cannot perform are struck and marked unavailable. */
export function KeyHelp({ capabilities }: { capabilities: ReadonlySet<ActionName> }) {
  return (
    <Text wrap="wrap" dimColor>
      {keyHelp.map((entry, i) => {
        const available = entry.action === undefined || capabilities.has(entry.action);
        return (
          <Text key={entry.keys} strikethrough={!available}>
            {i > 0 ? ' · ' : ''}<Text bold>{entry.keys}</Text> {entry.label}{available ? '' : ' (unavailable)'}
          </Text>
        );
      })}
    </Text>
  );
}
