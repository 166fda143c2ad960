import { writeFileSync } from 'node:fs';
import { shrink, scenarioToYaml } from '../../scenarios/shrink.ts';
import { UsageError, exitCode, type Command } from '../cli.ts';
import { loadOrUsage, parseSeed } from './run.ts';

export const command: Command = {
  summary: 'Reduces a failing run to a smaller scenario that fails the same expectation (fewer faults, shorter, fewer nodes, no workload) and writes it out.',
  usage: 'shoal shrink FILE --seed N [--out SHRUNK.yaml] [--max-runs N]',
  options: { seed: { type: 'string' }, out: { type: 'string' }, 'max-runs': { type: 'string' } },
  async run(values, positionals) {
    const file = positionals[0];
    if (file === undefined) throw new UsageError('give a scenario file');
    const scenario = loadOrUsage(file);
    const seed = parseSeed(values.seed);
    if (seed === undefined) throw new UsageError('--seed is required: the seed of the failing run');
    const maxRuns = values['max-runs'] === undefined ? 200 : Number(values['max-runs']);
    if (!(Number.isSafeInteger(maxRuns) && maxRuns >= 1)) throw new UsageError('--max-runs must be a positive integer');
    let result;
    try {
      result = await shrink(scenario, seed, { maxRuns, onStep: (s) => console.error(`  ${s}`) });
    } catch (error) {
      console.error((error as Error).message);
      return exitCode.usage;
    }
    const out = (values.out as string | undefined) ?? file.replace(/(\.ya?ml)?$/, `.shrunk-${seed}.yaml`);
    writeFileSync(out, scenarioToYaml(result.scenario, `shrunk from ${file} seed ${seed} in ${result.runs} runs; still fails: ${result.failing.join('; ')}`));
    console.log(`wrote ${out}: ${result.steps.length} reductions in ${result.runs} runs; reproduce with npx shoal run ${out} --seed ${seed}`);
    return exitCode.ok;
  },
};
