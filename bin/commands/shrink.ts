import { writeFileSync } from 'node:fs';
import { NothingToShrinkError, shrink, scenarioToYaml } from '../../scenarios/shrink.ts';
import { UsageError, checkOutputPath, exitCode, type Command } from '../cli.ts';
import { loadAppsOrUsage, loadOrUsage, parseSeed } from './run.ts';

export const command: Command = {
  summary: 'Reduces a failing run to a smaller scenario that fails the same expectation (fewer faults, shorter, fewer nodes, no workload) and writes it out. Exit 0 when it wrote one, 1 when the run aborted, 2 on bad input or a seed that does not fail.',
  usage: 'shoal shrink FILE --seed N [--out SHRUNK.yaml] [--max-runs N]',
  options: { seed: { type: 'string' }, out: { type: 'string' }, 'max-runs': { type: 'string' } },
  async run(values, positionals) {
    const file = positionals[0];
    if (file === undefined || positionals.length > 1) throw new UsageError('give one scenario file');
    const seed = parseSeed(values.seed);
    if (seed === undefined) throw new UsageError('--seed is required: the seed of the failing run');
    const maxRuns = values['max-runs'] === undefined ? 200 : Number(values['max-runs']);
    if (!(Number.isSafeInteger(maxRuns) && maxRuns >= 1)) throw new UsageError(`--max-runs must be a positive integer, got "${String(values['max-runs'])}"`);
    const out = (values.out as string | undefined) ?? file.replace(/(\.ya?ml)?$/, `.shrunk-${seed}.yaml`);
    checkOutputPath(values.out === undefined ? 'the output file' : '--out', out);
    const scenario = loadOrUsage(file);
    const apps = await loadAppsOrUsage(scenario, file);
    let result;
    try {
      result = await shrink(scenario, seed, { maxRuns, apps, onStep: (s) => console.error(`  ${s}`) });
    } catch (error) {
      if (error instanceof NothingToShrinkError) throw new UsageError(error.message);
      throw error;
    }
    writeFileSync(out, scenarioToYaml(result.scenario, `shrunk from ${file} seed ${seed} in ${result.runs} runs; still fails: ${result.failing.join('; ')}`));
    console.log(`wrote ${out}: ${result.steps.length} reductions in ${result.runs} runs; reproduce with npx shoal run ${out} --seed ${seed}`);
    return exitCode.ok;
  },
};
