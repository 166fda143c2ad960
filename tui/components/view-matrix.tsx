import { Box, Text } from 'ink';
import type { ViewMatrix as Matrix } from '../model.ts';
import { conditionColor, conditionLabel, fit, stateColor, stateLetter } from './format.ts';

export interface ViewMatrixProps {
  matrix: Matrix;
  width: number;
}

/**
 * Each observer's view of every member (rows = observers, columns = members), one coloured
 * letter per cell, so disagreement and convergence show at a glance. Large clusters get one
 * line per observer with its counts, the most disagreeing observers first.
 */
export function ViewMatrix({ matrix, width }: ViewMatrixProps) {
  const nameWidth = Math.min(10, Math.max(4, ...matrix.rows.map((r) => r.observer.length)));
  const verdict = matrix.disagreeingMembers === 0 ? 'converged' : `${matrix.disagreeingMembers} members disputed`;
  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="truncate">
        {`View matrix${matrix.kind === 'summary' ? ' (summary)' : ''} `}
        <Text color={matrix.disagreeingMembers === 0 ? 'green' : 'yellow'}>{verdict}</Text>
      </Text>
      {matrix.kind === 'full' ? <FullMatrix matrix={matrix} width={width} nameWidth={nameWidth} /> : <Summary matrix={matrix} width={width} nameWidth={nameWidth} />}
      {matrix.hiddenRows > 0 ? <Text dimColor>{`… ${matrix.hiddenRows} more observers agree with the majority or fewer disagree`}</Text> : null}
    </Box>
  );
}

function FullMatrix({ matrix, width, nameWidth }: { matrix: Matrix; width: number; nameWidth: number }) {
  // Column headers: the last character of each member name, so columns stay one character wide.
  const header = ' '.repeat(nameWidth + 1) + matrix.members.map((m) => m.slice(-1)).join('');
  return (
    <>
      <Text dimColor wrap="truncate">{fit(header, width)}</Text>
      {matrix.rows.map((row) => (
        <Text key={row.observer} wrap="truncate">
          <Text color={conditionColor[row.condition]}>{fit(row.observer, nameWidth)}</Text>{' '}
          {row.condition === 'down'
            ? <Text color="red">{`(${conditionLabel.down})`}</Text>
            : row.cells.map((state, i) => state === undefined
              ? <Text key={i} dimColor>·</Text>
              : <Text key={i} color={stateColor[state]}>{stateLetter[state]}</Text>)}
        </Text>
      ))}
    </>
  );
}

function Summary({ matrix, width, nameWidth }: { matrix: Matrix; width: number; nameWidth: number }) {
  return (
    <>
      <Text dimColor wrap="truncate">{fit(`${fit('observer', nameWidth)}  alive suspect  dead  left  ?   differs`, width)}</Text>
      {matrix.rows.map((row) => (
        <Text key={row.observer} wrap="truncate">
          <Text color={conditionColor[row.condition]}>{fit(row.observer, nameWidth)}</Text>{'  '}
          {row.condition === 'down' ? <Text color="red">(DOWN)</Text> : (
            <>
              <Text color="green">{fit(String(row.counts.alive), 5, 'right')}</Text>{' '}
              <Text color="yellow">{fit(String(row.counts.suspect), 7, 'right')}</Text>{' '}
              <Text color="red">{fit(String(row.counts.dead), 5, 'right')}</Text>{' '}
              <Text color="gray">{fit(String(row.counts.left), 5, 'right')}</Text>{' '}
              {fit(String(row.counts.unknown), 3, 'right')}{' '}
              <Text color={row.disagreements > 0 ? 'yellow' : undefined}>{fit(String(row.disagreements), 7, 'right')}</Text>
            </>
          )}
        </Text>
      ))}
    </>
  );
}
