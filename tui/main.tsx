import { render } from 'ink';
import { ConfigError, InvalidArgumentError } from '../core/errors.ts';
import { ScenarioError } from '../scenarios/load.ts';
import { HostPanicError } from '../sim/index.ts';
import { AttachSource } from './attach-source.ts';
import { App } from './app.tsx';
import { buildDashboardScenario, defaultScenario, readScenarioFile } from './cluster.ts';
import { ClusterModel } from './model.ts';
import { SimSource } from './sim-source.ts';
import type { DashboardSource } from './source.ts';

export interface DashboardOptions {
  seed?: number;
  nodes: number;
  speed: number;
  scenarioFile?: string;
  savePath?: string;
  attach?: string;
}

/** The terminal's alternate screen: the dashboard draws there and the shell's screen comes back on exit. */
const enterAlternateScreen = '\x1b[?1049h\x1b[H';
const leaveAlternateScreen = '\x1b[?1049l';

/** Builds the source, renders the app full screen, and resolves with the exit code once `q` is pressed. */
export async function startDashboard(options: DashboardOptions): Promise<number> {
  const model = new ClusterModel();
  let source: DashboardSource;
  try {
    source = options.attach !== undefined ? new AttachSource({ target: options.attach, model }) : await simSource(options, model);
  } catch (error) {
    // A scenario or app that cannot be loaded is bad input: one line, before the screen is taken.
    const cause = error instanceof HostPanicError ? error.cause : error;
    if (!(cause instanceof ScenarioError || cause instanceof InvalidArgumentError || cause instanceof ConfigError)) throw error;
    console.error(`shoal tui: ${cause.message}`);
    return 2;
  }
  process.stdout.write(enterAlternateScreen);
  const restore = () => process.stdout.write(leaveAlternateScreen);
  process.once('exit', restore);
  const instance = render(<App source={source} />, { exitOnCtrlC: true, patchConsole: true, maxFps: 20 });
  source.start();
  try {
    await instance.waitUntilExit();
  } finally {
    source.stop();
    instance.cleanup();
    restore();
    process.off('exit', restore);
  }
  return 0;
}

async function simSource(options: DashboardOptions, model: ClusterModel): Promise<DashboardSource> {
  const input = options.scenarioFile !== undefined ? await readScenarioFile(options.scenarioFile) : { base: defaultScenario(options.nodes, options.seed ?? 1) };
  const { base, built, run } = buildDashboardScenario(input, options.seed);
  const reproduce = options.scenarioFile !== undefined
    ? `npx shoal tui --scenario ${options.scenarioFile} --seed ${built.seed}`
    : `npx shoal tui --seed ${built.seed}${options.nodes !== 8 ? ` --nodes ${options.nodes}` : ''}`;
  return new SimSource({
    sim: built.sim, run, model, scenario: base, reproduce, speed: options.speed,
    ...(options.savePath === undefined ? {} : { savePath: options.savePath }),
  });
}
