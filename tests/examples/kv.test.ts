import { describe, expect, it } from 'vitest';
import { ConfigError, RpcError } from '../../core/public.ts';
import { SeededRandom, Simulation, buildAppCluster, type AppCluster } from '../../sim/public.ts';
import kv, { operation, workload } from '../../examples/kv/app.ts';
import { parseKvConfig, type KvMode } from '../../examples/kv/config.ts';
import { majority, replicasOf } from '../../examples/kv/placement.ts';
import { Replica } from '../../examples/kv/replica.ts';
import { keysMax } from '../../examples/kv/store.ts';
import { Kv, KvReplica } from '../../examples/kv/service.ts';
import { compareVersions } from '../../examples/kv/version.ts';

/**
 * The replicated store of examples/kv, driven in the simulator: five replicas n1..n5, a
 * coordinator-only member x (not in the replica list) and a caller c that sends every
 * operation to x (or to the member named). k0 lives on n5, n3 and n2.
 */
const replicas = ['n1', 'n2', 'n3', 'n4', 'n5'];
const clientDeadlineMs = 1_000;

type Outcome<T> = { ok: true; value: T } | { ok: false; error: RpcError };

interface Rig {
  sim: Simulation;
  cluster: AppCluster;
  put(key: string, value: string, via?: string): Promise<Outcome<{ node: string; version: { counter: number; writer: string } }>>;
  get(key: string, via?: string): Promise<Outcome<{ value: string | null; version: { counter: number; writer: string } | null }>>;
  /** Writes straight to one replica, as a coordinator that crashed after its first write would have. */
  writeOne(replica: string, key: string, value: string, counter: number): Promise<Outcome<unknown>>;
  caughtUp(name: string): boolean;
}

async function settle<T>(sim: Simulation, promise: Promise<T>, withinMs = 5_000): Promise<Outcome<T>> {
  let outcome: Outcome<T> | undefined;
  promise.then((value) => (outcome = { ok: true, value }), (error: RpcError) => (outcome = { ok: false, error }));
  await sim.runUntilConditionAsync(() => outcome !== undefined, sim.nowMs + withinMs);
  if (outcome === undefined) throw new Error(`no outcome within ${withinMs} ms`);
  return outcome;
}

async function rig(seed: number, mode: KvMode = 'abd'): Promise<Rig> {
  const sim = new Simulation({ seed });
  const cluster = buildAppCluster(sim, { nodes: [...replicas, 'x', 'c'], apps: [{ app: kv, config: { mode, replicas } }], swim: { preset: 'local' } });
  const caller = () => cluster.member('c')!.client;
  const caughtUp = (name: string) => cluster.reported(name, 'kv')?.get('waitingFor') === 0;
  const r: Rig = {
    sim, cluster, caughtUp,
    put: (key, value, via = 'x') => settle(sim, caller().service(Kv, sim.address(via)).put({ key, value }, { timeoutMs: clientDeadlineMs })),
    get: (key, via = 'x') => settle(sim, caller().service(Kv, sim.address(via)).get({ key }, { timeoutMs: clientDeadlineMs })),
    writeOne: (replica, key, value, counter) => settle(sim, caller().service(KvReplica, sim.address(replica))
      .write({ key, value, version: { counter, writer: 'ghost/0' } }, { timeoutMs: clientDeadlineMs })),
  };
  const joined = () => ['x', 'c', ...replicas].every((n) => cluster.member(n)?.swim.liveMembers === replicas.length + 2);
  const ready = await sim.runUntilConditionAsync(() => joined() && replicas.every(caughtUp), 10_000);
  if (!ready) throw new Error('the cluster did not form within 10 s');
  return r;
}

function value<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) throw new Error(`expected success, got ${outcome.error.code}: ${outcome.error.message}`);
  return outcome.value;
}

describe('examples/kv: placement', () => {
  it.each([
    ['k0', ['n5', 'n3', 'n2']],
    ['k1', ['n2', 'n3', 'n1']],
    ['k2', ['n2', 'n1', 'n4']],
  ])('places %s on %j', (key, expected) => {
    expect(replicasOf(key, replicas, 3)).toEqual(expected);
    expect(replicasOf(key, [...replicas].reverse(), 3), 'the list order does not matter').toEqual(expected);
  });

  it('spreads keys evenly and moves only the keys of a replica that leaves the list', () => {
    const keys = Array.from({ length: 3_000 }, (_, i) => `key${i}`);
    const owned = new Map<string, number>();
    for (const key of keys) for (const r of replicasOf(key, replicas, 3)) owned.set(r, (owned.get(r) ?? 0) + 1);
    // Each replica holds 3/5 of the keys: 1 800, within 5 %.
    for (const r of replicas) expect(Math.abs(owned.get(r)! - 1_800), r).toBeLessThan(90);
    const without = replicas.filter((r) => r !== 'n4');
    for (const key of keys) {
      const before = replicasOf(key, replicas, 3);
      if (!before.includes('n4')) expect(replicasOf(key, without, 3), key).toEqual(before);
    }
  });

  it.each([[1, 1], [3, 2], [5, 3]])('a quorum of %i copies is %i', (copies, needed) => {
    expect(majority(copies)).toBe(needed);
  });
});

