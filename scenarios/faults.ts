import { ShoalError } from '../core/index.ts';
import type { AppliedFault } from './observe.ts';
import type { Expectation, Fault, FaultKind, LatencySpecInput, Scenario } from './schema.ts';
import { faultVariants } from './schema.ts';

/**
 * The one place a scenario's faults are applied. A runner (the simulator, real nodes, the
 * dashboard's live simulation) implements `FaultTarget`: one method per thing a fault can
 * do, plus `cannot`, which says why it cannot do a kind at all. `applyFault` is the only
 * dispatch over fault kinds, and it is exhaustive: a new kind does not compile until every
 * target handles it. `refuseUnsupported` runs before a run starts, so a fault a target cannot
 * apply stops the run with its reason instead of being skipped.
 */

/** A target's step: applied now, or once the promise settles (real processes, the namespace lab). */
export type FaultStep = void | Promise<void>;

export interface FaultTarget {
  /** Why this target cannot apply faults of `kind` (one line), or undefined when it can. */
  cannot(kind: FaultKind): string | undefined;
  /** The target's time now, in the scenario's milliseconds. */
  nowMs(): number;
  /** Records a fault as applied (for the expectations, the report and checkers). */
  record(fault: AppliedFault): void;
  crash(nodes: readonly string[]): FaultStep;
  restart(nodes: readonly string[]): FaultStep;
  leave(nodes: readonly string[]): FaultStep;
  pause(nodes: readonly string[], forMs: number): FaultStep;
  slow(nodes: readonly string[], delayMs: number, forMs: number): FaultStep;
  partition(groups: readonly (readonly string[])[]): FaultStep;
  oneway(from: readonly string[], to: readonly string[]): FaultStep;
  bridge(a: readonly string[], via: string, b: readonly string[]): FaultStep;
  isolate(node: string): FaultStep;
  /** Removes every cut. */
  heal(): FaultStep;
  repair(a: readonly string[], b: readonly string[]): FaultStep;
  hold(from: readonly string[], to: readonly string[]): FaultStep;
  release(from: readonly string[], to: readonly string[]): FaultStep;
  skew(node: string, ms: number): FaultStep;
  drift(node: string, ppm: number): FaultStep;
  /** Loss from `from` to `to` (both undefined: the default for every link). */
  loss(loss: number, from: readonly string[] | undefined, to: readonly string[] | undefined): FaultStep;
  latency(latency: LatencySpecInput, from: readonly string[] | undefined, to: readonly string[] | undefined): FaultStep;
}

/** A fault some target cannot apply, found before the run. */
export class FaultUnsupportedError extends ShoalError {
  override readonly code = 'FAULT_UNSUPPORTED';
}

export const asList = (x: string | readonly string[]): string[] => (typeof x === 'string' ? [x] : [...x]);
const optionalList = (x: string | readonly string[] | undefined) => (x === undefined ? undefined : asList(x));

/** Every fault kind, in the schema's order. */
export const faultKinds = Object.keys(faultVariants) as FaultKind[];

/**
 * Applies one fault to a target and records it. The record comes first, at the time the
 * fault was asked for: a real target's step may take a while (a process to stop).
 */
export function applyFault(target: FaultTarget, fault: Fault): FaultStep {
  const record = (kind: string, nodes: readonly string[], detail?: unknown) => target.record({ timeMs: target.nowMs(), kind, nodes, ...(detail === undefined ? {} : { detail }) });
  switch (fault.kind) {
    case 'crash':
      record('crash', asList(fault.crash));
      return target.crash(asList(fault.crash));
    case 'restart':
      record('restart', asList(fault.restart));
      return target.restart(asList(fault.restart));
    case 'leave':
      record('leave', asList(fault.leave));
      return target.leave(asList(fault.leave));
    case 'pause':
      record('pause', asList(fault.pause), { forMs: fault.for });
      return target.pause(asList(fault.pause), fault.for);
    case 'slow':
      record('slow', asList(fault.slow.node), { delayMs: fault.slow.delay, forMs: fault.slow.for });
      return target.slow(asList(fault.slow.node), fault.slow.delay, fault.slow.for);
    case 'partition':
      record('partition', fault.partition.flat(), fault.partition);
      return target.partition(fault.partition);
    case 'oneway':
      record('oneway', [...asList(fault.oneway.from), ...asList(fault.oneway.to)]);
      return target.oneway(asList(fault.oneway.from), asList(fault.oneway.to));
    case 'bridge':
      record('partition', [...asList(fault.bridge.a), fault.bridge.via, ...asList(fault.bridge.b)], fault.bridge);
      return target.bridge(asList(fault.bridge.a), fault.bridge.via, asList(fault.bridge.b));
    case 'isolate':
      record('isolate', [fault.isolate]);
      return target.isolate(fault.isolate);
    case 'heal':
      record('heal', []);
      return target.heal();
    case 'repair':
      record('repair', [...asList(fault.repair.a), ...asList(fault.repair.b)]);
      return target.repair(asList(fault.repair.a), asList(fault.repair.b));
    case 'hold':
      record('hold', [...asList(fault.hold.from), ...asList(fault.hold.to)]);
      return target.hold(asList(fault.hold.from), asList(fault.hold.to));
    case 'release':
      record('release', [...asList(fault.release.from), ...asList(fault.release.to)]);
      return target.release(asList(fault.release.from), asList(fault.release.to));
    case 'skew':
      record('skew', [fault.skew.node], fault.skew);
      return target.skew(fault.skew.node, fault.skew.ms);
    case 'drift':
      record('drift', [fault.drift.node], fault.drift);
      return target.drift(fault.drift.node, fault.drift.ppm);
    case 'loss':
      record('loss', [], { loss: fault.loss });
      return target.loss(fault.loss, optionalList(fault.from), optionalList(fault.to));
    case 'latency':
      record('latency', [], fault.latency);
      return target.latency(fault.latency, optionalList(fault.from), optionalList(fault.to));
    default: {
      const unknown: never = fault;
      throw new FaultUnsupportedError(`unknown fault ${JSON.stringify(unknown)}`);
    }
  }
}

