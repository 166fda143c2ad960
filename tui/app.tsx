import { Box, Text, useApp, useInput, useStdout, type Key } from 'ink';
import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { AppsPanel } from './components/apps-panel.tsx';
import { EventLog } from './components/event-log.tsx';
import { ExpectationsPanel } from './components/expectations-panel.tsx';
import { MemberTable } from './components/member-table.tsx';
import { NetworkPanel, RpcPanel } from './components/panels.tsx';
import { KeyHelp, StatusLine, keyHelp } from './components/status-line.tsx';
import { ViewMatrix } from './components/view-matrix.tsx';
import { sortKeys, type MemberRow, type SortKey } from './model.ts';
import type { DashboardSource } from './source.ts';
import { memberEventKinds, memberStates } from './types.ts';

export interface AppProps {
  source: DashboardSource;
  /** Terminal size overrides (tests); by default the size of stdout, following resizes. */
  columns?: number;
  rows?: number;
  onQuit?: () => void;
}

/** Characters a filter may hold. */
const filterLengthMax = 64;

type Mode = 'normal' | 'member-filter' | 'event-filter';

const eventKindChoices = ['all', ...memberEventKinds, 'fault'] as const;

/** Terminal size, re-read on every resize. */
function useTerminalSize(columns?: number, rows?: number): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => ({ columns: columns ?? (stdout.columns || 100), rows: rows ?? (stdout.rows || 40) });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  });
  return columns !== undefined && rows !== undefined ? { columns, rows } : size;
}

/**
 * How the screen is divided at a given size; `appLines` members report app values (their
 * panel takes rows from the matrix), `expectationLines` expectations are checked (their
 * panel, under the member table, takes rows from the top panels: up to a fifth of the screen).
 */
export function layout(columns: number, rows: number, appLines = 0, expectationLines = 0) {
  const helpLength = keyHelp.reduce((n, e) => n + e.keys.length + e.label.length + 4 + (e.action ? 14 : 0), 0);
  const helpRows = Math.max(1, Math.ceil(helpLength / columns));
  // One row less than the terminal, so Ink redraws in place instead of clearing the screen.
  const usable = Math.max(12, rows - 1);
  const eventRows = Math.max(3, Math.floor(usable * 0.25));
  const expectationRows = expectationLines === 0 ? 0 : Math.min(expectationLines, Math.max(1, Math.floor(usable / 5) - 1));
  const topRows = Math.max(6, usable - 1 - helpRows - (eventRows + 1) - (expectationRows === 0 ? 0 : expectationRows + 1));
  const rightWidth = Math.max(28, Math.min(72, Math.floor(columns * 0.36)));
  const leftWidth = Math.max(20, columns - rightWidth - 1);
  // The apps panel: a title and up to a third of the top rows, only when some member reports values.
  const appRows = appLines === 0 ? 0 : Math.min(appLines, Math.max(2, Math.floor(topRows / 3)));
  return {
    helpRows, eventRows, topRows, leftWidth, rightWidth, expectationRows,
    // The table's title, column header and phi legend take three rows.
    tableRows: Math.max(1, topRows - 3),
    appRows,
    // The right column: matrix, then network (3 rows), RPC (3 rows) and the apps panel.
    matrixRows: Math.max(2, topRows - 2 - 7 - (appRows === 0 ? 0 : appRows + 1)),
    matrixColumns: Math.max(4, rightWidth - 12),
  };
}

function summaryCounts(rows: readonly MemberRow[]): string {
  const counts = memberStates.map((state) => [state, rows.filter((r) => r.state === state).length] as const).filter(([, n]) => n > 0);
  return `${rows.length} members: ${counts.map(([state, n]) => `${n} ${state}`).join(' ') || 'none'}`;
}

