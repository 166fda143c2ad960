import type { ClusterModel } from './model.ts';
import type { ActionName } from './types.ts';

/**
 * What the dashboard drives: a simulated cluster or a real node. Every action returns the
 * one-line message the status line shows; an action the source cannot perform says so
 * instead of failing.
 */
export interface DashboardSource {
  readonly model: ClusterModel;
  readonly capabilities: ReadonlySet<ActionName>;
  start(): void;
  stop(): void;
  togglePause(): string;
  step(): Promise<string>;
  faster(): string;
  slower(): string;
  crash(names: readonly string[]): string;
  restart(names: readonly string[]): string;
  partition(names: readonly string[]): string;
  heal(): string;
  pauseMember(names: readonly string[]): string;
  addLoss(): string;
  /** Saves the session (the recorded actions as a scenario file); returns where. */
  save(): string;
  /** Runs on past the scenario's end, where the run stopped with its verdict. */
  continuePastEnd(): string;
}

/** The message for an action a source cannot perform. */
export function unavailable(action: ActionName, why: string): string {
  return `${action}: unavailable (${why})`;
}
