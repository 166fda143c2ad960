import { Box, Text } from 'ink';
import type { MemberRow } from '../model.ts';
import type { ReportedApps } from '../types.ts';
import { fit } from './format.ts';
import { scrollOffset } from './member-table.tsx';

/** Each app's values on one line: `kv keys=8 puts=12; counter ticks=29`. */
export function formatReportedApps(apps: ReportedApps): string {
  return Object.entries(apps).map(([app, values]) => `${app} ${Object.entries(values).map(([key, value]) => `${key}=${value}`).join(' ')}`).join('; ');
}

export interface AppsPanelProps {
  /** Member rows in the table's order; those without reported values are skipped. */
  rows: readonly MemberRow[];
  /** The member under the table's cursor: its line is highlighted and kept in view. */
  selected: string | undefined;
  width: number;
  /** Lines of members shown. */
  height: number;
}

/** What each member's apps reported, one member per line, scrolled with the member table's cursor. */
export function AppsPanel({ rows, selected, width, height }: AppsPanelProps) {
  const reporting = rows.filter((row) => row.apps !== undefined);
  const cursor = Math.max(0, reporting.findIndex((row) => row.name === selected));
  const offset = scrollOffset(cursor, reporting.length, height);
  const visible = reporting.slice(offset, offset + height);
  const nameWidth = Math.min(12, Math.max(4, ...visible.map((row) => row.name.length)));
  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="truncate">{fit(`Apps  ${reporting.length} members reporting${reporting.length > height ? `  [${offset + 1}–${offset + visible.length}]` : ''}`, width)}</Text>
      {visible.map((row) => (
        <Text key={row.name} wrap="truncate" inverse={row.name === selected} dimColor={row.condition === 'down'}>
          {fit(`${fit(row.name, nameWidth)} ${formatReportedApps(row.apps!)}`, width)}
        </Text>
      ))}
    </Box>
  );
}
