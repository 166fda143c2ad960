/**
 * What the scenario runner records while a run goes: every membership event each node
 * reported (normalised), the faults as applied, and each node's view of the others, kept
 * current so convergence can be sampled during the run.
 */

export type ViewState = 'alive' | 'suspect' | 'dead' | 'left';

export interface Observation {
  readonly timeMs: number;
  readonly observer: string;
  /** joined, updated, suspect, alive, failed, left, partition-detected, partition-healed, ... */
  readonly type: string;
  /** The member the event is about (the observer itself for local events). */
  readonly member: string;
  readonly incarnation?: number;
}

export interface AppliedFault {
  readonly timeMs: number;
  readonly kind: string;
  readonly nodes: readonly string[];
  readonly detail?: unknown;
}

/** Bounds what a run keeps in memory. */
export const observationsMax = 2_000_000;

export class RunObserver {
  readonly observations: Observation[] = [];
  readonly faults: AppliedFault[] = [];
  /** observer → member → state. */
  readonly views = new Map<string, Map<string, ViewState>>();
  /** Nodes that left gracefully (and when). */
  readonly leftAt = new Map<string, number>();
  droppedObservations = 0;

  constructor(readonly nodes: readonly string[]) {
    for (const node of nodes) this.views.set(node, new Map());
  }

  observe(observation: Observation): void {
    if (this.observations.length < observationsMax) this.observations.push(observation);
    else this.droppedObservations++;
    const view = this.views.get(observation.observer);
    if (view === undefined || observation.member === observation.observer) return;
    const next = stateAfter(observation.type);
    if (next !== undefined) view.set(observation.member, next);
  }

  /** A restarted node starts with an empty view. */
  resetView(node: string): void {
    this.views.get(node)?.clear();
  }

  fault(fault: AppliedFault): void {
    this.faults.push(fault);
  }

  /**
   * Whether every running node sees every other running node alive and every stopped (or
   * left) node as not alive. `up` says which nodes run now.
   */
  converged(up: (node: string) => boolean): { ok: boolean; disagreements: string[] } {
    const disagreements: string[] = [];
    for (const observer of this.nodes) {
      if (!up(observer) || this.leftAt.has(observer)) continue;
      const view = this.views.get(observer)!;
      for (const member of this.nodes) {
        if (member === observer) continue;
        const seen = view.get(member);
        const shouldBeAlive = up(member) && !this.leftAt.has(member);
        const ok = shouldBeAlive ? seen === 'alive' : seen !== 'alive' && seen !== 'suspect';
        if (!ok && disagreements.length < 20) disagreements.push(`${observer} sees ${member} as ${seen ?? 'unknown'}`);
        if (!ok && disagreements.length >= 20) return { ok: false, disagreements };
      }
    }
    return { ok: disagreements.length === 0, disagreements };
  }
}

function stateAfter(type: string): ViewState | undefined {
  switch (type) {
    case 'joined':
    case 'alive':
    case 'updated':
      return 'alive';
    case 'suspect':
      return 'suspect';
    case 'failed':
      return 'dead';
    case 'left':
      return 'left';
    default:
      return undefined;
  }
}