/** The dashboard: member table, view matrix, network, RPC and apps panels, the scenario's expectations, event log, status line and key help. */
export function App({ source, columns, rows, onQuit }: AppProps) {
  const model = source.model;
  useSyncExternalStore((listener) => model.subscribe(listener), () => model.version);
  const size = useTerminalSize(columns, rows);
  const { exit } = useApp();
  const [mode, setModeState] = useState<Mode>('normal');
  const modeRef = useRef<Mode>('normal');
  const setMode = (next: Mode) => {
    modeRef.current = next;
    setModeState(next);
  };
  // Selection and marks live in refs as well as state: keys arriving in one chunk are handled in one render's closure.
  const [, setSelected] = useState<string | undefined>(undefined);
  const selectedRef = useRef<string | undefined>(undefined);
  const [marked, setMarkedState] = useState<ReadonlySet<string>>(new Set());
  const markedRef = useRef<ReadonlySet<string>>(marked);
  const setMarked = (next: ReadonlySet<string>) => {
    markedRef.current = next;
    setMarkedState(next);
  };
  const [sortIndex, setSortIndex] = useState(0);
  const [descending, setDescending] = useState(false);
  const [memberFilter, setMemberFilter] = useState('');
  const [eventKindIndex, setEventKindIndex] = useState(0);
  const [eventFilter, setEventFilter] = useState('');

  const sort: SortKey = sortKeys[sortIndex]!;
  const memberRows = model.members({ sort, descending, filter: memberFilter });
  const cursorOf = (name: string | undefined) => Math.max(0, name === undefined ? 0 : memberRows.findIndex((r) => r.name === name));
  const cursor = cursorOf(selectedRef.current);
  const expectations = model.expectations;
  const l = layout(size.columns, size.rows, memberRows.filter((row) => row.apps !== undefined).length, expectations?.results.length ?? 0);
  const current = () => memberRows[cursorOf(selectedRef.current)]?.name;
  const targets = () => {
    const name = current();
    return markedRef.current.size > 0 ? [...markedRef.current] : name === undefined ? [] : [name];
  };

  const move = (delta: number) => {
    if (memberRows.length === 0) return;
    const next = Math.max(0, Math.min(memberRows.length - 1, cursorOf(selectedRef.current) + delta));
    selectedRef.current = memberRows[next]!.name;
    setSelected(selectedRef.current);
  };

  const editFilter = (set: (f: (s: string) => string) => void, input: string, key: { backspace: boolean; delete: boolean; return: boolean; escape: boolean }) => {
    if (key.return) return setMode('normal');
    if (key.escape) {
      set(() => '');
      return setMode('normal');
    }
    if (key.backspace || key.delete) return set((s) => s.slice(0, -1));
    if (input !== '' && [...input].every((ch) => ch >= ' ')) set((s) => (s + input).slice(0, filterLengthMax));
  };

  const handleKey = (input: string, key: Key) => {
    if (modeRef.current === 'member-filter') return void editFilter(setMemberFilter, input, key);
    if (modeRef.current === 'event-filter') return void editFilter(setEventFilter, input, key);
    if (key.upArrow || input === 'k') return move(-1);
    if (key.downArrow || input === 'j') return move(1);
    if (key.pageUp) return move(-l.tableRows);
    if (key.pageDown) return move(l.tableRows);
    switch (input) {
      case 'q':
        onQuit?.();
        return exit();
      case ' ': return void source.togglePause();
      case '.': return void source.step();
      case '+': case '=': return void source.faster();
      case '-': return void source.slower();
      case 'g': return move(-memberRows.length);
      case 'G': return move(memberRows.length);
      case 'm': {
        const name = current();
        if (name === undefined) return;
        const next = new Set(markedRef.current);
        if (!next.delete(name)) next.add(name);
        return setMarked(next);
      }
      case 'x': return setMarked(new Set());
      case 'c': return void source.crash(targets());
      case 'r': return void source.restart(targets());
      case 'p':
        source.partition(targets());
        return setMarked(new Set());
      case 'h': return void source.heal();
      case 'z': return void source.pauseMember(targets());
      case 'l': return void source.addLoss();
      case 's': return setSortIndex((i) => (i + 1) % sortKeys.length);
      case 'S': return setDescending((d) => !d);
      case '/': return setMode('member-filter');
      case 'e': return setMode('event-filter');
      case 'f': return setEventKindIndex((i) => (i + 1) % eventKindChoices.length);
      case 'n': return void source.continuePastEnd();
      case 'w': return void source.save();
    }
  };

  useInput((input, key) => {
    // Keys typed faster than a frame can arrive as one chunk: handle each character.
    const plain = input.length > 1 && !key.ctrl && !key.meta && !input.includes('\x1b');
    if (plain) for (const ch of input) handleKey(ch, key);
    else handleKey(input, key);
  });

  const kind = eventKindChoices[eventKindIndex]!;
  const events = model.events({ kind: kind === 'all' ? undefined : kind, filter: eventFilter, limit: l.eventRows });
  const matrix = model.matrix({ columnsMax: l.matrixColumns, rowsMax: l.matrixRows });
  return (
    <Box flexDirection="column" width={size.columns}>
      <StatusLine status={model.status} width={size.columns} counts={summaryCounts(model.members())} />
      <Box flexDirection="row" height={l.topRows}>
        <MemberTable rows={memberRows} cursor={cursor} marked={marked} height={l.tableRows} width={l.leftWidth}
          sort={sort} descending={descending} filter={memberFilter} editingFilter={mode === 'member-filter'} total={model.members().length} />
        <Box width={1} />
        <Box flexDirection="column" width={l.rightWidth}>
          <ViewMatrix matrix={matrix} width={l.rightWidth} />
          <NetworkPanel network={model.network} width={l.rightWidth} rows={2} />
          <RpcPanel rpc={model.rpc()} width={l.rightWidth} />
          {l.appRows > 0 ? <AppsPanel rows={memberRows} selected={memberRows[cursor]?.name} width={l.rightWidth} height={l.appRows} /> : null}
        </Box>
      </Box>
      {expectations !== undefined && l.expectationRows > 0
        ? <ExpectationsPanel expectations={expectations} width={size.columns} height={l.expectationRows} />
        : null}
      <EventLog events={events} height={l.eventRows} width={size.columns} kind={kind} filter={eventFilter} editingFilter={mode === 'event-filter'} />
      {mode === 'normal'
        ? <KeyHelp capabilities={source.capabilities} />
        : <Text color="cyan">typing a filter: Enter keeps it, Esc clears it</Text>}
    </Box>
  );
}
