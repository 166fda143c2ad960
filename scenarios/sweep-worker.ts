import { parentPort } from 'node:worker_threads';
import { loadScenarioFile } from './load.ts';
import { runScenario } from './runner.ts';

parentPort!.on('message', async ({ file, seed }: { file: string; seed: number }) => {
  try {
    const report = await runScenario(loadScenarioFile(file), { seed });
    parentPort!.postMessage({ seed, report });
  } catch (error) {
    parentPort!.postMessage({ seed, error: (error as Error).message });
  }
});
