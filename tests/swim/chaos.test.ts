import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { world } from './helpers.ts';

const size = 8;
const names = Array.from({ length: size }, (_, i) => `n${i}`);
const chaosMs = 30_000;
/** After the heal, every member must see every other alive within this bound. */
const livenessBoundMs = 90_000;

type Fault =
  | { kind: 'crash'; host: number; atMs: number; downMs: number }
  | { kind: 'pause'; host: number; atMs: number; durationMs: number }
  | { kind: 'partition'; split: number; atMs: number; durationMs: number }
  | { kind: 'loss'; atMs: number; loss: number };

const fault: fc.Arbitrary<Fault> = fc.oneof(
  fc.record({ kind: fc.constant('crash' as const), host: fc.nat(size - 1), atMs: fc.nat(chaosMs), downMs: fc.integer({ min: 1000, max: 40_000 }) }),
  fc.record({ kind: fc.constant('pause' as const), host: fc.nat(size - 1), atMs: fc.nat(chaosMs), durationMs: fc.integer({ min: 100, max: 15_000 }) }),
  fc.record({ kind: fc.constant('partition' as const), split: fc.integer({ min: 1, max: size - 1 }), atMs: fc.nat(chaosMs), durationMs: fc.integer({ min: 1000, max: 30_000 }) }),
  fc.record({ kind: fc.constant('loss' as const), atMs: fc.nat(chaosMs), loss: fc.double({ min: 0, max: 0.3, noNaN: true }) }),
);

describe('SWIM chaos then liveness', () => {
  it('random fault schedules followed by a heal always converge within the bound', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.array(fault, { maxLength: 6 }), (seed, faults) => {
      const w = world(seed, size);
      const { sim } = w;
      for (const f of faults) {
        sim.at(f.atMs, () => {
          switch (f.kind) {
            case 'crash': {
              const host = names[f.host]!;
              sim.crash(host);
              sim.after(f.downMs, () => { if (!sim.isUp(host)) sim.restart(host); });
              return;
            }
            case 'pause': return sim.pauseFor(names[f.host]!, f.durationMs);
            case 'partition':
              sim.partition(names.slice(0, f.split), names.slice(f.split));
              sim.after(f.durationMs, () => sim.repair());
              return;
            case 'loss': return sim.setDefaultLink({ loss: f.loss });
          }
        });
      }
      sim.runUntil(chaosMs);
      // Liveness phase: heal everything and stop injecting faults.
      sim.repair();
      sim.setDefaultLink({ loss: 0 });
      for (const n of names) {
        if (!sim.isUp(n)) sim.restart(n);
        if (sim.isPaused(n)) sim.resume(n);
      }
      sim.runUntil(chaosMs + 45_000);
      const converged = () => names.every((n) => sim.isUp(n) && w.node(n).liveMembers === size);
      for (let t = chaosMs + 45_000; !converged() && t < chaosMs + 45_000 + livenessBoundMs; t += 1000) sim.runUntil(t);
      // Pending timers (pauses, restarts) scheduled during chaos may fire later: they are part of the schedule.
      const views = names.map((n) => `${n}:${sim.isUp(n) ? w.node(n).liveMembers : 'down'}`).join(' ');
      expect(converged(), `not converged: ${views}; faults ${JSON.stringify(faults)}; ${sim.reproduceHint('npx vitest run tests/swim/chaos.test.ts # seed')}`).toBe(true);
    }), { numRuns: 12, seed: 42 });
  });
});
