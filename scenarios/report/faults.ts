import { asList as list, faultLabel } from '../faults.ts';
import type { Fault, Scenario } from '../schema.ts';

/**
 * Faults as a reader sees them in a report: one line each (`partition n1 n2 | n3 n4`) and
 * a band over the time they hold (a partition until the next heal, a crash until its
 * node's restart, a pause for its length), so a picture shows when the cluster was hurt.
 */
export interface FaultBand {
  readonly fromMs: number;
  /** Equal to `fromMs` for an instant (a restart, a heal, a clock skew). */
  readonly toMs: number;
  readonly label: string;
  readonly kind: Fault['kind'];
  /** The nodes a node fault is about (drawn on their lines); absent for a network fault (drawn across). */
  readonly nodes?: readonly string[];
}

/** The nodes a fault acts on, for faults drawn on nodes' lines. */
function faultNodes(fault: Fault): string[] | undefined {
  switch (fault.kind) {
    case 'crash': return list(fault.crash);
    case 'restart': return list(fault.restart);
    case 'leave': return list(fault.leave);
    case 'pause': return list(fault.pause);
    case 'slow': return list(fault.slow.node);
    case 'skew': return [fault.skew.node];
    case 'drift': return [fault.drift.node];
    default: return undefined;
  }
}

const cuts = new Set<Fault['kind']>(['partition', 'oneway', 'bridge', 'isolate', 'hold']);

/** When a fault stops holding: the first later fault that ends it, or the end of the run. */
function endOf(fault: Fault, later: readonly Fault[], endMs: number): number {
  const next = (test: (f: Fault) => boolean) => later.find(test)?.at ?? endMs;
  switch (fault.kind) {
    case 'crash': return next((f) => (f.kind === 'restart' && list(f.restart).some((n) => list(fault.crash).includes(n))));
    case 'pause': return Math.min(endMs, fault.at + fault.for);
    case 'slow': return Math.min(endMs, fault.at + fault.slow.for);
    case 'hold': return next((f) => f.kind === 'release' || f.kind === 'heal');
    case 'loss': case 'latency': return next((f) => f.kind === fault.kind);
    default: return cuts.has(fault.kind) ? next((f) => f.kind === 'heal' || f.kind === 'repair') : fault.at;
  }
}

/** The scenario's faults as bands, in time order. A loss fault back to 0 only ends the band before it. */
export function faultBands(scenario: Pick<Scenario, 'faults' | 'duration'>): FaultBand[] {
  const faults = [...scenario.faults].sort((a, b) => a.at - b.at);
  return faults.flatMap((fault, i) => {
    if (fault.kind === 'loss' && fault.loss === 0) return [];
    const nodes = faultNodes(fault);
    return [{ fromMs: fault.at, toMs: endOf(fault, faults.slice(i + 1), scenario.duration), label: faultLabel(fault), kind: fault.kind, ...(nodes ? { nodes } : {}) }];
  });
}
