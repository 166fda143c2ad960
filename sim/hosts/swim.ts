import type { Address } from '../../core/index.ts';
import { Swim, type SwimConfigInput, type Tags } from '../../core/swim/index.ts';
import type { HostFactory, Simulation } from '../simulation.ts';

export interface SwimHostOptions {
  /** Member name. @default the host's name */
  name?: string;
  tags?: Tags;
  config?: SwimConfigInput;
  /** Seeds to join through (host addresses, `name:7946`). @default [] */
  seeds?: readonly Address[];
  /** Record every membership event as a `member` output in the trace. @default true */
  emitEvents?: boolean;
}

/**
 * A simulator host running one SWIM member: builds a `Swim` on the host context, starts
 * it, and forwards each membership event to `ctx.emit('member', event)` so the trace
 * records what every node saw. A restart runs it again: a fresh member, same address.
 */
export function swimHost(options: SwimHostOptions = {}): HostFactory<Swim> {
  return (ctx) => {
    const swim = new Swim(ctx, { name: options.name ?? ctx.name, tags: options.tags, config: options.config, seeds: options.seeds });
    if (options.emitEvents ?? true) swim.subscribe((event) => ctx.emit('member', { ...event }));
    swim.start();
    return swim;
  };
}

export interface SwimClusterOptions {
  /** Members to start. */
  size: number;
  config?: SwimConfigInput;
  /** Seed host names; every member joins through them. @default the first host */
  seeds?: readonly string[];
  /** Host name prefix: hosts are `${prefix}${i}`. @default 'n' */
  prefix?: string;
  /** Start times are spread uniformly over this window. @default 0 (all at once) */
  staggerMs?: number;
  tags?: (index: number) => Tags;
  emitEvents?: boolean;
}

export interface SwimCluster {
  readonly names: readonly string[];
  /** The running member on host `name`, or undefined while it is down. */
  node(name: string): Swim | undefined;
  /** Running members. */
  nodes(): Swim[];
}

/** Starts `size` SWIM hosts in `sim` (n0, n1, ...), all joining through the seeds. */
export function buildSwimCluster(sim: Simulation, options: SwimClusterOptions): SwimCluster {
  const prefix = options.prefix ?? 'n';
  const names = Array.from({ length: options.size }, (_, i) => `${prefix}${i}`);
  const seedNames = options.seeds ?? [names[0]!];
  const seeds = seedNames.map((n) => `${n}:${sim.options.port}`);
  const stagger = options.staggerMs ?? 0;
  names.forEach((name, i) => {
    const factory = swimHost({ config: options.config, seeds, tags: options.tags?.(i), emitEvents: options.emitEvents });
    if (stagger === 0 || i === 0) sim.host(name, factory);
    else sim.at(sim.nowMs + (stagger * i) / options.size, () => sim.host(name, factory));
  });
  return {
    names,
    node: (name) => sim.app<Swim>(name),
    nodes: () => names.filter((n) => sim.hostNames().includes(n) && sim.isUp(n)).map((n) => sim.app<Swim>(n)!),
  };
}