/** Throws a `FaultUnsupportedError` naming every fault of the scenario the target cannot apply, with the reason. */
export function refuseUnsupported(target: Pick<FaultTarget, 'cannot'>, faults: readonly Fault[], where: string): void {
  const reasons = new Map<string, string>();
  for (const fault of faults) {
    const reason = target.cannot(fault.kind);
    if (reason !== undefined && !reasons.has(fault.kind)) reasons.set(fault.kind, reason);
  }
  if (reasons.size === 0) return;
  throw new FaultUnsupportedError(`${where} cannot apply ${[...reasons.keys()].join(', ')} faults: ${[...new Set(reasons.values())].join('; ')}`);
}

const names = (group: string | readonly string[]) => asList(group).join(' ');
const seconds = (ms: number) => (ms % 1_000 === 0 ? `${ms / 1_000} s` : `${ms} ms`);

function describeLatency(latency: LatencySpecInput): string {
  const fields = Object.entries(latency).filter(([key]) => key !== 'kind').map(([key, value]) => `${key} ${String(value)}`);
  return `${latency.kind}${fields.length ? ` (${fields.join(', ')})` : ''}`;
}

function links(fault: { from?: string | string[]; to?: string | string[] }): string {
  if (fault.from === undefined && fault.to === undefined) return ' on every link';
  return ` ${fault.from === undefined ? 'all' : names(fault.from)} → ${fault.to === undefined ? 'all' : names(fault.to)}`;
}

/**
 * One line for a fault, as a person would say it, without its time (a band shows that):
 * `crash n3`, `pause n2 for 3 s`, `loss 10 % n1 → n2`; never the raw fields as JSON.
 */
export function faultLabel(fault: Fault): string {
  switch (fault.kind) {
    case 'crash': return `crash ${names(fault.crash)}`;
    case 'restart': return `restart ${names(fault.restart)}`;
    case 'leave': return `leave ${names(fault.leave)}`;
    case 'partition': return `partition ${fault.partition.map(names).join(' | ')}`;
    case 'oneway': return `oneway cut ${names(fault.oneway.from)} → ${names(fault.oneway.to)}`;
    case 'bridge': return `bridge ${names(fault.bridge.a)} | ${names(fault.bridge.b)} via ${fault.bridge.via}`;
    case 'isolate': return `isolate ${fault.isolate}`;
    case 'heal': return 'heal';
    case 'repair': return `repair ${names(fault.repair.a)} ↔ ${names(fault.repair.b)}`;
    case 'hold': return `hold ${names(fault.hold.from)} → ${names(fault.hold.to)}`;
    case 'release': return `release ${names(fault.release.from)} → ${names(fault.release.to)}`;
    case 'pause': return `pause ${names(fault.pause)} for ${seconds(fault.for)}`;
    case 'slow': return `slow ${names(fault.slow.node)} by ${seconds(fault.slow.delay)} for ${seconds(fault.slow.for)}`;
    case 'skew': return `skew ${fault.skew.node}'s clock +${fault.skew.ms} ms`;
    case 'drift': return `drift ${fault.drift.node}'s clock ${fault.drift.ppm >= 0 ? '+' : ''}${fault.drift.ppm} ppm`;
    case 'loss': return `loss ${+(fault.loss * 100).toFixed(2)} %${links(fault)}`;
    case 'latency': return `latency ${describeLatency(fault.latency)}${links(fault)}`;
  }
}

/** A fault with its time, as a person reads it: `crash n3 at 5 s`, `loss 10 % on every link at 2 s`. */
export function describeFault(fault: Fault): string {
  return `${faultLabel(fault)} at ${seconds(fault.at)}`;
}

/** A parsed fault or expectation as a scenario file writes it (without the parser's `kind`). */
export function writtenForm<T extends { kind: string }>(entry: T): Omit<T, 'kind'> {
  const { kind: _kind, ...written } = entry;
  return written;
}

/** A parsed scenario as a scenario file writes it: faults and expectations without `kind`. */
export function writtenScenario(scenario: Scenario): Omit<Scenario, 'faults' | 'expect'> & { faults: Omit<Fault, 'kind'>[]; expect: Omit<Expectation, 'kind'>[] } {
  return { ...scenario, faults: scenario.faults.map(writtenForm), expect: scenario.expect.map(writtenForm) };
}
