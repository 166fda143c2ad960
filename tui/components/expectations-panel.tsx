import { Box, Text } from 'ink';
import type { ExpectationStatus, ExpectationsSummary } from '../types.ts';
import { fit, formatTime } from './format.ts';

/** How each status is shown: a symbol and a word, so the panel reads without colour too. */
const statusMark: Record<ExpectationStatus, { symbol: string; word: string; color: string }> = {
  pending: { symbol: '…', word: 'pending', color: 'yellow' },
  passed: { symbol: '✓', word: 'passed', color: 'green' },
  failed: { symbol: '✗', word: 'FAILED', color: 'red' },
};

/** The panel's title: counts while the run goes, the verdict once it reached the scenario's end. */
export function expectationsTitle(summary: ExpectationsSummary): string {
  const count = (status: ExpectationStatus) => summary.results.filter((r) => r.status === status).length;
  const total = summary.results.length;
  if (summary.final) {
    return `Expectations  verdict ${count('passed') === total ? 'PASS' : 'FAIL'}: ${count('passed')}/${total} passed at the end (t=${formatTime(summary.checkedAtMs)})`;
  }
  return `Expectations  ${count('passed')} passed · ${count('failed')} failed · ${count('pending')} pending  (checked at t=${formatTime(summary.checkedAtMs)})`;
}

export interface ExpectationsPanelProps {
  expectations: ExpectationsSummary;
  width: number;
  /** Lines of expectations shown. */
  height: number;
}

/** The scenario's expectations, one a line, with their status and evidence. */
export function ExpectationsPanel({ expectations, width, height }: ExpectationsPanelProps) {
  const visible = expectations.results.slice(0, height);
  const hidden = expectations.results.length - visible.length;
  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="truncate">{fit(`${expectationsTitle(expectations)}${hidden > 0 ? `  (+${hidden} not shown)` : ''}`, width)}</Text>
      {visible.map((result, i) => {
        const mark = statusMark[result.status];
        return (
          <Text key={i} wrap="truncate">
            <Text color={mark.color}>{`${mark.symbol} ${fit(mark.word, 7)}`}</Text>
            {` ${result.name}`}
            <Text dimColor>{` — ${result.detail}`}</Text>
          </Text>
        );
      })}
    </Box>
  );
}
