import { Box, Text } from 'ink';
import type { LogEvent } from '../types.ts';
import { fit, formatTime } from './format.ts';

export interface EventLogProps {
  events: readonly LogEvent[];
  height: number;
  width: number;
  kind: string;
  filter: string;
  editingFilter: boolean;
}

const kindColor: Record<string, string> = {
  joined: 'green', alive: 'green', suspect: 'yellow', failed: 'red', left: 'gray', updated: 'blue',
  'partition-detected': 'magenta', 'partition-healed': 'magenta', fault: 'cyan', action: 'cyan', info: 'gray',
};

/** The newest events that fit, oldest at the top, filtered by kind and text. */
export function EventLog(props: EventLogProps) {
  const shown = props.events.slice(-props.height);
  const title = `Events  kind:${props.kind}` + (props.filter !== '' || props.editingFilter ? `  filter:${props.filter}${props.editingFilter ? '▏' : ''}` : '');
  return (
    <Box flexDirection="column" width={props.width}>
      <Text bold wrap="truncate">{fit(title, props.width)}</Text>
      {shown.map((e, i) => (
        <Text key={i} wrap="truncate">
          <Text dimColor>{fit(formatTime(e.timeMs), 10, 'right')}</Text>{' '}
          <Text color={kindColor[e.kind]}>{fit(e.kind, 18)}</Text>{' '}
          {e.text}
        </Text>
      ))}
      {shown.length === 0 ? <Text dimColor>no events</Text> : null}
    </Box>
  );
}
