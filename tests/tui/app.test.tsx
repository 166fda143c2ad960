import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { App, ClusterModel, type ActionName, type DashboardSource } from '../../tui/index.ts';
import { names, observer } from './helpers.ts';

/** A source that only records what the keys asked for; the test scripts the model. */
class ScriptedSource implements DashboardSource {
  readonly model = new ClusterModel();
  readonly calls: string[] = [];
  constructor(readonly capabilities: ReadonlySet<ActionName> = new Set(['pause', 'step', 'speed', 'crash', 'restart', 'partition', 'heal', 'pauseMember', 'loss', 'save'])) {}
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
    app.stdin.write(' .+-hlzwr');
    await tick();
    expect(source.calls).toEqual(['crash n3', 'partition n4,n5', 'pause', 'step', 'faster', 'slower', 'heal', 'loss', 'pauseMember n5', 'save', 'restart n5']);
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

  it('marks the actions a real node cannot perform as unavailable', () => {
    const source = new ScriptedSource(new Set());
    const app = render(<App source={source} columns={160} rows={40} />);
    expect(app.lastFrame()!).toContain('crash (unavailable)');
    expect(app.lastFrame()!).toContain('q quit');
    app.unmount();
  });
});