describe('examples/kv: configuration', () => {
  it('completes a configuration with its defaults', () => {
    expect(parseKvConfig({ replicas })).toEqual({ mode: 'abd', replicas, copies: 3, replicaTimeoutMs: 300, catchUpRetryMs: 500 });
  });

  it.each([
    [{ replicas, mod: 'fast' }, /mod: unknown field/],
    [{ replicas, mode: 'fastest' }, /mode: must be abd or fast/],
    [{}, /replicas: must list/],
    [{ replicas: ['n1', 'n1', 'n2'] }, /lists n1 twice/],
    [{ replicas: ['n1', 'n2'] }, /copies: must be an integer from 1 to 2, got 3/],
    [{ replicas, replicaTimeoutMs: 0 }, /replicaTimeoutMs/],
  ])('refuses %j', (raw, message) => {
    expect(() => parseKvConfig(raw)).toThrow(ConfigError);
    expect(() => parseKvConfig(raw)).toThrow(message);
  });
});

describe('examples/kv: a replica refuses what it must not store', () => {
  const config = parseKvConfig({ replicas });
  const version = { counter: 1, writer: 'x/0' };

  it.each([
    ['a key it does not replicate', () => new Replica('n1', config).write({ key: 'k0', version, value: 'a' }), 'FAILED_PRECONDITION'],
    ['a key of 65 characters', () => new Replica('n1', config).read('k'.repeat(65)), 'INVALID_ARGUMENT'],
    ['a version without a writer', () => new Replica('n2', config).write({ key: 'k0', version: { counter: 1 } as never, value: 'a' }), 'INVALID_ARGUMENT'],
    ['a value of 513 characters', () => new Replica('n2', config).write({ key: 'k0', version, value: 'a'.repeat(513) }), 'INVALID_ARGUMENT'],
    ['a catch-up for a member not in the list', () => new Replica('n2', config).entriesFor('x'), 'INVALID_ARGUMENT'],
    ['a read before its peers have answered', () => new Replica('n2', config).read('k0'), 'UNAVAILABLE'],
  ])('refuses %s', (_name, act, code) => {
    expect(act).toThrow(expect.objectContaining({ code }));
  });

  it('keeps the newest version whatever order writes arrive in, and is not caught up from a peer whose entries did not fit', () => {
    const replica = new Replica('n2', config);
    replica.write({ key: 'k0', version: { counter: 2, writer: 'x/0' }, value: 'new' });
    replica.write({ key: 'k0', version: { counter: 1, writer: 'y/0' }, value: 'old' });
    replica.merge('n3', [{ key: 'k0', version: { counter: 1, writer: 'z/0' }, value: 'older' }, { bogus: true }]);
    replica.merge('n5', []);
    expect(replica.read('k0')).toEqual({ version: { counter: 2, writer: 'x/0' }, value: 'new' });

    const full = new Replica('n2', { ...config, copies: 5 });
    const entries = Array.from({ length: keysMax + 1 }, (_, i) => ({ key: `key${i}`, version, value: 'v' }));
    expect(full.merge('n1', entries)).toBe(false);
    expect(full.waitingFor).toContain('n1');
  });
});

describe('examples/kv: history mapping', () => {
  it.each([
    [{ method: 'kv.v1/put', request: { key: 'k1', value: 'v3' } }, { f: 'write', key: 'k1', value: 'v3' }],
    [{ method: 'kv.v1/put', request: { key: 'k1', value: 'v3' }, response: { node: 'n1', version: { counter: 1, writer: 'n1/0' } } }, { f: 'write', key: 'k1', value: 'v3' }],
    [{ method: 'kv.v1/get', request: { key: 'k1' } }, { f: 'read', key: 'k1', value: null }],
    [{ method: 'kv.v1/get', request: { key: 'k1' }, response: { node: 'n1', value: 'v3', version: null } }, { f: 'read', key: 'k1', value: 'v3' }],
    [{ method: 'kv.v1/get', request: { key: 'k1' }, response: { node: 'n1', value: null, version: null } }, { f: 'read', key: 'k1', value: null }],
    [{ method: 'kv.replica.v1/read', request: { key: 'k1' } }, undefined],
  ])('%j is %j', (call, expected) => {
    expect(operation(call)).toEqual(expected);
  });

  it('makes puts of unique values and gets, on three keys', () => {
    const random = new SeededRandom('kv-workload');
    const items = Array.from({ length: 400 }, (_, i) => workload(random, i));
    const puts = items.filter((item) => item.method === 'kv.v1/put');
    expect(new Set(items.map((item) => item.request.key))).toEqual(new Set(['k0', 'k1', 'k2']));
    expect(puts.length).toBeGreaterThan(150);
    expect(puts.length).toBeLessThan(250);
    expect(new Set(puts.map((p) => (p.request as { value: string }).value)).size).toBe(puts.length);
  });
});

