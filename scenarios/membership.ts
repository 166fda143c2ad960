import { ConfigError, type Address } from '../core/index.ts';
import { Swim, type SwimConfig, type SwimConfigInput } from '../core/swim/index.ts';
import type { HostContext } from '../sim/index.ts';
import type { Observation } from './observe.ts';
import type { Scenario } from './schema.ts';

/** What the scenario runner needs of a running member. */
export type MembershipNode = Swim;

const lifeguardFields = ['awarenessEnabled', 'dynamicSuspicionEnabled', 'buddySystemEnabled'] as const;

/** The membership configuration a scenario asks for: preset, Lifeguard switch, overrides. */
export function scenarioSwimConfig(scenario: Scenario): SwimConfigInput {
  const config: SwimConfigInput = { preset: scenario.cluster.preset };
  for (const field of lifeguardFields) config[field] = scenario.cluster.lifeguard;
  for (const [key, value] of Object.entries(scenario.cluster.config)) {
    (config as Record<string, unknown>)[key as keyof SwimConfig] = value;
  }
  return config;
}

/** Tags of one node: the `all` group, then the node's own. */
export function scenarioTags(scenario: Scenario, node: string): Record<string, string> {
  return { ...(scenario.cluster.tags.all ?? {}), ...(scenario.cluster.tags[node] ?? {}) };
}

/**
 * Starts the SWIM member of one scenario node on a simulator host, reporting each
 * membership event to `observe` (normalised) and to the trace as a `member` output.
 */
export function startMembership(
  ctx: HostContext,
  scenario: Scenario,
  seeds: readonly Address[],
  observe: (o: Omit<Observation, 'observer' | 'timeMs'>) => void,
  tagOverride?: Record<string, string>,
): MembershipNode {
  let swim: Swim;
  try {
    swim = new Swim(ctx, { name: ctx.name, tags: { ...scenarioTags(scenario, ctx.name), ...tagOverride }, config: scenarioSwimConfig(scenario), seeds });
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`cluster.config.${error.field}`, error.message);
    throw error;
  }
  swim.subscribe((event) => {
    ctx.emit('member', { ...event });
    const member = event.type === 'refuted' || event.type.startsWith('partition') ? ctx.name : event.name;
    observe({ type: event.type, member, incarnation: event.incarnation });
  });
  swim.start();
  return swim;
}
