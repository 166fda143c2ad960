import { InvalidArgumentError } from '../../core/index.ts';
import type { Simulation } from '../simulation.ts';

/**
 * One fault held over a window of simulated time: it starts at `fromMs` and is undone at
 * `toMs` (the node restarts, the partition heals, the loss goes back to the base).
 */
export type FaultWindow =
  | { readonly kind: 'crash'; readonly node: string; readonly fromMs: number; readonly toMs: number }
  | { readonly kind: 'partition'; readonly groups: readonly (readonly string[])[]; readonly fromMs: number; readonly toMs: number }
  | { readonly kind: 'loss'; readonly loss: number; readonly fromMs: number; readonly toMs: number };

export type FaultKind = FaultWindow['kind'];

/** The faults of one run; windows may overlap. Plain data: it prints and parses as JSON. */
export type FaultSchedule = readonly FaultWindow[];

/** Windows one schedule may hold: each becomes two simulator events. */
export const faultWindowsMax = 256;

/** What the faults of a schedule amount to at one instant. */
export interface FaultState {
  /** Nodes inside a crash window. */
  readonly down: ReadonlySet<string>;
  /** The groups of every open partition window, in schedule order. */
  readonly partitions: readonly (readonly (readonly string[])[])[];
  /** The largest loss of the open loss windows, or undefined when none is open. */
  readonly loss: number | undefined;
}

/** The faults in force at `timeMs`: a window holds over [fromMs, toMs). */
export function faultStateAt(schedule: FaultSchedule, timeMs: number): FaultState {
  const open = schedule.filter((w) => w.fromMs <= timeMs && timeMs < w.toMs);
  const down = new Set<string>();
  const partitions: (readonly (readonly string[])[])[] = [];
  let loss: number | undefined;
  for (const window of open) {
    switch (window.kind) {
      case 'crash': down.add(window.node); break;
      case 'partition': partitions.push(window.groups); break;
      case 'loss': loss = Math.max(loss ?? 0, window.loss); break;
      default: assertNever(window);
    }
  }
  return { down, partitions, loss };
}

/** Refuses a schedule the simulator cannot run: unknown nodes, windows outside [0, endMs], bad loss. */
export function checkFaultSchedule(schedule: FaultSchedule, nodes: readonly string[], endMs: number): void {
  if (!Array.isArray(schedule as unknown)) throw new InvalidArgumentError('schedule must be an array of fault windows');
  if (schedule.length > faultWindowsMax) throw new InvalidArgumentError(`schedule has ${schedule.length} windows, the limit is ${faultWindowsMax}`);
  const known = new Set(nodes);
  const checkNode = (node: string) => {
    if (!known.has(node)) throw new InvalidArgumentError(`schedule names node "${node}", which is not one of ${nodes.join(', ')}`);
  };
  for (const fault of schedule) {
    if (!(fault.fromMs >= 0 && fault.fromMs < fault.toMs && fault.toMs <= endMs)) {
      throw new InvalidArgumentError(`fault window ${formatWindow(fault)} must lie within [0, ${endMs}] ms and end after it starts`);
    }
    switch (fault.kind) {
      case 'crash': checkNode(fault.node); break;
      case 'partition':
        if (fault.groups.length < 2) throw new InvalidArgumentError(`partition ${formatWindow(fault)} needs at least two groups`);
        fault.groups.flat().forEach(checkNode);
        break;
      case 'loss':
        if (!(fault.loss >= 0 && fault.loss <= 1)) throw new InvalidArgumentError(`loss ${formatWindow(fault)} must be within [0, 1]`);
        break;
      default: assertNever(fault);
    }
  }
}

/**
 * Schedules every window of `schedule` in `sim`: at each window's start and end the
 * simulator is moved from the faults in force before to the ones in force after. Crashed
 * nodes restart (a fresh start of their host), partitions are re-applied over a healed
 * network, and the default link loss is the largest open loss or `baseLoss`.
 */
export function applyFaultSchedule(sim: Simulation, schedule: FaultSchedule, baseLoss = 0): void {
  const boundaries = [...new Set(schedule.flatMap((w) => [w.fromMs, w.toMs]))].sort((a, b) => a - b);
  let before = faultStateAt([], 0);
  for (const timeMs of boundaries) {
    sim.at(timeMs, () => {
      const after = faultStateAt(schedule, timeMs);
      moveFaults(sim, before, after, baseLoss);
      before = after;
    });
  }
}

function moveFaults(sim: Simulation, before: FaultState, after: FaultState, baseLoss: number): void {
  for (const node of after.down) if (!before.down.has(node)) sim.crash(node);
  for (const node of before.down) if (!after.down.has(node)) sim.restart(node);
  if (JSON.stringify(before.partitions) !== JSON.stringify(after.partitions)) {
    sim.repair();
    for (const groups of after.partitions) sim.partition(...groups);
  }
  if (before.loss !== after.loss) sim.setDefaultLink({ loss: after.loss ?? baseLoss });
}

/** One window in a line: `crash n2 1000..3000ms`, `partition n1|n2,n3 500..900ms`, `loss 0.2 0..400ms`. */
export function formatWindow(window: FaultWindow): string {
  const span = `${window.fromMs}..${window.toMs}ms`;
  switch (window.kind) {
    case 'crash': return `crash ${window.node} ${span}`;
    case 'partition': return `partition ${window.groups.map((g) => g.join(',')).join('|')} ${span}`;
    case 'loss': return `loss ${window.loss} ${span}`;
    default: return assertNever(window);
  }
}

function assertNever(value: never): never {
  throw new InvalidArgumentError(`unknown fault window ${JSON.stringify(value)}`);
}
