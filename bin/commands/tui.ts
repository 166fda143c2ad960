import { UsageError, checkOutputPath, exitCode, type Command } from '../cli.ts';
import { loadOrUsage } from './run.ts';

/**
 * `shoal tui`: the live dashboard, over a simulated cluster (the built-in one or a scenario
 * file) or attached to a real node's admin endpoint. It needs a terminal: with stdout or
 * stdin redirected it says so and exits with code 2 instead of drawing a broken screen.
 */
export const command: Command = {
  summary: 'Live terminal dashboard of a simulated SWIM cluster (or of a real node with --attach).',
  usage: 'shoal tui [--seed N] [--nodes N] [--speed 0.1|1|10|100|max] [--scenario FILE] [--save FILE] [--attach HOST:PORT]',
  options: {
    seed: { type: 'string' },
    nodes: { type: 'string' },
    speed: { type: 'string' },
    scenario: { type: 'string' },
    save: { type: 'string' },
    attach: { type: 'string' },
  },
  async run(values) {
    const seed = values.seed === undefined ? undefined : integer('--seed', values.seed as string, 0);
    const nodes = values.nodes === undefined ? 8 : integer('--nodes', values.nodes as string, 1);
    const speed = values.speed === undefined ? 1 : values.speed === 'max' ? Infinity : Number(values.speed);
    const { speeds } = await import('../../tui/sim-source.ts');
    const { demoNodesMax } = await import('../../tui/cluster.ts');
    if (!speeds.includes(speed)) throw new UsageError(`--speed must be one of 0.1, 1, 10, 100, max; got "${values.speed}"`);
    if (nodes > demoNodesMax) throw new UsageError(`--nodes must be at most ${demoNodesMax}`);
    if (values.attach !== undefined && (values.scenario !== undefined || values.seed !== undefined)) {
      throw new UsageError('--attach watches a real node: it takes no --scenario or --seed');
    }
    // Bad input is refused before the terminal is taken over, and whether or not there is one.
    if (typeof values.scenario === 'string') loadOrUsage(values.scenario);
    checkOutputPath('--save', values.save);
    if (!process.stdout.isTTY || !process.stdin.isTTY) {
      console.error('shoal tui: the dashboard needs an interactive terminal, but ' +
        `${!process.stdout.isTTY ? 'stdout' : 'stdin'} is not one (redirected or piped).\n` +
        'Run it in a terminal, or use `shoal run` for a printed report.');
      return exitCode.usage;
    }
    // React's development build checks every render; the dashboard runs the production one.
    process.env.NODE_ENV ??= 'production';
    // Ink draws only the final frame when it believes it runs under CI (the CI or
    // CONTINUOUS_INTEGRATION variable, read once when ink loads). We checked above that
    // both ends are a terminal, so a person is watching: draw live frames anyway.
    delete process.env.CI;
    delete process.env.CONTINUOUS_INTEGRATION;
    const { startDashboard } = await import('../../tui/main.tsx');
    return startDashboard({
      seed, nodes, speed,
      scenarioFile: values.scenario as string | undefined,
      savePath: values.save as string | undefined,
      attach: values.attach as string | undefined,
    });
  },
};

function integer(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${flag} must be an integer ≥ ${min}, got "${text}"`);
  return n;
}
