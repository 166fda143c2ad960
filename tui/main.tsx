import { render } from 'ink';
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
  const source = options.attach !== undefined ? new AttachSource({ target: options.attach, model }) : simSource(options, model);
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

function simSource(options: DashboardOptions, model: ClusterModel): DashboardSource {
  const input = options.scenarioFile !== undefined ? readScenarioFile(options.scenarioFile) : { base: defaultScenario(options.nodes, options.seed ?? 1) };
  const { base, built } = buildDashboardScenario(input, options.seed);
  const reproduce = options.scenarioFile !== undefined
    ? `npx shoal tui --scenario ${options.scenarioFile} --seed ${built.seed}`
    : `npx shoal tui --seed ${built.seed}${options.nodes !== 8 ? ` --nodes ${options.nodes}` : ''}`;
  return new SimSource({
    sim: built.sim, model, nodes: built.nodes, scenario: base, reproduce, speed: options.speed,
    readNode: (app) => (app as ReturnType<typeof built.membership>),
    ...(options.savePath === undefined ? {} : { savePath: options.savePath }),
  });
}
