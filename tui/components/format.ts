import type { HostCondition, MemberState } from '../types.ts';

/** Ink colour of each member state. */
export const stateColor: Record<MemberState | 'unknown', string> = {
  alive: 'green', suspect: 'yellow', dead: 'red', left: 'gray', unknown: 'gray',
};

/** One-letter state codes for the view matrix. */
export const stateLetter: Record<MemberState, string> = { alive: 'A', suspect: 'S', dead: 'D', left: 'L' };

export const conditionLabel: Record<HostCondition, string> = { up: 'up', down: 'DOWN', paused: 'PAUSED', unknown: '?' };
export const conditionColor: Record<HostCondition, string | undefined> = { up: undefined, down: 'red', paused: 'magenta', unknown: 'gray' };

/** Pads or truncates to exactly `width` characters (an ellipsis marks a cut). */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  if (text.length > width) return width === 1 ? '…' : `${text.slice(0, width - 1)}…`;
  return align === 'left' ? text.padEnd(width) : text.padStart(width);
}

const blocks = ' ▁▂▃▄▅▆▇█';

/** Phi at which a sparkline bar is full: the usual conviction threshold. */
export const sparklinePhiFull = 8;

/** A sparkline of phi samples, the last `width` of them, scaled so a full bar is phi ≥ 8. */
export function sparkline(values: readonly number[], width: number): string {
  const recent = values.slice(-width);
  // Any phi above zero shows at least the lowest bar, so a quiet member and a silent one differ.
  const bars = recent.map((v) => blocks[v > 0 ? Math.max(1, Math.min(8, Math.round((Math.min(v, sparklinePhiFull) / sparklinePhiFull) * 8))) : 0]);
  return bars.join('').padStart(width);
}

/** Simulated time as `12.3 s`, or `1:02:03` past an hour. */
export function formatTime(ms: number): string {
  if (ms < 3_600_000) return `${(ms / 1000).toFixed(1)} s`;
  const total = Math.floor(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${Math.floor(total / 3600)}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
}

export function formatPhi(phi: number): string {
  if (!Number.isFinite(phi)) return '∞';
  return phi >= 100 ? phi.toFixed(0) : phi.toFixed(1);
}

export function formatTags(tags: Readonly<Record<string, string>>): string {
  return Object.entries(tags).map(([k, v]) => `${k}=${v}`).join(',');
}
