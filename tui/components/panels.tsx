import { Box, Text } from 'ink';
import type { NetworkSummary, RpcSummary } from '../types.ts';
import { fit, formatTime } from './format.ts';

/** Workers listed at most in the RPC panel (the busiest). */
const workersShownMax = 4;

export function RpcPanel({ rpc, width }: { rpc: RpcSummary | undefined; width: number }) {
  if (rpc === undefined) {
    return (
      <Box flexDirection="column" width={width}>
        <Text bold>RPC</Text>
        <Text dimColor wrap="truncate">no calls reported</Text>
      </Box>
    );
  }
  const workers = Object.entries(rpc.perWorker).sort((a, b) => b[1] - a[1]);
  const shown = workers.slice(0, workersShownMax).map(([w, n]) => `${w}:${n}`).join(' ');
  return (
    <Box flexDirection="column" width={width}>
      <Text bold>RPC</Text>
      <Text wrap="truncate">
        {`${rpc.callsPerSec.toFixed(1)} calls/s  ok `}
        <Text color={rpc.successRatio >= 0.99 ? 'green' : rpc.successRatio >= 0.9 ? 'yellow' : 'red'}>{`${(rpc.successRatio * 100).toFixed(1)} %`}</Text>
        {`  p50 ${rpc.latencyMsP50.toFixed(1)} ms  p99 ${rpc.latencyMsP99.toFixed(1)} ms`}
      </Text>
      <Text wrap="truncate" dimColor>{fit(`workers ${shown}${workers.length > workersShownMax ? ` +${workers.length - workersShownMax}` : ''}`, width)}</Text>
    </Box>
  );
}

const groupShownMax = 6;

function group(names: readonly string[] | 'all'): string {
  if (names === 'all') return 'all';
  return names.slice(0, groupShownMax).join(',') + (names.length > groupShownMax ? `+${names.length - groupShownMax}` : '');
}

export function NetworkPanel({ network, width, rows }: { network: NetworkSummary | undefined; width: number; rows: number }) {
  if (network === undefined) {
    return (
      <Box flexDirection="column" width={width}>
        <Text bold>Network</Text>
        <Text dimColor wrap="truncate">not observable from here</Text>
      </Box>
    );
  }
  const lines: string[] = [];
  for (const p of network.partitions) lines.push(`cut ${group(p.from)} → ${group(p.to)} since ${formatTime(p.sinceMs)}`);
  if (network.held.length > 0) lines.push(`held links ${network.held.length}: ${network.held.slice(0, 4).map((h) => `${h.from}→${h.to}`).join(' ')}`);
  const visible = lines.slice(0, Math.max(1, rows));
  return (
    <Box flexDirection="column" width={width}>
      <Text bold wrap="truncate">
        {'Network  '}
        <Text color={network.partitions.length > 0 ? 'red' : 'green'}>{network.partitions.length > 0 ? `${network.partitions.length} cuts` : 'no partition'}</Text>
        {`  loss ${(network.loss * 100).toFixed(0)} %  latency ${network.latency}${network.linkOverrides > 0 ? `  ${network.linkOverrides} links own model` : ''}`}
      </Text>
      {visible.map((line, i) => <Text key={i} wrap="truncate">{line}</Text>)}
      {lines.length > visible.length ? <Text dimColor>{`… ${lines.length - visible.length} more`}</Text> : null}
    </Box>
  );
}
