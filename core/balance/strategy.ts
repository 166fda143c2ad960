import { ConfigError } from '../errors.ts';
import { RandomStrategy, RoundRobinStrategy } from './basic.ts';
import { STRATEGY_NAMES, type Strategy, type StrategyName } from './candidate.ts';
import { LeastConnectionsStrategy, LifoStrategy, PeakEwmaStrategy, PowerOfTwoStrategy } from './load.ts';
import { RendezvousStrategy } from './rendezvous.ts';
import { WeightedStrategy } from './weighted.ts';

const factories: Readonly<Record<StrategyName, () => Strategy>> = {
  'round-robin': () => new RoundRobinStrategy(),
  random: () => new RandomStrategy(),
  'least-connections': () => new LeastConnectionsStrategy(),
  'power-of-two': () => new PowerOfTwoStrategy(),
  'peak-ewma': () => new PeakEwmaStrategy(),
  weighted: () => new WeightedStrategy(),
  rendezvous: () => new RendezvousStrategy(),
  lifo: () => new LifoStrategy(),
};

export function isStrategyName(name: unknown): name is StrategyName {
  return typeof name === 'string' && Object.hasOwn(factories, name);
}

/**
 * A fresh strategy instance. Round robin and weighted keep a little state (a cursor, the
 * running scores), so each worker pool should own its own instance.
 */
export function createStrategy(name: StrategyName): Strategy {
  if (!isStrategyName(name)) {
    throw new ConfigError('strategy', `unknown strategy "${String(name)}"; expected one of ${STRATEGY_NAMES.join(', ')}`);
  }
  return factories[name]();
}
