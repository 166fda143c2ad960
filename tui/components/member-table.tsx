import { Box, Text } from 'ink';
import type { MemberRow, SortKey } from '../model.ts';
import { conditionColor, conditionLabel, fit, formatPhi, formatTags, sparkline, sparklinePhiFull, stateColor } from './format.ts';

export interface MemberTableProps {
  rows: readonly MemberRow[];
  /** Index into `rows` of the cursor. */
  cursor: number;
  marked: ReadonlySet<string>;
  /** Rows of members shown (the table scrolls to keep the cursor visible). */
  height: number;
  width: number;
  sort: SortKey;
  descending: boolean;
  filter: string;
  editingFilter: boolean;
  total: number;
}

const sparkWidth = 12;

/** What the phi column and its history mean (docs/DASHBOARD.md says the same). */
export const phiLegend = `phi: median over observers; bar: peak per second, full at ${sparklinePhiFull}`;

/** The first visible row: the cursor stays in the middle once the list is longer than the view. */
export function scrollOffset(cursor: number, count: number, height: number): number {
  if (count <= height) return 0;
  return Math.max(0, Math.min(cursor - Math.floor(height / 2), count - height));
}

/** The member table: one row per member, coloured by state, with phi sparklines and their legend; scrolls. */
export function MemberTable(props: MemberTableProps) {
  const { rows, cursor, height, width } = props;
  const offset = scrollOffset(cursor, rows.length, height);
  const visible = rows.slice(offset, offset + height);
  const nameWidth = Math.min(16, Math.max(6, ...rows.map((r) => r.name.length)));
  const addressWidth = Math.min(22, Math.max(8, ...rows.map((r) => r.address.length)));
  const fixed = 2 + nameWidth + 1 + addressWidth + 1 + 8 + 1 + 7 + 1 + 4 + 1 + 6 + 1 + sparkWidth + 1 + 4 + 1 + 4 + 1 + 7 + 1;
  const tagsWidth = Math.max(0, width - fixed);
  const arrow = props.descending ? '▼' : '▲';
  const title = `Members ${props.total === rows.length ? rows.length : `${rows.length}/${props.total}`}  sort:${props.sort}${arrow}` +
    (props.filter !== '' || props.editingFilter ? `  filter:${props.filter}${props.editingFilter ? '▏' : ''}` : '') +
    (rows.length > height ? `  [${offset + 1}–${offset + visible.length} of ${rows.length}]` : '') +
    (props.marked.size > 0 ? `  marked:${props.marked.size}` : '');
  const header = '  ' + [fit('name', nameWidth), fit('address', addressWidth), fit('state', 8), fit('agree', 7), fit('inc', 4, 'right'),
    fit('phi', 6, 'right'), fit('phi history', sparkWidth), fit('lhs', 4, 'right'), fit('infl', 4, 'right'), fit('host', 7), fit('tags', tagsWidth)].join(' ');
  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="truncate">{fit(title, width)}</Text>
      <Text dimColor wrap="truncate">{fit(header, width)}</Text>
      {visible.map((row, i) => {
        const index = offset + i;
        const selected = index === cursor;
        const mark = props.marked.has(row.name) ? '*' : ' ';
        return (
          <Text key={row.name} inverse={selected} wrap="truncate">
            {selected ? '>' : ' '}{mark}{fit(row.name, nameWidth)} {fit(row.address, addressWidth)}{' '}
            <Text color={stateColor[row.state]}>{fit(row.state, 8)}</Text>{' '}
            {fit(row.voters > 0 ? `${row.agreeing}/${row.voters}` : '-', 7)} {fit(String(row.incarnation), 4, 'right')}{' '}
            <Text color={row.phi >= 8 ? 'red' : row.phi >= 3 ? 'yellow' : undefined}>{fit(formatPhi(row.phi), 6, 'right')}</Text>{' '}
            <Text color="cyan">{sparkline(row.phiHistory, sparkWidth)}</Text>{' '}
            {fit(row.localHealth === undefined ? '-' : String(row.localHealth), 4, 'right')}{' '}
            {fit(row.inFlight === undefined ? '-' : String(row.inFlight), 4, 'right')}{' '}
            <Text color={conditionColor[row.condition]}>{fit(conditionLabel[row.condition], 7)}</Text>{' '}
            <Text dimColor>{fit(formatTags(row.tags), tagsWidth)}</Text>
          </Text>
        );
      })}
      {visible.length === 0 ? <Text dimColor>{props.filter === '' ? 'no members yet' : 'no member matches the filter'}</Text> : null}
      <Text dimColor wrap="truncate">{fit(phiLegend, width)}</Text>
    </Box>
  );
}
