import { InvalidArgumentError, type Clock, type TimerHandle } from '../core/index.ts';

export interface RealClockOptions {
  /**
   * Unref timers so a pending protocol timer never keeps the process alive on its own
   * (a node process stays up through its sockets; tests and tools exit when done).
   * @default true
   */
  unrefTimers?: boolean;
}

/**
 * The process's monotonic clock (`performance.now`), with timers on `setTimeout`.
 * Monotonic rather than wall time because the protocols measure intervals, and a wall
 * clock jumps under NTP adjustment.
 */
export class RealClock implements Clock {
  private readonly timers = new Map<TimerHandle, NodeJS.Timeout>();
  private nextHandle = 1;
  private readonly unrefTimers: boolean;

  constructor(options: RealClockOptions = {}) {
    this.unrefTimers = options.unrefTimers ?? true;
  }

  now(): number {
    return performance.now();
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    if (!Number.isFinite(delayMs) || delayMs < 0) throw new InvalidArgumentError(`timer delay must be finite and ≥ 0, got ${delayMs}`);
    const handle = this.nextHandle++;
    const timeout = setTimeout(() => {
      this.timers.delete(handle);
      fn();
    }, delayMs);
    if (this.unrefTimers) timeout.unref();
    this.timers.set(handle, timeout);
    return handle;
  }

  cancelTimer(handle: TimerHandle): void {
    const timeout = this.timers.get(handle);
    if (timeout === undefined) return;
    clearTimeout(timeout);
    this.timers.delete(handle);
  }

  /** Timers armed and not yet fired or cancelled. */
  get pendingTimerCount(): number {
    return this.timers.size;
  }

  /** Cancels every pending timer (shutdown). */
  cancelAll(): void {
    for (const timeout of this.timers.values()) clearTimeout(timeout);
    this.timers.clear();
  }
}
