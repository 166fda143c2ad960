import { exitCode, type Command } from '../cli.ts';
import { command as run, defaultScenarioFile } from './run.ts';

/** `npm start`: the default scenario, in the dashboard on a terminal, as a text report otherwise. */
export const command: Command = {
  summary: 'Runs the default scenario: opens the dashboard on a terminal, prints the report otherwise.',
  usage: 'shoal start [--seed N]',
  options: { seed: { type: 'string' } },
  async run(values) {
    if (process.stdout.isTTY && process.stdin.isTTY) {
      // The dashboard is optional at run time: without it, print the report.
      const tui = (await import('./tui.ts').catch(() => undefined)) as { command: Command } | undefined;
      if (tui !== undefined) return tui.command.run({ ...values, scenario: defaultScenarioFile }, []);
    }
    const code = await run.run(values, []);
    return code === exitCode.ok || code === exitCode.failed ? code : exitCode.usage;
  },
};
