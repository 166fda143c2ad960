import { Writable } from 'node:stream';
import { render, renderToString } from 'ink';
import { createElement } from 'react';
import { App, ClusterModel, SimSource, fastBudgetMsDefault, buildDashboardScenario, defaultScenario, type ObserverSnapshot } from '../tui/index.ts';

export interface TuiBenchOptions {
  /** Members of the simulated cluster for the overhead runs. @default 8 */
  nodes?: number;
  /** Simulated time each overhead run covers. @default 300_000 */
  simulatedMs?: number;
  /** Members for the frame-time run. @default 200 */
  frameMembers?: number;
  /** Frames measured. @default 30 */
  frames?: number;
}

/** A terminal that swallows output (Ink renders as it would to a 200×50 TTY). */
function nullTerminal(): NodeJS.WriteStream {
  const stream = new Writable({ write: (_chunk, _encoding, done) => done() }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { columns: 200, rows: 50, isTTY: true });
  return stream;
}

type Mode = 'bare' | 'model' | 'rendered';

/**
 * Simulated seconds per wall second over the same run, three ways: the simulation alone
 * (in the same 50 ms chunks the dashboard uses), driven by the dashboard's source with its
 * model refreshed after every slice, and with the Ink app rendering too.
 */
async function overhead(mode: Mode, nodes: number, simulatedMs: number): Promise<number> {
  const { built, base } = buildDashboardScenario({ base: defaultScenario(nodes, 1) });
  const sim = built.sim;
  const start = performance.now();
  if (mode === 'bare') {
    while (sim.nowMs < simulatedMs) await sim.runForAsync(50);
  } else {
    const model = new ClusterModel();
    const source = new SimSource({ sim, model, nodes: built.nodes, scenario: base });
    const app = mode === 'rendered' ? render(createElement(App, { source }), { stdout: nullTerminal(), patchConsole: false, exitOnCtrlC: false, maxFps: 20 }) : undefined;
    // The source's "as fast as possible" slices, then a refresh.
    while (sim.nowMs < simulatedMs) {
      await source.advance(Infinity, fastBudgetMsDefault);
      // Give Ink's throttled render its turn, as the real event loop would.
      await new Promise((resolve) => setImmediate(resolve));
    }
    app?.unmount();
    source.stop();
  }
  return sim.nowMs / 1000 / ((performance.now() - start) / 1000);
}

/** Wall time of one model refresh and of one full frame (React render, layout, output) with `members` members all seeing each other. */
function frameTimes(members: number, frames: number): { refreshMs: number[]; renderMs: number[] } {
  const names = Array.from({ length: members }, (_, i) => `n${i + 1}`);
  const model = new ClusterModel();
  const source = { model, capabilities: new Set(), start() {}, stop() {} } as unknown as SimSource;
  const refreshMs: number[] = [];
  const renderMs: number[] = [];
  for (let f = 0; f < frames; f++) {
    const observers: ObserverSnapshot[] = names.map((name, i) => ({
      name, address: `${name}:7946`, condition: 'up', localHealth: 0,
      view: names.map((m, j) => ({ name: m, address: `${m}:7946`, state: (i + j + f) % 97 === 0 ? 'suspect' : 'alive', incarnation: 0, tags: { zone: 'a' }, phi: ((i * j + f) % 50) / 10, health: 'healthy', stateChangedAtMs: 0 })),
    }));
    const t0 = performance.now();
    model.update({ timeMs: f * 100, observers });
    model.commit();
    const t1 = performance.now();
    renderToString(createElement(App, { source, columns: 200, rows: 50 }), { columns: 200 });
    refreshMs.push(t1 - t0);
    renderMs.push(performance.now() - t1);
  }
  return { refreshMs, renderMs };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));

export async function runTuiBench(options: TuiBenchOptions = {}, runs = 3): Promise<Record<string, unknown>> {
  const nodes = options.nodes ?? 8;
  const simulatedMs = options.simulatedMs ?? 300_000;
  const results: Record<Mode, number[]> = { bare: [], model: [], rendered: [] };
  // One warm-up round so the JIT has compiled the simulator and the protocol before anything is timed.
  for (const mode of ['bare', 'model', 'rendered'] as const) await overhead(mode, nodes, Math.min(simulatedMs, 30_000));
  for (let r = 0; r < runs; r++) {
    for (const mode of ['bare', 'model', 'rendered'] as const) results[mode].push(await overhead(mode, nodes, simulatedMs));
  }
  const bare = median(results.bare);
  const model = median(results.model);
  const rendered = median(results.rendered);
  const frames = frameTimes(options.frameMembers ?? 200, options.frames ?? 30);
  return {
    bench: 'tui',
    nodes,
    simulatedMs,
    statistic: 'median',
    simulatedSecondsPerWallSecond: { bare: round(bare), model: round(model), rendered: round(rendered) },
    runs: { bare: results.bare.map((x) => round(x)), model: results.model.map((x) => round(x)), rendered: results.rendered.map((x) => round(x)) },
    /** The fraction of simulation speed the dashboard costs (0.05 = 5 % slower than the bare simulation). */
    overheadFraction: { model: round(1 - model / bare, 3), rendered: round(1 - rendered / bare, 3) },
    frame: {
      members: options.frameMembers ?? 200,
      refreshMsMedian: round(median(frames.refreshMs)),
      refreshMsP99: round(quantile(frames.refreshMs, 0.99)),
      renderMsMedian: round(median(frames.renderMs)),
      renderMsP99: round(quantile(frames.renderMs, 0.99)),
      frames: frames.renderMs.length,
    },
  };
}
