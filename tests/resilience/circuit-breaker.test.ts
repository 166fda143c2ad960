import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/index.ts';
import { CircuitBreaker, type CircuitState } from '../../core/resilience/index.ts';

function failTimes(breaker: CircuitBreaker, n: number, nowMs: number): void {
  for (let i = 0; i < n; i++) breaker.onFailure(breaker.tryAcquire(nowMs)!, nowMs);
}

describe('circuit breaker', () => {
  it('opens after N consecutive failures, and a success resets the count', () => {
    const breaker = new CircuitBreaker({ consecutiveFailuresMax: 3, failureRatioMax: 2 });
    failTimes(breaker, 2, 0);
    breaker.onSuccess(breaker.tryAcquire(0)!, 0);
    failTimes(breaker, 2, 0);
    expect(breaker.state(0)).toBe('closed');
    failTimes(breaker, 1, 0);
    expect(breaker.state(0)).toBe('open');
    expect(breaker.tryAcquire(1)).toBeUndefined();
  });

  it('opens on the failure ratio over the window once it holds enough calls', () => {
    const breaker = new CircuitBreaker({ consecutiveFailuresMax: 100, failureRatioMax: 0.5, windowCallsMin: 10, windowMs: 1_000 });
    // Alternate failure and success: never 2 failures in a row, but a 50 % ratio.
    for (let i = 0; i < 9; i++) {
      const permit = breaker.tryAcquire(i)!;
      if (i % 2 === 0) breaker.onFailure(permit, i);
      else breaker.onSuccess(permit, i);
    }
    expect(breaker.state(9)).toBe('closed');
    breaker.onSuccess(breaker.tryAcquire(9)!, 9);
    expect(breaker.state(10)).toBe('closed');
    breaker.onFailure(breaker.tryAcquire(10)!, 10);
    expect(breaker.state(10)).toBe('open');
  });

  it('forgets calls that slid out of the window', () => {
    const breaker = new CircuitBreaker({ consecutiveFailuresMax: 100, windowCallsMin: 4, windowMs: 1_000, windowBuckets: 10 });
    failTimes(breaker, 3, 0);
    breaker.onSuccess(breaker.tryAcquire(0)!, 0);
    expect(breaker.windowCounts(500)).toEqual({ successes: 1, failures: 3 });
    expect(breaker.windowCounts(1_000)).toEqual({ successes: 0, failures: 0 });
    failTimes(breaker, 1, 1_500);
    expect(breaker.state(1_500)).toBe('closed');
  });

  it('goes half-open after the cool-down, limits probes, closes on a probe success', () => {
    const transitions: string[] = [];
    const breaker = new CircuitBreaker({
      consecutiveFailuresMax: 1, openDurationMs: 100, halfOpenProbesMax: 2,
      onTransition: (from: CircuitState, to: CircuitState, at: number) => transitions.push(`${from}>${to}@${at}`),
    });
    failTimes(breaker, 1, 0);
    expect(breaker.retryAfterMs(40)).toBe(60);
    expect(breaker.tryAcquire(99)).toBeUndefined();
    const probe1 = breaker.tryAcquire(100);
    const probe2 = breaker.tryAcquire(100);
    expect(probe1).toBeDefined();
    expect(probe2).toBeDefined();
    expect(breaker.tryAcquire(100)).toBeUndefined();
    breaker.onCancel(probe2!);
    const probe3 = breaker.tryAcquire(101);
    expect(probe3).toBeDefined();
    breaker.onSuccess(probe1!, 110);
    expect(breaker.state(110)).toBe('closed');
    expect(breaker.tryAcquire(111)).toBeDefined();
    expect(transitions).toEqual(['closed>open@0', 'open>half-open@100', 'half-open>closed@110']);
  });

  it('a failed probe opens the circuit again for a new cool-down', () => {
    const breaker = new CircuitBreaker({ consecutiveFailuresMax: 1, openDurationMs: 100 });
    failTimes(breaker, 1, 0);
    breaker.onFailure(breaker.tryAcquire(150)!, 160);
    expect(breaker.state(200)).toBe('open');
    expect(breaker.retryAfterMs(200)).toBe(60);
    expect(breaker.state(260)).toBe('half-open');
  });

  it('late answers of calls sent before the circuit opened change nothing', () => {
    const breaker = new CircuitBreaker({ consecutiveFailuresMax: 1, openDurationMs: 100 });
    const stale = breaker.tryAcquire(0)!;
    failTimes(breaker, 1, 0);
    expect(breaker.state(100)).toBe('half-open');
    breaker.onSuccess(stale, 101);
    expect(breaker.state(101)).toBe('half-open');
    const probe = breaker.tryAcquire(101)!;
    breaker.onFailure(stale, 102);
    expect(breaker.state(102)).toBe('half-open');
    breaker.onSuccess(probe, 103);
    expect(breaker.state(103)).toBe('closed');
  });

  it('refuses bad options with a ConfigError naming the field', () => {
    expect(() => new CircuitBreaker({ consecutiveFailuresMax: 0 })).toThrow(/consecutiveFailuresMax/);
    expect(() => new CircuitBreaker({ openDurationMs: -1 })).toThrow(ConfigError);
    expect(() => new CircuitBreaker({ halfOpenProbesMax: 1.5 })).toThrow(ConfigError);
  });
});
