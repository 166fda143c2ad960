import type { MembershipEvent, Swim, SwimConfigInput } from '../../core/swim/index.ts';
import { buildSwimCluster, type SwimCluster } from '../../sim/hosts/swim.ts';
import { Simulation, type SimulationOptions } from '../../sim/index.ts';

export interface SeenEvent extends MembershipEvent {
  readonly host: string;
  readonly simMs: number;
}

export interface World {
  readonly sim: Simulation;
  readonly cluster: SwimCluster;
  readonly events: SeenEvent[];
  node(name: string): Swim;
}

/** A simulated SWIM cluster that records every membership event each host emitted. */
export function world(seed: number, size: number, config?: SwimConfigInput, sim?: Partial<SimulationOptions>): World {
  const simulation = new Simulation({ seed, trace: { capacity: 0 }, ...sim });
  const events: SeenEvent[] = [];
  simulation.onOutput((o) => {
    if (o.name === 'member') events.push({ ...(o.detail as MembershipEvent), host: o.host, simMs: o.timeMs });
  });
  const cluster = buildSwimCluster(simulation, { size, config });
  return {
    sim: simulation, cluster, events,
    node(name) {
      const n = cluster.node(name);
      if (n === undefined) throw new Error(`${name} is down`);
      return n;
    },
  };
}

/** Runs `body`; on failure adds the seed and a one-line reproduction to the message. */
export function withSeed(w: World, file: string, body: () => void): void {
  try {
    body();
  } catch (error) {
    if (error instanceof Error) error.message += `\n${w.sim.reproduceHint(`npx vitest run ${file} # seed`)}`;
    throw error;
  }
}

/** name → state as `observer` sees it. */
export function stateOf(w: World, observer: string, member: string): string | undefined {
  return w.node(observer).member(member)?.state;
}