describe('examples/kv: quorums in the simulator', () => {
  it('reads on one member what a put on another wrote, at a newer version each time', async () => {
    const { put, get } = await rig(1);
    const first = value(await put('k0', 'a'));
    const second = value(await put('k0', 'b', 'n1'));
    expect(compareVersions(second.version, first.version)).toBeGreaterThan(0);
    expect(first.version.writer).toMatch(/^x\//);
    expect(value(await get('k0', 'n4')).value).toBe('b');
    expect(value(await get('k9')).value).toBeNull();
  });

  it('gives two puts that one coordinator runs at once different versions', async () => {
    const { sim, cluster, get } = await rig(2);
    const client = () => cluster.member('c')!.client.service(Kv, sim.address('x'));
    const both = await settle(sim, Promise.all([client().put({ key: 'k1', value: 'p' }, { timeoutMs: 1_000 }), client().put({ key: 'k1', value: 'q' }, { timeoutMs: 1_000 })]));
    const [p, q] = value(both);
    expect(compareVersions(p.version, q.version)).not.toBe(0);
    expect(value(await get('k1')).value).toBe(compareVersions(p.version, q.version) > 0 ? 'p' : 'q');
  });

  it('serves a key with one of its replicas down, and fails UNAVAILABLE within its deadlines with two', async () => {
    const { sim, put, get } = await rig(3);
    sim.crash('n5');
    expect(value(await put('k0', 'one-down')).version.counter).toBe(1);
    expect(value(await get('k0')).value).toBe('one-down');
    sim.crash('n3');
    const startedAtMs = sim.nowMs;
    const failed = await put('k0', 'two-down');
    expect(failed.ok).toBe(false);
    expect(!failed.ok && failed.error.code).toBe('UNAVAILABLE');
    expect(!failed.ok && failed.error.message).toMatch(/put k0: 1 of 3 replicas answered, 2 needed/);
    expect(sim.nowMs - startedAtMs).toBeLessThanOrEqual(clientDeadlineMs);
    expect((await get('k1')).ok, 'k1 (n2, n3, n1) still has a majority').toBe(true);
  });
});

describe('examples/kv: reads never go back in time in abd mode', () => {
  // A put whose coordinator crashed after its first write left `ghost` on n5 alone. A get
  // that sees n5 returns it; a later get that reads n3 and n2 must not return the older value.
  async function readTwice(mode: KvMode): Promise<(string | null)[]> {
    const { sim, put, get, writeOne } = await rig(4, mode);
    value(await put('k0', 'old'));
    value(await writeOne('n5', 'k0', 'ghost', 1_000));
    sim.partition(['x'], ['n2']);
    const first = value(await get('k0')).value;
    sim.repair();
    sim.partition(['x'], ['n5']);
    const second = value(await get('k0')).value;
    return [first, second];
  }

  it('abd: a read writes back what it returns, so the next read returns it too', async () => {
    expect(await readTwice('abd')).toEqual(['ghost', 'ghost']);
  });

  it('fast (control): without the write-back the next read returns the older value', async () => {
    expect(await readTwice('fast')).toEqual(['ghost', 'old']);
  });
});

describe('examples/kv: a replica restarted empty', () => {
  it('answers no read until it has caught up from every other replica of the key', async () => {
    const { sim, cluster, put, get, caughtUp } = await rig(5);
    // `v1` lands on n5 and n3 only; then n5 forgets it, and n3 is cut off before n5 can ask it.
    sim.partition(['x'], ['n2']);
    value(await put('k0', 'v1'));
    sim.repair();
    sim.crash('n5');
    sim.restart('n5');
    sim.isolate('n3');
    await sim.runForAsync(2_000);
    expect(cluster.reported('n5', 'kv')?.get('waitingFor')).toBe(1);
    const blocked = await get('k0');
    expect(blocked.ok ? blocked.value : blocked.error.code, 'n5 and n2 alone would answer null').toBe('UNAVAILABLE');
    sim.repair();
    expect(await sim.runUntilConditionAsync(() => caughtUp('n5'), sim.nowMs + 5_000)).toBe(true);
    expect(cluster.reported('n5', 'kv')?.get('keys')).toBe(1);
    sim.isolate('n3');
    expect(value(await get('k0')).value).toBe('v1');
  });
});
