import { InvalidArgumentError, ShoalError } from '../core/index.ts';
import { eventHost, type SimEvent } from './events.ts';
import { EventQueue } from './queue.ts';
import { EventLimitError, RunBudget, RunLimitError, WallTimeoutError } from './run-limits.ts';

/** An error thrown by host code during the run, wrapped with where and when it happened. */
export class HostPanicError extends ShoalError {
  override readonly code = 'HOST_PANIC';
  constructor(readonly host: string, readonly timeMs: number, readonly seed: string, cause: unknown) {
    super(`host ${host} threw at t=${timeMs.toFixed(3)}ms (seed ${seed}): ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/**
 * How much one pass of the event loop runs: every event due within its bound (`all`), the
 * events of the next instant and those they schedule for it (`instant`), or one event.
 */
export type Scope = 'all' | 'instant' | 'one';

/**
 * Virtual time and the one event loop. Time only moves when the loop takes the next event
 * from the queue; what an event does is up to the dispatcher it was built with.
 */
export class Scheduler {
  /** Current simulated time in milliseconds. */
  nowMs = 0;
  /** Events processed so far. */
  eventCount = 0;
  private readonly queue = new EventQueue<SimEvent>();

  constructor(
    private readonly dispatch: (event: SimEvent) => void,
    private readonly seed: string,
    private readonly reproduce: string,
  ) {}

  get pending(): number {
    return this.queue.size;
  }

  /** When the next event is due; Infinity when none is queued. */
  get nextMs(): number {
    return this.queue.peekTimeMs();
  }

  schedule(event: SimEvent, timeMs: number): void {
    this.queue.push(event, timeMs);
  }

  /** Schedules `event` at `timeMs`, which must not be in the past. */
  at(timeMs: number, event: SimEvent): void {
    if (!(timeMs >= this.nowMs)) throw new InvalidArgumentError(`cannot schedule at ${timeMs} ms: now is ${this.nowMs} ms`);
    this.queue.push(event, timeMs);
  }

  /**
   * The event loop: runs, in order, the events due before `untilMs` (and at it unless
   * `exclusive`), as far as `scope` says, charging each to `budget` (none: unbounded).
   * Returns the events it ran. Host code that throws stops it with `HostPanicError`.
   */
  run(untilMs: number, exclusive: boolean, scope: Scope, budget: RunBudget | null): number {
    const queue = this.queue;
    if (scope === 'instant') {
      // The events of the first instant only: every later one is due after it.
      const firstMs = queue.peekTimeMs();
      if (!(firstMs < untilMs || (!exclusive && firstMs === untilMs))) return 0;
      untilMs = firstMs;
      exclusive = false;
    }
    const most = scope === 'one' ? 1 : Infinity;
    let ran = 0;
    let event: SimEvent | undefined;
    try {
      while (ran < most) {
        if (budget !== null) {
          // Charged only for an event that runs: a limit stops the run with the event still queued.
          if (!queue.hasDue(untilMs, exclusive)) break;
          this.charge(budget);
        }
        event = queue.popDue(untilMs, exclusive);
        if (event === undefined) break;
        this.nowMs = queue.takenMs;
        this.eventCount++;
        ran++;
        this.dispatch(event);
      }
    } catch (error) {
      if (error instanceof HostPanicError || error instanceof RunLimitError) throw error;
      throw new HostPanicError(event === undefined ? '(simulator)' : eventHost(event)?.name ?? '(simulator)', this.nowMs, this.seed, error);
    }
    return ran;
  }

  /** Moves the clock to `timeMs` once a run has reached it (never back). */
  advanceTo(timeMs: number): void {
    if (timeMs !== Infinity && timeMs > this.nowMs) this.nowMs = timeMs;
  }

  /** Charges one event to the run's budget; stops the run when a limit is reached. */
  private charge(budget: RunBudget): void {
    const exceeded = budget.charge();
    if (exceeded === 'events') throw new EventLimitError(`${budget.maxEvents} events`, this.seed, this.nowMs, this.reproduce);
    if (exceeded === 'wall') throw new WallTimeoutError(`its wall-clock budget of ${budget.wallTimeoutMs / 1_000} s`, this.seed, this.nowMs, this.reproduce);
  }
}
