import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { App, ClusterModel, type ActionName, type DashboardSource } from '../../tui/index.ts';
import { names, observer, view } from './helpers.ts';

/** A source that only records what the keys asked for; the test scripts the model. */
class ScriptedSource implements DashboardSource {
  readonly model = new ClusterModel();
  readonly calls: string[] = [];
  constructor(readonly capabilities: ReadonlySet<ActionName> = new Set(['pause', 'step', 'speed', 'crash', 'restart', 'partition', 'heal', 'pauseMember', 'loss', 'save', 'continue'])) {}
  start() {}
  stop() {}
  private call(text: string) {
    this.calls.push(text);
    return text;
  }
  togglePause() { return this.call('pause'); }
  step() { return Promise.resolve(this.call('step')); }
  faster() { return this.call('faster'); }
  slower() { return this.call('slower'); }
  crash(n: readonly string[]) { return this.call(`crash ${n.join(',')}`); }
  restart(n: readonly string[]) { return this.call(`restart ${n.join(',')}`); }
  partition(n: readonly string[]) { return this.call(`partition ${n.join(',')}`); }
  heal() { return this.call('heal'); }
  pauseMember(n: readonly string[]) { return this.call(`pauseMember ${n.join(',')}`); }
  addLoss() { return this.call('loss'); }
  save() { return this.call('save'); }
  continuePastEnd() { return this.call('continue'); }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 30));

function setup(count: number, rows = 40, columns = 160) {
  const source = new ScriptedSource();
  const all = names(count);
  source.model.setStatus({ seed: '7', reproduce: 'npx shoal tui --seed 7' });
  source.model.update({ timeMs: 12_500, observers: all.map((n) => observer(n, all)) });
  source.model.commit();
  const app = render(<App source={source} columns={columns} rows={rows} />);
  return { source, app, all };
}

