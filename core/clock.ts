/** An opaque timer handle, returned by `Clock.setTimer`. */
export type TimerHandle = number;

/**
 * Time as the protocols see it. In the simulator time moves only when the event queue
 * moves it; in real mode it is the process's monotonic clock.
 */
export interface Clock {
  /** Monotonic milliseconds since an arbitrary origin; never decreases. */
  now(): number;
  /**
   * Calls `fn` once, no earlier than `delayMs` from now. Never calls it synchronously.
   * `delayMs` must be finite and ≥ 0.
   */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
  /** Cancels a pending timer; cancelling a fired or unknown handle does nothing. */
  cancelTimer(handle: TimerHandle): void;
}
