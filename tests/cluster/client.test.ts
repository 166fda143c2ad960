import { describe, expect } from 'vitest';
import { NoWorkerError, ShedError, WorkerLostError } from '../../core/cluster/index.ts';
import { RpcError } from '../../core/rpc/index.ts';
import { clusterRig, expectRpcError, settle, simTest, type Outcome } from './helpers.ts';

const test = simTest('tests/cluster/client.test.ts');

/** Settles every promise, running the simulation until all did. */
async function settleAll<T>(sim: Parameters<typeof settle>[0], promises: Promise<T>[], limitMs = 60_000): Promise<Outcome<T>[]> {
  return Promise.all(promises.map((p) => settle(sim, p, limitMs)));
}

describe('cluster client', () => {
  test('calls a worker and streams from one; spreads calls over the pool', 11, async (seed) => {
    const { sim, node } = await clusterRig(seed, { workers: 3 });
    const client = node('client').client({ strategy: 'round-robin' });
    const outcomes = await settleAll(sim, Array.from({ length: 9 }, (_, n) => client.call('compute', { n }, { deadlineMs: 1_000 })));
    const workers = outcomes.map((o) => (o.ok ? o.value.worker : 'failed'));
    expect(new Set(workers)).toEqual(new Set(['w0', 'w1', 'w2']));
    expect(outcomes.map((o) => (o.ok ? o.value.result : -1))).toEqual(Array.from({ length: 9 }, (_, n) => n * n));
    const tokens: number[] = [];
    const done = settle(sim, (async () => {
      for await (const token of client.stream('tokens', { count: 5, intervalMs: 10 }, { deadlineMs: 1_000 })) tokens.push(token.i);
    })());
    expect((await done).ok).toBe(true);
    expect(tokens).toEqual([0, 1, 2, 3, 4]);
    expect(client.stats).toMatchObject({ calls: 10, succeeded: 10, failed: 0 });
  });

  test('no worker matching the filter fails at once with NoWorkerError', 12, async (seed) => {
    const { sim, node } = await clusterRig(seed, { workers: 2 });
    const client = node('client').client();
    const before = sim.nowMs;
    const outcome = await settle(sim, client.call('compute', { n: 1 }, { deadlineMs: 1_000, filter: 'gpu=true' }));
    const error = expectRpcError(outcome, 'UNAVAILABLE');
    expect(error).toBeInstanceOf(NoWorkerError);
    expect(sim.nowMs).toBe(before);
  });

  test('idempotent calls fail over from a crashed worker; non-idempotent ones report the loss', 13, async (seed) => {
    const { sim, node } = await clusterRig(seed, { workers: 3 });
    const client = node('client').client({ strategy: 'round-robin' });
    const idempotent = Array.from({ length: 6 }, (_, n) => client.call('compute', { n, serviceMs: 300 }, { deadlineMs: 20_000, idempotent: true }));
    const once = Array.from({ length: 6 }, (_, n) => client.call('compute', { n, serviceMs: 300 }, { deadlineMs: 20_000 }));
    // Handled now: these may fail before the idempotent ones finish.
    for (const p of once) p.catch(() => undefined);
    sim.after(50, () => sim.crash('w0'));
    const results = await settleAll(sim, idempotent);
    for (const r of results) expect(r.ok, JSON.stringify(r)).toBe(true);
    expect(results.every((r) => r.ok && r.value.worker !== 'w0')).toBe(true);
    const onceResults = await settleAll(sim, once);
    const failed = onceResults.filter((r) => !r.ok).map((r) => (r as { error: RpcError }).error);
    expect(failed.length).toBeGreaterThan(0);
    for (const error of failed) expect(error.code).toBe('UNAVAILABLE');
    expect(failed.some((e) => e instanceof WorkerLostError || !e.unprocessed)).toBe(true);
    expect(client.registry.pool().map((w) => w.id)).toEqual(['w1', 'w2']);
  });

  test('calls end by their deadline when every worker is cut off', 14, async (seed) => {
    const { sim, node } = await clusterRig(seed, { workers: 2 });
    const client = node('client').client();
    sim.partition(['client'], ['w0', 'w1']);
    const started = sim.nowMs;
    const outcomes = await settleAll(sim, Array.from({ length: 5 }, (_, n) => client.call('compute', { n }, { deadlineMs: 300, idempotent: true })));
    for (const outcome of outcomes) expectRpcError(outcome, 'DEADLINE_EXCEEDED');
    expect(sim.nowMs - started).toBeLessThanOrEqual(300 + 5);
  });

  test('admission: a bounded queue in front of saturated workers, excess shed at once', 15, async (seed) => {
    const { sim, node } = await clusterRig(seed, { workers: 2 });
    const client = node('client').client({ inFlightPerWorkerMax: 1, admission: { capacity: 2, timeoutMs: 150 } });
    const calls = Array.from({ length: 8 }, (_, n) => client.call('compute', { n, serviceMs: 100 }, { deadlineMs: 5_000 }));
    expect(client.queued).toBe(2);
    const outcomes = await settleAll(sim, calls);
    const shed = outcomes.filter((o) => !o.ok);
    expect(outcomes.filter((o) => o.ok).length).toBe(4);
    expect(shed.length).toBe(4);
    for (const o of shed) expect((o as { error: unknown }).error).toBeInstanceOf(ShedError);
    // A queue timeout shorter than the service time ends the waiters with DEADLINE_EXCEEDED.
    const strict = node('client').client({ inFlightPerWorkerMax: 1, admission: { capacity: 4, timeoutMs: 20 } });
    const late = await settleAll(sim, Array.from({ length: 4 }, (_, n) => strict.call('compute', { n, serviceMs: 100 }, { deadlineMs: 5_000 })));
    expect(late.filter((o) => o.ok).length).toBe(2);
    for (const o of late.filter((x) => !x.ok)) expectRpcError(o, 'DEADLINE_EXCEEDED');
  });

  test('token bucket: calls beyond the rate are shed with RESOURCE_EXHAUSTED', 16, async (seed) => {
    const { sim, node } = await clusterRig(seed, { workers: 1 });
    const client = node('client').client({ rateLimit: { ratePerSec: 10, burst: 2 } });
    const outcomes = await settleAll(sim, Array.from({ length: 3 }, (_, n) => client.call('compute', { n }, { deadlineMs: 1_000 })));
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, false]);
    const error = expectRpcError(outcomes[2]!, 'RESOURCE_EXHAUSTED');
    expect(error).toBeInstanceOf(ShedError);
    await sim.runForAsync(100);
    expect((await settle(sim, client.call('compute', { n: 9 }, { deadlineMs: 1_000 }))).ok).toBe(true);
  });

  test('a worker the client cannot reach gets an open circuit and the others take the calls', 17, async (seed) => {
    const { sim, node } = await clusterRig(seed, { workers: 3 });
    const client = node('client').client({ strategy: 'round-robin', retriesMax: 3, attemptTimeoutMs: 200 });
    sim.partition(['client'], ['w0']);
    const outcomes: Outcome<{ worker: string }>[] = [];
    for (let n = 0; n < 24; n++) outcomes.push(await settle(sim, client.call('compute', { n }, { deadlineMs: 2_000, idempotent: true })));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const w0 = client.registry.worker('w0')!;
    // SWIM may still hold w0 alive (others reach it); the breaker is what keeps calls away.
    if (w0.live) expect(w0.circuit(sim.nowMs)).toBe('open');
    expect(outcomes.filter((o) => o.ok && o.value.worker === 'w0').length).toBe(0);
  });

  test('hedging: a second attempt after the delay answers for a slow worker', 18, async (seed) => {
    const { sim, node } = await clusterRig(seed, { workers: 2 });
    sim.setLink('w0', 'client', { latency: { kind: 'constant', ms: 400 } });
    const client = node('client').client({ strategy: 'round-robin', hedgeAfterMs: 30 });
    const started = sim.nowMs;
    const outcomes = await settleAll(sim, Array.from({ length: 4 }, (_, n) => client.call('compute', { n }, { deadlineMs: 2_000, idempotent: true })));
    expect(outcomes.every((o) => o.ok && o.value.worker === 'w1')).toBe(true);
    expect(client.stats.hedges).toBeGreaterThan(0);
    expect(sim.nowMs - started).toBeLessThan(400);
  });

  test('a server stream resumes on another worker after its worker crashes, losing and repeating nothing', 19, async (seed) => {
    const { sim, node } = await clusterRig(seed, { workers: 3 });
    const client = node('client').client();
    const tokens: { i: number; worker: string }[] = [];
    const done = settle(sim, (async () => {
      for await (const token of client.stream('tokens', { count: 40, intervalMs: 50 }, { deadlineMs: 30_000, idempotent: true, resume: (r, received) => ({ ...r, from: received }) })) {
        tokens.push(token);
        if (tokens.length === 10) sim.crash(token.worker);
      }
    })());
    expect((await done).ok).toBe(true);
    expect(tokens.map((t) => t.i)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(new Set(tokens.map((t) => t.worker)).size).toBeGreaterThan(1);
  });
});