describe('App', () => {
  it('shows members, the status line and a converged view matrix', () => {
    const { app } = setup(5);
    const frame = app.lastFrame()!;
    expect(frame).toContain('seed 7');
    expect(frame).toContain('t=12.5 s');
    expect(frame).toContain('5 members: 5 alive');
    expect(frame).toMatch(/n3\s+n3:7946\s+alive/);
    expect(frame).toContain('converged');
    expect(frame).toContain('AAAAA');
    app.unmount();
  });

  it('shows a suspicion, a failure and the disagreement after scripted events', async () => {
    const { source, app, all } = setup(5);
    source.model.update({ timeMs: 14_000, observers: all.map((n) => observer(n, all, n === 'n1' ? {} : { n3: 'suspect' })) });
    source.model.pushEvent({ timeMs: 14_000, kind: 'suspect', observer: 'n2', member: 'n3', text: 'n2: n3 suspect inc 0 (phi 4.2) by n2' });
    source.model.commit();
    await tick();
    let frame = app.lastFrame()!;
    expect(frame).toMatch(/n3\s+n3:7946\s+suspect\s+3\/4/);
    expect(frame).toContain('1 members disputed');
    expect(frame).toContain('n2: n3 suspect inc 0 (phi 4.2) by n2');
    source.model.update({ timeMs: 20_000, observers: all.map((n) => (n === 'n3' ? { name: n, condition: 'down' as const } : observer(n, all, { n3: 'dead' }))) });
    source.model.commit();
    await tick();
    frame = app.lastFrame()!;
    expect(frame).toMatch(/n3\s+n3:7946\s+dead\s+4\/4.*DOWN/);
    expect(frame).toContain('(DOWN)');
    expect(frame).toContain('converged');
    app.unmount();
  });

  it('sends keyboard actions to the selected or marked members', async () => {
    const { source, app } = setup(5);
    app.stdin.write('j');
    await tick();
    app.stdin.write('j');
    await tick();
    app.stdin.write('c');
    await tick();
    app.stdin.write('jm');
    await tick();
    app.stdin.write('jmp');
    await tick();
    app.stdin.write(' .+-hlzwrn');
    await tick();
    expect(source.calls).toEqual(['crash n3', 'partition n4,n5', 'pause', 'step', 'faster', 'slower', 'heal', 'loss', 'pauseMember n5', 'save', 'restart n5', 'continue']);
    app.unmount();
  });

  it('filters members and events, and sorts', async () => {
    const { source, app } = setup(12);
    source.model.pushEvent({ timeMs: 1, kind: 'joined', text: 'n1: n2 joined' });
    source.model.pushEvent({ timeMs: 2, kind: 'failed', text: 'n1: n9 failed' });
    source.model.commit();
    app.stdin.write('/n1');
    await tick();
    app.stdin.write('\r');
    await tick();
    let frame = app.lastFrame()!;
    expect(frame).toContain('Members 4/12');
    expect(frame).not.toMatch(/n5\s+n5:7946/);
    app.stdin.write('ff');
    await tick();
    frame = app.lastFrame()!;
    expect(frame).toContain('kind:updated');
    app.stdin.write('fff');
    await tick();
    frame = app.lastFrame()!;
    expect(frame).toContain('kind:failed');
    expect(frame).toContain('n1: n9 failed');
    expect(frame).not.toContain('n1: n2 joined');
    app.stdin.write('sS');
    await tick();
    expect(app.lastFrame()!).toContain('sort:state▼');
    app.unmount();
  });

  it('scrolls a 200-member table and summarises the view matrix', async () => {
    const { app } = setup(200, 50, 200);
    let frame = app.lastFrame()!;
    expect(frame).toContain('View matrix (summary)');
    expect(frame).toMatch(/\[1–\d+ of 200\]/);
    expect(frame).not.toMatch(/n150\s+n150:7946/);
    app.stdin.write('G');
    await tick();
    frame = app.lastFrame()!;
    expect(frame).toMatch(/n200\s+n200:7946/);
    expect(frame).toMatch(/of 200\]/);
    app.unmount();
  });

  it('shows each member\'s app values in the apps panel, following the cursor, and none without apps', async () => {
    const { source, app, all } = setup(5);
    expect(app.lastFrame()!).not.toContain('Apps ');
    const apps = (n: string) => (n === 'n4' ? {} : { apps: { kv: { keys: Number(n.slice(1)) * 2, leader: n === 'n1' }, counter: { ticks: 12 } } });
    source.model.update({ timeMs: 13_000, observers: all.map((n) => observer(n, all, {}, apps(n))) });
    source.model.commit();
    await tick();
    let frame = app.lastFrame()!;
    expect(frame).toContain('Apps  4 members reporting');
    expect(frame).toMatch(/n1 +kv keys=2 leader=true; counter ticks=12/);
    expect(frame).toMatch(/n5 +kv keys=10 leader=false; counter ticks=12/);
    expect(frame).not.toMatch(/n4 +kv/);
    // A crashed member keeps its last values (its line is dimmed).
    source.model.update({ timeMs: 14_000, observers: all.map((n) => (n === 'n2' ? { name: n, condition: 'down' as const, ...apps(n) } : observer(n, all, {}, apps(n)))) });
    source.model.commit();
    await tick();
    frame = app.lastFrame()!;
    expect(frame).toMatch(/n2 +kv keys=4 leader=false/);
    app.unmount();
  });

  it('shows as phi the median over the observers, not the worst one, and says so in the legend', async () => {
    const { source, app, all } = setup(5);
    // n3 as the others see it: phi 1, 2, 3 and 40 (one observer behind a bad link).
    const phiOfN3: Record<string, number> = { n1: 1, n2: 2, n4: 3, n5: 40 };
    source.model.update({
      timeMs: 13_000,
      observers: all.map((n) => ({ ...observer(n, all), view: all.map((m) => view(m, 'alive', { phi: m === 'n3' ? phiOfN3[n] ?? 0 : 0.5 })) })),
    });
    source.model.commit();
    await tick();
    const frame = app.lastFrame()!;
    expect(frame).toMatch(/n3\s+n3:7946\s+alive\s+4\/4\s+0\s+2\.5\s/);
    expect(frame).not.toMatch(/\b40\.0\b/);
    expect(frame).toMatch(/n1\s+n1:7946\s+alive\s+4\/4\s+0\s+0\.5\s/);
    expect(frame).toContain('phi: median over observers; bar: peak per second, full at 8');
    app.unmount();
  });

  it('sorts by phi ascending under ▲ and descending under ▼', async () => {
    const { source, app, all } = setup(5);
    const phiOf: Record<string, number> = { n1: 4, n2: 1, n3: 5, n4: 2, n5: 3 };
    source.model.update({ timeMs: 13_000, observers: all.map((n) => ({ ...observer(n, all), view: all.map((m) => view(m, 'alive', { phi: phiOf[m]! })) })) });
    source.model.commit();
    const order = () => app.lastFrame()!.split('\n').map((line) => /^[> ][ *](n\d+)\s+n\d+:7946/.exec(line)?.[1]).filter((n) => n !== undefined);
    app.stdin.write('ss');
    await tick();
    expect(app.lastFrame()!).toContain('sort:phi▲');
    expect(order()).toEqual(['n2', 'n4', 'n5', 'n1', 'n3']);
    app.stdin.write('S');
    await tick();
    expect(app.lastFrame()!).toContain('sort:phi▼');
    expect(order()).toEqual(['n3', 'n1', 'n5', 'n4', 'n2']);
    app.unmount();
  });

  it('shows the scenario\'s end, the ended state, and continues past it with n', async () => {
    const { source, app } = setup(5);
    source.model.setStatus({ endMs: 60_000, phase: 'before-end' });
    source.model.commit();
    await tick();
    expect(app.lastFrame()!).toContain('t=12.5 s / 60.0 s · ×1 · RUNNING');
    expect(app.lastFrame()!).toContain('n continue past end');
    source.model.setStatus({ timeMs: 60_000, phase: 'ended', message: 'scenario ended: PASS, 3/3 expectations passed · n continues past the end' });
    source.model.commit();
    await tick();
    let frame = app.lastFrame()!;
    expect(frame).toContain('t=60.0 s / 60.0 s · ×1 · SCENARIO ENDED');
    expect(frame).not.toContain('RUNNING');
    app.stdin.write('n');
    await tick();
    expect(source.calls).toEqual(['continue']);
    source.model.setStatus({ timeMs: 61_000, phase: 'past-end' });
    source.model.commit();
    await tick();
    frame = app.lastFrame()!;
    expect(frame).toContain('t=61.0 s / 60.0 s (past the end) · ×1 · RUNNING');
    app.unmount();
  });

  it('lists the expectations with their status while the run goes, then the verdict at the end', async () => {
    const { source, app } = setup(5);
    expect(app.lastFrame()!).not.toContain('Expectations');
    const results = [
      { name: 'every live member sees n3 failed within 10s of its crash', status: 'passed' as const, detail: 'crash at 3000 ms; all 4 live members saw it failed' },
      { name: 'no false failure', status: 'pending' as const, detail: 'so far: no running member was declared failed' },
      { name: 'views converge within 5s after 12s', status: 'failed' as const, detail: 'not converged by 17000 ms: n1 sees n2 as suspect' },
    ];
    source.model.setExpectations({ results, final: false, checkedAtMs: 9_000 });
    source.model.commit();
    await tick();
    let frame = app.lastFrame()!;
    expect(frame).toContain('Expectations  1 passed · 1 failed · 1 pending  (checked at t=9.0 s)');
    expect(frame).toMatch(/✓ passed +every live member sees n3 failed within 10s of its crash — crash at 3000 ms/);
    expect(frame).toMatch(/… pending +no false failure — so far: no running member was declared failed/);
    expect(frame).toMatch(/✗ FAILED +views converge within 5s after 12s — not converged by 17000 ms/);
    source.model.setExpectations({ results: [results[0]!, { ...results[1]!, status: 'passed', detail: 'no running member was declared failed' }, results[2]!], final: true, checkedAtMs: 18_000 });
    source.model.commit();
    await tick();
    frame = app.lastFrame()!;
    expect(frame).toContain('Expectations  verdict FAIL: 2/3 passed at the end (t=18.0 s)');
    expect(frame).not.toContain('pending');
    app.unmount();
  });

  it('marks the actions a real node cannot perform as unavailable', () => {
    const source = new ScriptedSource(new Set());
    const app = render(<App source={source} columns={160} rows={40} />);
    expect(app.lastFrame()!).toContain('crash (unavailable)');
    expect(app.lastFrame()!).toContain('q quit');
    app.unmount();
  });
});
