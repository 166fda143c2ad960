import fc from 'fast-check';
import { InvalidArgumentError } from '../../core/index.ts';
import type { FaultKind, FaultSchedule, FaultWindow } from './fault-schedule.ts';

export interface FaultWindowOptions {
  /** The nodes faults may hit. */
  nodes: readonly string[];
  /**
   * Every window starts and ends within [0, durationMs]: the chaos phase. Give the run more
   * time than this, so the rest of it is a liveness phase without faults.
   */
  durationMs: number;
  /** Shortest window. @default 100 */
  windowMsMin?: number;
  /** Nodes never crashed (one that must stay up, such as a client). @default none */
  keepUp?: readonly string[];
  /** Largest loss of a loss window. @default 0.3 */
  lossMax?: number;
}

export interface FaultScheduleOptions extends FaultWindowOptions {
  /** Most windows in one schedule. @default 4 */
  windowsMax?: number;
  /** The kinds of windows drawn. @default every kind: crash, partition (with two nodes or more), loss */
  kinds?: readonly FaultKind[];
}

/** Whole milliseconds `[fromMs, toMs)` within the chaos phase, at least `windowMsMin` long. */
function span(options: FaultWindowOptions): fc.Arbitrary<{ fromMs: number; toMs: number }> {
  const windowMsMin = options.windowMsMin ?? 100;
  if (!(options.durationMs >= windowMsMin)) throw new InvalidArgumentError(`durationMs (${options.durationMs}) must be at least windowMsMin (${windowMsMin})`);
  const last = Math.floor(options.durationMs);
  return fc.integer({ min: 0, max: last - windowMsMin })
    .chain((fromMs) => fc.integer({ min: fromMs + windowMsMin, max: last }).map((toMs) => ({ fromMs, toMs })));
}

/** A node (not one of `keepUp`) down over a window: crashed at its start, restarted at its end. */
export function crashWindow(options: FaultWindowOptions): fc.Arbitrary<FaultWindow> {
  const keepUp = new Set(options.keepUp ?? []);
  const candidates = options.nodes.filter((n) => !keepUp.has(n));
  if (candidates.length === 0) throw new InvalidArgumentError('crashWindow: every node is in keepUp');
  return fc.record({ node: fc.constantFrom(...candidates), window: span(options) })
    .map(({ node, window }) => ({ kind: 'crash' as const, node, ...window }));
}

/** The nodes split in two sides (each non-empty) that cannot reach each other over a window. */
export function partitionWindow(options: FaultWindowOptions): fc.Arbitrary<FaultWindow> {
  const nodes = [...options.nodes];
  if (nodes.length < 2) throw new InvalidArgumentError('partitionWindow needs at least two nodes');
  const side = fc.subarray(nodes, { minLength: 1, maxLength: nodes.length - 1 });
  return fc.record({ side, window: span(options) }).map(({ side: a, window }) => ({
    kind: 'partition' as const, groups: [a, nodes.filter((n) => !a.includes(n))], ...window,
  }));
}

/** Every link losing a share of its datagrams over a window (in hundredths, up to `lossMax`). */
export function lossWindow(options: FaultWindowOptions): fc.Arbitrary<FaultWindow> {
  const percentMax = Math.round((options.lossMax ?? 0.3) * 100);
  return fc.record({ percent: fc.integer({ min: 1, max: Math.max(1, percentMax) }), window: span(options) })
    .map(({ percent, window }) => ({ kind: 'loss' as const, loss: percent / 100, ...window }));
}

/**
 * Schedules of up to `windowsMax` crash, partition and loss windows over `nodes`, all
 * within [0, durationMs], sorted by start. Shrinking drops windows and shortens them, so
 * a failure comes down to the few faults that cause it.
 */
export function faultSchedule(options: FaultScheduleOptions): fc.Arbitrary<FaultSchedule> {
  const kinds = options.kinds ?? (options.nodes.length >= 2 ? ['crash', 'partition', 'loss'] : ['crash', 'loss']);
  const byKind: Record<FaultKind, () => fc.Arbitrary<FaultWindow>> = {
    crash: () => crashWindow(options),
    partition: () => partitionWindow(options),
    loss: () => lossWindow(options),
  };
  if (kinds.length === 0) throw new InvalidArgumentError('faultSchedule: kinds is empty');
  const window = fc.oneof(...kinds.map((k) => byKind[k]()));
  return fc.array(window, { maxLength: options.windowsMax ?? 4 })
    .map((windows) => [...windows].sort((a, b) => a.fromMs - b.fromMs || a.toMs - b.toMs));
}
