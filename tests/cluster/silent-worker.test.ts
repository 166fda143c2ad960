import { describe, expect, it } from 'vitest';
import { TimerTable } from '../../core/index.ts';
import { Simulation } from '../../sim/index.ts';
import { rig, settle } from '../rpc/helpers.ts';

/**
 * Issue 12: under loss, a client's connection to a crashed worker spun at one simulated
 * instant until the run hit its event bound. The idle check found the peer silent for
 * 5999.999999999999 ms (< 6 000) and re-armed its deadline at lastHeard + 6 000, which
 * rounds to the very instant being handled: the deadline expired again, forever.
 */
describe('a connection to a worker that went silent', () => {
  // The instant the worker of `storm` seed 7 was last heard from (t - lastHeard and lastHeard + idle disagree).
  const lastHeardMs = 4765.147091490043;
  const idleTimeoutMs = 6_000;

  it('closes on its idle timeout at once, with a bounded number of events', async () => {
    expect(lastHeardMs + idleTimeoutMs - lastHeardMs).toBeLessThan(idleTimeoutMs);
    const r = rig({ seed: 1, sim: { network: { latency: { kind: 'constant', ms: 0 } } }, client: { limits: { idleTimeoutMs } } });
    await r.sim.runUntilAsync(lastHeardMs, { exclusive: true });
    const answered = await settle(r.sim, r.calc().add({ a: 1, b: 2 }), 1);
    expect(answered).toEqual({ ok: true, value: { sum: 3 } });
    expect(r.sim.nowMs).toBe(lastHeardMs);
    r.sim.at(lastHeardMs + 1, () => r.sim.crash('server'));

    const before = r.sim.eventCount;
    await r.sim.runUntilAsync(lastHeardMs + idleTimeoutMs + 1, { maxEvents: 1_000 });
    expect(r.sim.eventCount - before).toBeLessThan(100);
    expect(r.client().connectionInfo(r.serverAddress), 'closed by the RPC idle timeout, before the transport gives up').toBeUndefined();
  });
});

describe('a timer table', () => {
  it('expires a deadline re-armed at the reading it handles once more, after the clock moved on', () => {
    const sim = new Simulation({ seed: 1 });
    const lastHeardMs = 4765.147091490043;
    const expiries: number[] = [];
    let closedAtMs: number | undefined;
    sim.host('a', ({ clock }) => {
      // The idle check of an RPC session: the difference says "not yet", the sum re-arms for now.
      const table = new TimerTable<'idle'>(clock, (_key, now) => {
        expiries.push(now);
        if (now - lastHeardMs < 6_000) table.set('idle', lastHeardMs + 6_000);
        else closedAtMs = now;
      });
      table.set('idle', lastHeardMs + 6_000);
    });
    sim.runUntil(20_000, { maxEvents: 100 });
    expect(expiries).toHaveLength(2);
    expect(expiries[1]!).toBeGreaterThan(expiries[0]!);
    expect(closedAtMs! - (lastHeardMs + 6_000)).toBeLessThan(1e-6);
  });
});
