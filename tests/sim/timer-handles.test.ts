import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import { Simulation } from '../../sim/index.ts';

/**
 * Timer handles name one timer for as long as it is pending: once it fired, was cancelled
 * or died with its boot, its handle cancels nothing, whatever timer took its place since
 * (the simulator reuses the slots of finished timers).
 */
describe('simulated timer handles', () => {
  it('cancel only the pending timer they were given for, on its own host (a model over random sets, cancels, stale handles, crashes, skews and pauses)', () => {
    type Op =
      | { kind: 'set'; host: number; delay: number }
      | { kind: 'cancel'; host: number; pick: number }
      | { kind: 'run'; ms: number }
      | { kind: 'crash'; host: number }
      | { kind: 'skew'; host: number; ms: number }
      | { kind: 'pause' | 'resume'; host: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), host: fc.nat(2), delay: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ kind: fc.constant('cancel' as const), host: fc.nat(2), pick: fc.nat(1000) }),
      fc.record({ kind: fc.constant('run' as const), ms: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ kind: fc.constant('crash' as const), host: fc.nat(2) }),
      fc.record({ kind: fc.constant('skew' as const), host: fc.nat(2), ms: fc.integer({ min: 0, max: 40 }) }),
      // A paused host's due timers wait (the simulator holds their events) until it resumes.
      fc.record({ kind: fc.constantFrom('pause' as const, 'resume' as const), host: fc.nat(2) }),
    );
    // Long runs: the simulator reuses the events of timers that are done, so a timer set
    // late may live in the object of one that fired, was cancelled or died long before.
    fc.assert(fc.property(fc.array(op, { maxLength: 120, size: 'max' }), (ops) => {
      const sim = new Simulation({ seed: 9, trace: { capacity: 0 } });
      const names = ['h0', 'h1', 'h2'];
      const clocks: Clock[] = [];
      for (const [i, name] of names.entries()) sim.host(name, ({ clock }) => { clocks[i] = clock; });
      // Every handle ever given: which host set it, and whether the model holds it pending.
      const given: { host: number; handle: TimerHandle; label: number }[] = [];
      const pending = new Set<number>();
      const fired: number[] = [];
      const expectedFired: number[] = [];
      for (const o of ops) {
        if (o.kind === 'set') {
          const label = given.length;
          const handle = clocks[o.host]!.setTimer(o.delay, () => fired.push(label));
          given.push({ host: o.host, handle, label });
          pending.add(label);
        } else if (o.kind === 'cancel') {
          if (given.length === 0) continue;
          const g = given[o.pick % given.length]!;
          // Cancelled on its own host or on another (where it must do nothing).
          clocks[o.host]!.cancelTimer(g.handle);
          if (o.host === g.host) pending.delete(g.label);
        } else if (o.kind === 'run') {
          const before = fired.length;
          sim.runFor(o.ms);
          for (const label of fired.slice(before)) {
            expectedFired.push(label);
            pending.delete(label);
          }
        } else if (o.kind === 'crash') {
          sim.crash(names[o.host]!);
          sim.restart(names[o.host]!);
          for (const g of given) if (g.host === o.host) pending.delete(g.label);
        } else if (o.kind === 'skew') {
          sim.skewClock(names[o.host]!, o.ms);
        } else if (o.kind === 'pause') {
          sim.pause(names[o.host]!);
        } else {
          const before = fired.length;
          sim.resume(names[o.host]!);
          sim.runFor(0);
          for (const label of fired.slice(before)) {
            expectedFired.push(label);
            pending.delete(label);
          }
        }
      }
      for (const name of names) sim.resume(name);
      const before = fired.length;
      sim.runFor(1_000);
      // Only timers the model holds pending fire; every one of them does, once.
      expect(fired.slice(before).sort((a, b) => a - b)).toEqual([...pending].sort((a, b) => a - b));
      // And nothing fired earlier that the model had cancelled or seen die.
      expect(new Set(fired).size).toBe(fired.length);
      expect(fired.slice(0, before)).toEqual(expectedFired);
    }), { numRuns: 200 });
  });

  it('a handle still cancels its timer after the clock was skewed or set drifting (the timer re-timed), in the order they were set', () => {
    const sim = new Simulation({ seed: 4, trace: { capacity: 0 } });
    let clock: Clock | undefined;
    sim.host('a', (context) => { clock = context.clock; });
    const fired: string[] = [];
    const kept1 = clock!.setTimer(30, () => fired.push('kept1'));
    const cancelled = clock!.setTimer(30, () => fired.push('cancelled'));
    clock!.setTimer(30, () => fired.push('kept2'));
    sim.skewClock('a', 10);
    sim.driftClock('a', 500);
    clock!.cancelTimer(cancelled);
    sim.runFor(100);
    expect(fired).toEqual(['kept1', 'kept2']);
    // Fired: its handle names nothing now.
    clock!.cancelTimer(kept1);
    expect(sim.pendingEvents).toBe(0);
  });

  it('a boot that ended gets a handle that cancels nothing', () => {
    const sim = new Simulation({ seed: 3, trace: { capacity: 0 } });
    let old: Clock | undefined;
    const fired: string[] = [];
    sim.host('a', ({ clock }) => {
      if (old === undefined) old = clock;
      else clock.setTimer(10, () => fired.push('new'));
    });
    sim.crash('a');
    sim.restart('a');
    // The first boot's clock still answers, with a handle that names no timer.
    const stale = old!.setTimer(5, () => fired.push('old'));
    old!.cancelTimer(stale);
    sim.runFor(50);
    expect(fired).toEqual(['new']);
  });
});
