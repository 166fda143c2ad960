import { Text } from 'ink';
import type { ActionName, StatusInfo } from '../types.ts';
import { fit, formatTime } from './format.ts';

export function StatusLine({ status, width, counts }: { status: StatusInfo; width: number; counts: string }) {
  const run = status.mode === 'attach' ? (status.connected ? 'LIVE' : 'DISCONNECTED') : status.paused ? 'PAUSED' : 'RUNNING';
  const runColor = run === 'RUNNING' || run === 'LIVE' ? 'green' : run === 'PAUSED' ? 'yellow' : 'red';
  const left = status.mode === 'sim'
    ? `shoal tui · sim · seed ${status.seed ?? '?'} · t=${formatTime(status.timeMs)} · ${status.speed} · `
    : `shoal tui · attached ${status.target ?? '?'} · t=${formatTime(status.timeMs)} · `;
  return (
    <Text wrap="truncate">
      <Text bold>{left}</Text>
      <Text color={runColor} bold>{run}</Text>
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
