import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, LimitExceededError } from '../../core/index.ts';
import {
  AdmissionQueue, Backoff, fullJitterDelayMs, QueueFullError, QueueTimeoutError, TokenBucket,
} from '../../core/resilience/index.ts';
import { SeededRandom } from '../../sim/index.ts';

describe('token bucket', () => {
  it('allows a burst, then exactly the configured rate', () => {
    const bucket = new TokenBucket({ ratePerSec: 100, burst: 10 }, 0);
    let taken = 0;
    while (bucket.tryTake(0)) taken++;
    expect(taken).toBe(10);
    // Over the next 10 s, one attempt per millisecond: only the refill passes.
    let passed = 0;
    for (let t = 1; t <= 10_000; t++) if (bucket.tryTake(t)) passed++;
    expect(passed).toBe(1_000);
  });

  it('says how long to wait, never refills beyond the burst, and refuses what the burst cannot hold', () => {
    const bucket = new TokenBucket({ ratePerSec: 10, burst: 2 }, 0);
    expect(bucket.tryTake(0, 2)).toBe(true);
    expect(bucket.waitMs(0)).toBe(100);
    expect(bucket.tryTake(50)).toBe(false);
    expect(bucket.tryTake(100)).toBe(true);
    expect(bucket.available(1_000_000)).toBe(2);
    expect(bucket.waitMs(1_000_000, 3)).toBe(Infinity);
    expect(bucket.tryTake(1_000_000, 3)).toBe(false);
    expect(bucket.available(1_000_000)).toBe(2);
  });

  it('a clock stepping backwards drains nothing', () => {
    const bucket = new TokenBucket({ ratePerSec: 1 }, 1_000);
    expect(bucket.available(500)).toBe(1);
  });

  it('refuses a zero rate', () => {
    expect(() => new TokenBucket({ ratePerSec: 0 }, 0)).toThrow(ConfigError);
  });
});

describe('backoff with full jitter', () => {
  it('stays within [0, min(max, base·2^retry)) and hands out exactly retriesMax delays', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 8 }), fc.string(),
      (baseMs, extraMs, retriesMax, seed) => {
        const maxMs = baseMs + extraMs;
        const backoff = new Backoff({ baseMs, maxMs, retriesMax });
        const random = new SeededRandom(seed);
        for (let retry = 0; retry < retriesMax; retry++) {
          const delay = backoff.nextDelayMs(random);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(Math.min(maxMs, baseMs * 2 ** retry));
        }
        expect(backoff.nextDelayMs(random)).toBeUndefined();
        expect(backoff.retries).toBe(retriesMax);
      }), { numRuns: 200 });
  });

  it('spreads delays over the whole interval (full jitter, not equal jitter)', () => {
    const random = new SeededRandom('spread');
    const delays = Array.from({ length: 2_000 }, () => fullJitterDelayMs(3, random, 10, 1_000));
    expect(Math.min(...delays)).toBeLessThan(4);
    expect(Math.max(...delays)).toBeGreaterThan(76);
    const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
    expect(Math.abs(mean - 40)).toBeLessThan(3);
  });

  it('caps the ceiling at maxMs even for huge retry numbers', () => {
    const random = new SeededRandom('cap');
    for (let i = 0; i < 100; i++) expect(fullJitterDelayMs(5_000, random, 10, 300)).toBeLessThan(300);
  });

  it('gives up when the delay would not end within the deadline budget', () => {
    const backoff = new Backoff({ baseMs: 1_000, maxMs: 1_000, retriesMax: 5 });
    expect(backoff.nextDelayMs(new SeededRandom('b'), 0)).toBeUndefined();
    expect(backoff.retries).toBe(0);
    backoff.nextDelayMs(new SeededRandom('b'));
    backoff.reset();
    expect(backoff.retries).toBe(0);
  });
});

describe('admission queue', () => {
  it('sheds at once beyond its capacity with QueueFullError', () => {
    const queue = new AdmissionQueue<string>({ capacity: 2, timeoutMs: 100 });
    queue.offer('a', 0);
    queue.offer('b', 0);
    let error: unknown;
    try {
      queue.offer('c', 0);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(QueueFullError);
    expect(error).toBeInstanceOf(LimitExceededError);
    expect((error as QueueFullError).code).toBe('QUEUE_FULL');
    expect(queue.size).toBe(2);
  });

  it('hands out waiters in FIFO order and expires the rest with QueueTimeoutError', () => {
    const queue = new AdmissionQueue<string>({ capacity: 10, timeoutMs: 100 });
    queue.offer('a', 0);
    queue.offer('b', 10, 50);
    queue.offer('c', 20);
    expect(queue.nextDeadlineMs()).toBe(50);
    expect(queue.take(30)).toBe('a');
    expect(queue.take(60)).toBe('c');
    const rejected: Array<[string, QueueTimeoutError]> = [];
    expect(queue.expire(60, (item, error) => rejected.push([item, error]))).toBe(1);
    expect(rejected[0]![0]).toBe('b');
    expect(rejected[0]![1]).toBeInstanceOf(QueueTimeoutError);
    expect(rejected[0]![1].waitedMs).toBe(50);
    expect(queue.size).toBe(0);
    expect(queue.nextDeadlineMs()).toBe(Infinity);
  });

  it('every waiter leaves exactly once, whatever the mix of offers, takes, removals and expiries', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('offer' as const), deadline: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }) }),
      fc.record({ kind: fc.constantFrom('take' as const, 'expire' as const, 'remove' as const) }),
    );
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), op), { maxLength: 80 }), (steps) => {
      const queue = new AdmissionQueue<number>({ capacity: 5, timeoutMs: 100 });
      const outcomes = new Map<number, string>();
      const end = (item: number, how: string) => {
        expect(outcomes.has(item), `item ${item} ended twice`).toBe(false);
        outcomes.set(item, how);
      };
      let nowMs = 0;
      let next = 0;
      const admitted: number[] = [];
      for (const [advanceMs, step] of steps) {
        nowMs += advanceMs;
        if (step.kind === 'offer') {
          const item = next++;
          try {
            queue.offer(item, nowMs, step.deadline === undefined ? undefined : nowMs + step.deadline);
            admitted.push(item);
          } catch (error) {
            expect(error).toBeInstanceOf(QueueFullError);
            end(item, 'full');
          }
        } else if (step.kind === 'take') {
          const item = queue.take(nowMs);
          if (item !== undefined) end(item, 'taken');
        } else if (step.kind === 'remove') {
          const item = admitted.find((a) => !outcomes.has(a));
          if (item !== undefined && queue.remove(item)) end(item, 'removed');
        } else {
          queue.expire(nowMs, (item) => end(item, 'expired'));
        }
        expect(queue.size).toBeLessThanOrEqual(5);
      }
      queue.expire(Infinity, (item) => end(item, 'expired'));
      expect(outcomes.size).toBe(next);
    }), { numRuns: 200 });
  });

  it('a waiter never waits longer than its timeout before expire can end it', () => {
    const queue = new AdmissionQueue<string>({ capacity: 1, timeoutMs: 100 });
    queue.offer('a', 0, 1_000);
    expect(queue.nextDeadlineMs()).toBe(100);
    expect(queue.take(100)).toBeUndefined();
  });

  it('refuses bad options', () => {
    expect(() => new AdmissionQueue({ capacity: -1 })).toThrow(ConfigError);
    expect(() => new AdmissionQueue({ timeoutMs: Number.NaN })).toThrow(ConfigError);
  });
});
