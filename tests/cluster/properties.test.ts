import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { startWorkload, type WorkloadRecord } from '../../sim/hosts/cluster.ts';
import { clusterRig } from './helpers.ts';

const WORKERS = 3;
const CHAOS_MS = 4_000;
const DEADLINE_MS = 500;
/** How far past its deadline a call may end: timers fire at the deadline, plus promise turns. */
const OVERRUN_MS_MAX = 5;

const fault = fc.record({
  atMs: fc.integer({ min: 0, max: CHAOS_MS - 500 }),
  kind: fc.constantFrom('crash', 'partition', 'slow'),
  worker: fc.integer({ min: 0, max: WORKERS - 1 }),
  durationMs: fc.integer({ min: 200, max: 2_000 }),
});

function ended(record: WorkloadRecord): number {
  return record.succeeded + Object.values(record.failed).reduce((a, b) => a + b, 0);
}

describe('cluster client under random fault schedules', () => {
  it('every call ends exactly once, within its deadline; after a heal the load spreads over all workers', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), fc.array(fault, { maxLength: 5 }), async (seed, faults) => {
      try {
        const { sim, node } = await clusterRig(seed, { workers: WORKERS });
        const t0 = sim.nowMs;
        for (const f of faults) {
          const name = `w${f.worker}`;
          sim.at(t0 + f.atMs, () => {
            if (!sim.isUp(name)) return;
            if (f.kind === 'crash') {
              sim.crash(name);
              sim.after(f.durationMs, () => { if (!sim.isUp(name)) sim.restart(name); });
            } else if (f.kind === 'partition') {
              sim.partition(['client'], [name]);
              sim.after(f.durationMs, () => sim.repair('client', name));
            } else {
              sim.setLink(name, 'client', { latency: { kind: 'constant', ms: 300 } });
              sim.after(f.durationMs, () => sim.setLink(name, 'client', { latency: { kind: 'constant', ms: 1 } }));
            }
          });
        }
        const chaos = startWorkload(sim, {
          clientHost: 'client', rate: 40, startMs: t0, stopMs: t0 + CHAOS_MS, deadlineMs: DEADLINE_MS, retries: 3,
          serviceTime: (random) => 2 + random.next() * 20, client: { attemptTimeoutMs: 150 },
        });
        await sim.runUntilAsync(t0 + CHAOS_MS + DEADLINE_MS + 100);
        expect(chaos.issued).toBeGreaterThan(0);
        expect(chaos.duplicated).toBe(0);
        expect(chaos.pendingAtEnd).toBe(0);
        expect(ended(chaos)).toBe(chaos.issued);
        expect(chaos.deadlineOverrunMsMax).toBeLessThanOrEqual(OVERRUN_MS_MAX);

        // Liveness: heal, wait for membership to see every worker, then load must reach all.
        sim.repair();
        for (let i = 0; i < WORKERS; i++) if (!sim.isUp(`w${i}`)) sim.restart(`w${i}`);
        const healed = await sim.runUntilConditionAsync(
          () => node('client').workers.pool().length === WORKERS && node('client').workers.pool().every((w) => w.circuit(sim.nowMs) !== 'open'),
          sim.nowMs + 30_000,
        );
        expect(healed, 'the client did not see every worker healthy within 30 s of the heal').toBe(true);
        const t1 = sim.nowMs;
        const calm = startWorkload(sim, { clientHost: 'client', rate: 40, startMs: t1, stopMs: t1 + 2_000, deadlineMs: DEADLINE_MS, strategy: 'round-robin' });
        await sim.runUntilAsync(t1 + 2_000 + DEADLINE_MS + 100);
        expect(calm.succeeded).toBe(calm.issued);
        for (let i = 0; i < WORKERS; i++) expect(calm.servedBy[`w${i}`] ?? 0, `w${i} got no work after the heal`).toBeGreaterThan(0);
      } catch (error) {
        if (error instanceof Error) error.message += `\nseed ${seed}, faults ${JSON.stringify(faults)}: reproduce with \`npx vitest run tests/cluster/properties.test.ts\` (fast-check prints the counterexample)`;
        throw error;
      }
    }), { numRuns: 8, seed: 424242 });
  }, 120_000);
});
