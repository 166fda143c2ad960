import { expect } from 'vitest';
import { DirectorClient } from '../../examples/director-worker/index.ts';
import { clusterRig, settle, simTest } from './helpers.ts';

const test = simTest('tests/cluster/example.test.ts');

test('director/worker: a worker killed mid-stream is replaced with no lost token; restarted, it gets work again', 21, async (seed) => {
  const { sim, node, workers } = await clusterRig(seed, { workers: 3 });
  const client = new DirectorClient(node('client').env, node('client').rpc, 'director:7946', { silenceMsMax: 300 });
  const tokens: { i: number; worker: string }[] = [];
  let killed = '';
  const streamed = await settle(sim, (async () => {
    for await (const token of client.tokens(30, 20)) {
      tokens.push(token);
      if (tokens.length === 10) {
        killed = token.worker;
        sim.crash(killed);
      }
    }
  })());
  expect(streamed.ok, JSON.stringify(streamed)).toBe(true);
  expect(tokens.map((t) => t.i)).toEqual(Array.from({ length: 30 }, (_, i) => i));
  expect(tokens.slice(10).every((t) => t.worker !== killed)).toBe(true);
  expect(client.failovers).toBeGreaterThan(0);

  // Unary calls keep working while the director still lists the dead worker.
  const during = await Promise.all(Array.from({ length: 6 }, (_, n) => settle(sim, client.compute(n))));
  expect(during.every((o) => o.ok)).toBe(true);

  // The director must first see the crash (SWIM detection), or "all workers in the pool" would hold before the restart.
  const detected = await sim.runUntilConditionAsync(() => node('director').workers.worker(killed)?.live === false, sim.nowMs + 30_000);
  expect(detected, `the director never saw ${killed} fail`).toBe(true);
  sim.restart(killed);
  const rejoined = await sim.runUntilConditionAsync(() => node('director').workers.pool().length === workers.length, sim.nowMs + 30_000);
  expect(rejoined, `the director did not see ${killed} again`).toBe(true);
  const after: string[] = [];
  for (let n = 0; n < 9; n++) {
    const outcome = await settle(sim, client.compute(n));
    if (outcome.ok) after.push(outcome.value.worker);
  }
  expect(after.length).toBe(9);
  expect(after).toContain(killed);

  // The app's reported values: one assignment per worker the client was given (a stream, 15
  // computes, and one more after each failover), and the director's pool as it is now.
  const reported = node('director').apps.reported.get('director-worker');
  expect(reported?.get('assignments')).toBe(1 + 6 + 9 + client.failovers);
  expect(reported?.get('workers')).toBe(workers.length);
  expect(node(killed).apps.reported.get('director-worker')?.get('started')).toBe(after.filter((w) => w === killed).length);
});
