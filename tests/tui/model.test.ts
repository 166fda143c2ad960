import { describe, expect, it } from 'vitest';
import { ClusterModel, RpcWindow, medianPhi, percentile, vote } from '../../tui/index.ts';
import { names, observer, view } from './helpers.ts';

describe('ClusterModel', () => {
  it('takes the majority state of the other observers, ties going to the more alarming state', () => {
    const all = names(4);
    const model = new ClusterModel();
    model.update({
      timeMs: 1_000,
      observers: [
        observer('n1', all, { n4: 'suspect' }),
        observer('n2', all, { n4: 'suspect' }),
        observer('n3', all),
        observer('n4', all),
      ],
    });
    const n4 = model.member('n4')!;
    expect(n4.state).toBe('suspect');
    expect([n4.agreeing, n4.voters]).toEqual([2, 3]);
    expect(model.member('n1')!.state).toBe('alive');
    expect(vote(['alive', 'dead'])).toEqual({ state: 'dead', agreeing: 1 });
    expect(vote([])).toEqual({ state: 'unknown', agreeing: 0 });
  });

  it('ignores the views of crashed observers and shows them down', () => {
    const all = names(3);
    const model = new ClusterModel();
    model.update({ timeMs: 0, observers: [observer('n1', all, { n3: 'dead' }), observer('n2', all, { n3: 'dead' }), { name: 'n3', condition: 'down' }] });
    const n3 = model.member('n3')!;
    expect(n3.state).toBe('dead');
    expect(n3.condition).toBe('down');
    expect(n3.localHealth).toBeUndefined();
  });

  it('sorts, filters by name, state and tag, and orders names naturally', () => {
    const all = names(12);
    const model = new ClusterModel();
    const tagged = observer('n1', all);
    model.update({
      timeMs: 0,
      observers: [{ ...tagged, view: tagged.view!.map((m) => (m.name === 'n10' ? { ...m, tags: { zone: 'b' }, phi: 9 } : m.name === 'n2' ? { ...m, state: 'suspect' as const, phi: 3 } : m)) }],
    });
    expect(model.members().map((r) => r.name).slice(0, 3)).toEqual(['n1', 'n2', 'n3']);
    expect(model.members().at(-1)!.name).toBe('n12');
    // Ascending (▲) puts the lowest phi and the calmest state first; descending (▼) the reverse.
    expect(model.members({ sort: 'phi' }).map((r) => r.name).slice(-2)).toEqual(['n2', 'n10']);
    expect(model.members({ sort: 'phi', descending: true }).map((r) => r.name).slice(0, 2)).toEqual(['n10', 'n2']);
    expect(model.members({ sort: 'state' }).at(-1)!.name).toBe('n2');
    expect(model.members({ sort: 'state', descending: true })[0]!.name).toBe('n2');
    expect(model.members({ filter: 'zone=b' }).map((r) => r.name)).toEqual(['n10']);
    expect(model.members({ filter: 'suspect' }).map((r) => r.name)).toEqual(['n2']);
    expect(model.members({ filter: 'n1' }).map((r) => r.name)).toEqual(['n1', 'n10', 'n11', 'n12']);
    expect(model.members({ sort: 'name', descending: true })[0]!.name).toBe('n12');
  });

  it('takes a member\'s phi as the median over the other observers, its own view left out', () => {
    const cases: [number[], number][] = [
      [[], 0],
      [[3], 3],
      [[1, 2, 40], 2],
      [[1, 2, 3, 40], 2.5],
      [[Infinity, Infinity, 1], Infinity],
      [[NaN, 4, 5], 4],
    ];
    for (const [values, median] of cases) expect(medianPhi(values), JSON.stringify(values)).toBe(median);
    const model = new ClusterModel();
    const phiHeldBy: Record<string, number> = { a: 100, b: 1, c: 2, d: 7 };
    model.update({ timeMs: 0, observers: ['a', 'b', 'c', 'd'].map((o) => ({ ...observer(o, []), view: [view('a', 'alive', { phi: phiHeldBy[o]! })] })) });
    // a's own 100 is not counted: the others hold 1, 2 and 7.
    expect(model.member('a')!.phi).toBe(2);
    expect(model.member('a')!.phiHistory).toEqual([2]);
  });

  it('keeps a bounded phi history with one sample per interval holding its highest phi', () => {
    const model = new ClusterModel({ phiHistoryMax: 5, phiSampleMs: 1_000 });
    for (let t = 0; t < 20_000; t += 500) {
      model.update({ timeMs: t, observers: [observer('a', ['a', 'b']), { ...observer('b', ['a', 'b']), view: [view('a', 'alive', { phi: t / 1000 }), view('b')] }] });
    }
    const history = model.member('a')!.phiHistory;
    expect(history).toHaveLength(5);
    // Each sample covers two updates (t and t + 500) and keeps the higher phi.
    expect(history).toEqual([15.5, 16.5, 17.5, 18.5, 19.5]);
  });

  it('bounds the event log and filters it by kind and text', () => {
    const model = new ClusterModel({ eventLogMax: 100 });
    for (let i = 0; i < 1_000; i++) model.pushEvent({ timeMs: i, kind: i % 2 ? 'suspect' : 'joined', member: `n${i}`, text: `event ${i}` });
    expect(model.events().length).toBeLessThanOrEqual(125);
    expect(model.events().at(-1)!.text).toBe('event 999');
    expect(model.events({ kind: 'suspect', limit: 3 }).map((e) => e.text)).toEqual(['event 995', 'event 997', 'event 999']);
    expect(model.events({ filter: 'EVENT 998' })).toHaveLength(1);
  });

  it('builds a full view matrix that shows disagreement, and summarises a large one', () => {
    const all = names(4);
    const model = new ClusterModel();
    model.update({ timeMs: 0, observers: [observer('n1', all, { n4: 'suspect' }), observer('n2', all, { n4: 'suspect' }), observer('n3', all), observer('n4', all)] });
    const full = model.matrix({ columnsMax: 10, rowsMax: 10 });
    expect(full.kind).toBe('full');
    expect(full.members).toEqual(all);
    expect(full.rows[0]!.cells).toEqual(['alive', 'alive', 'alive', 'suspect']);
    expect(full.disagreeingMembers).toBe(1);
    expect(full.rows.find((r) => r.observer === 'n3')!.disagreements).toBe(1);

    const many = names(200);
    model.update({ timeMs: 1, observers: many.map((n, i) => observer(n, many, i === 7 ? { n1: 'dead', n2: 'dead' } : {})) });
    const summary = model.matrix({ columnsMax: 40, rowsMax: 10 });
    expect(summary.kind).toBe('summary');
    expect(summary.rows).toHaveLength(10);
    expect(summary.hiddenRows).toBe(190);
    expect(summary.rows[0]!.observer).toBe('n8');
    expect(summary.rows[0]!.counts).toMatchObject({ alive: 198, dead: 2 });
    expect(summary.disagreeingMembers).toBe(2);
  });

  it('notifies subscribers once per commit, only when something changed', () => {
    const model = new ClusterModel();
    let calls = 0;
    const off = model.subscribe(() => calls++);
    model.commit();
    expect(calls).toBe(0);
    model.setStatus({ message: 'x' });
    model.pushEvent({ timeMs: 0, kind: 'info', text: 'y' });
    model.commit();
    expect(calls).toBe(1);
    off();
    model.setStatus({ message: 'z' });
    model.commit();
    expect(calls).toBe(1);
  });
  it('keeps each member\'s own reported app values on its row, only when it reported some', () => {
    const model = new ClusterModel();
    const all = names(3);
    model.update({ timeMs: 0, observers: all.map((n) => observer(n, all, {}, n === 'n3' ? { apps: {} } : { apps: { kv: { keys: n === 'n1' ? 1 : 2 } } })) });
    expect(model.member('n1')!.apps).toEqual({ kv: { keys: 1 } });
    expect(model.member('n2')!.apps).toEqual({ kv: { keys: 2 } });
    expect(model.member('n3')!.apps).toBeUndefined();
  });
});

