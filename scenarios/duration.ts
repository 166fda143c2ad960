/** Parses a duration as written in scenario files: `250ms`, `1.5s`, `2m`, `1h`, or a number of milliseconds. */
export function parseDurationMs(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (match === null) return undefined;
  const n = Number(match[1]);
  const unit = match[2] ?? 'ms';
  return n * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
}

export function formatDurationMs(ms: number): string {
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

/** A count with its noun, singular or plural as English wants: `1 member`, `3 members`, `1 side`. */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

/** Milliseconds in a report, rounded: real runs measure fractions no reader needs (`3013.5774739999997`). */
export function formatMs(ms: number): string {
  return `${Math.round(ms)} ms`;
}
