import { ShoalError } from '../core/index.ts';
import type { Simulation } from './simulation.ts';

/** Two runs of the same seed produced different traces: something escaped the simulator. */
export class DeterminismError extends ShoalError {
  override readonly code = 'NONDETERMINISM';
  constructor(readonly seed: string, readonly hashes: [string, string], readonly firstDifference: number | undefined) {
    super(`seed ${seed} is not deterministic: trace hashes ${hashes[0]} and ${hashes[1]} differ` +
      (firstDifference === undefined ? '' : ` (first difference at entry ${firstDifference})`));
  }
}

export interface DeterminismResult {
  readonly seed: string;
  readonly hash: string;
  readonly events: number;
}

/**
 * Builds and runs a simulation twice from the same seed and compares the traces, as
 * madsim's `check_determinism` does. Throws `DeterminismError` when they differ.
 */
export async function checkDeterminism(
  build: () => Simulation,
  drive: (sim: Simulation) => void | Promise<void>,
): Promise<DeterminismResult> {
  const runs: Simulation[] = [];
  for (let i = 0; i < 2; i++) {
    const sim = build();
    await drive(sim);
    runs.push(sim);
  }
  const [a, b] = runs as [Simulation, Simulation];
  if (a.trace.hash !== b.trace.hash || a.trace.count !== b.trace.count) {
    const ea = a.trace.entries();
    const eb = b.trace.entries();
    let first: number | undefined;
    for (let i = 0; i < Math.max(ea.length, eb.length); i++) {
      if (JSON.stringify(ea[i]) !== JSON.stringify(eb[i])) {
        first = ea[i]?.index ?? eb[i]?.index;
        break;
      }
    }
    throw new DeterminismError(a.seed, [a.trace.hash, b.trace.hash], first);
  }
  return { seed: a.seed, hash: a.trace.hash, events: a.eventCount };
}