describe('RpcWindow', () => {
  it('summarises calls in the window: rate, success ratio, percentiles, per worker', () => {
    const window = new RpcWindow({ windowMs: 10_000, callsMax: 1_000 });
    for (let i = 0; i < 100; i++) window.record({ atMs: 10_100 + i * 100, worker: i % 4 === 0 ? 'w1' : 'w2', ok: i % 10 !== 0, latencyMs: i + 1 });
    const s = window.summary(20_000)!;
    // 100 calls over the 9.9 s since the first one (the window is not full yet).
    expect(s.callsPerSec).toBeCloseTo(100 / 9.9, 5);
    expect(s.successRatio).toBeCloseTo(0.9, 5);
    expect(s.latencyMsP50).toBe(50);
    expect(s.latencyMsP99).toBe(99);
    expect(s.perWorker).toEqual({ w1: 25, w2: 75 });
    expect(window.summary(40_000)).toBeUndefined();
    expect(percentile([], 0.5)).toBe(0);
  });

  it('keeps at most callsMax calls', () => {
    const window = new RpcWindow({ callsMax: 100 });
    for (let i = 0; i < 10_000; i++) window.record({ atMs: i, worker: 'w', ok: true, latencyMs: 1 });
    expect(window.size).toBeLessThanOrEqual(125);
  });
});
