import { InvalidArgumentError, ShoalError } from '../core/index.ts';

/** The default bound on events per `run*` call. */
export const maxEventsDefault = 200_000_000;

/**
 * Events between two readings of the wall clock while a run has a wall-clock budget. A
 * reading costs tens of nanoseconds and this many events take a few milliseconds, so the
 * check costs nothing measurable and a runaway stops within milliseconds of its budget.
 */
export const wallCheckEvents = 4_096;

/** The bounds of one `run*` call. They only ever stop a run: they never change what happens in it. */
export interface RunLimits {
  /** Stop with `EventLimitError` after this many events. @default 200_000_000 */
  maxEvents?: number;
  /**
   * Stop with `WallTimeoutError` once the call has taken this long in wall-clock time,
   * checked every `wallCheckEvents` events, so a livelock at one simulated instant is
   * stopped too. @default Infinity
   */
  wallTimeoutMs?: number;
}

/** A run stopped by one of its limits before its end: a livelock, or a limit set too low. */
export class RunLimitError extends ShoalError {
  override readonly code: string = 'RUN_LIMIT';
  constructor(
    /** What was exceeded, e.g. `200000000 events`. */
    readonly limit: string,
    readonly seed: string,
    /** Simulated time when the run stopped. */
    readonly timeMs: number,
    readonly reproduce: string,
  ) {
    super(`run exceeded ${limit} at t=${timeMs}ms; seed ${seed}: reproduce with \`${reproduce}\``);
  }
}

/** A run exceeded its event bound. */
export class EventLimitError extends RunLimitError {
  override readonly code: string = 'EVENT_LIMIT';
}

/** A run exceeded its wall-clock budget. */
export class WallTimeoutError extends RunLimitError {
  override readonly code: string = 'WALL_TIMEOUT';
}

/** What one `run*` call has spent against its limits. */
export class RunBudget {
  /** Events charged so far. */
  events = 0;
  readonly maxEvents: number;
  readonly wallTimeoutMs: number;
  private readonly wallDeadlineMs: number;

  constructor(limits: RunLimits) {
    this.maxEvents = limits.maxEvents ?? maxEventsDefault;
    this.wallTimeoutMs = limits.wallTimeoutMs ?? Infinity;
    if (!(this.maxEvents >= 0)) throw new InvalidArgumentError(`maxEvents must be ≥ 0, got ${this.maxEvents}`);
    if (!(this.wallTimeoutMs >= 0)) throw new InvalidArgumentError(`wallTimeoutMs must be ≥ 0, got ${this.wallTimeoutMs}`);
    this.wallDeadlineMs = performance.now() + this.wallTimeoutMs;
  }

  /** Charges one event about to run; names the limit it would exceed instead, if any. */
  charge(): 'events' | 'wall' | undefined {
    if (this.events >= this.maxEvents) return 'events';
    if (this.events % wallCheckEvents === 0 && this.wallTimeoutMs !== Infinity && performance.now() > this.wallDeadlineMs) return 'wall';
    this.events++;
    return undefined;
  }
}
