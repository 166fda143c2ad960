import { parentPort } from 'node:worker_threads';
import { loadScenarioApps, type ScenarioApps } from './apps.ts';
import { loadScenarioFile } from './load.ts';
import { abortedRun } from './report.ts';
import { runScenario } from './runner.ts';
import type { Scenario } from './schema.ts';
import type { SweepAbort } from './sweep.ts';

/** The scenario and its apps, loaded once per file: every seed of a sweep runs the same modules. */
const loaded = new Map<string, Promise<{ scenario: Scenario; apps: ScenarioApps }>>();

function load(file: string): Promise<{ scenario: Scenario; apps: ScenarioApps }> {
  let entry = loaded.get(file);
  if (entry === undefined) {
    const scenario = loadScenarioFile(file);
    entry = loadScenarioApps(scenario, file).then((apps) => ({ scenario, apps }));
    loaded.set(file, entry);
  }
  return entry;
}

parentPort!.on('message', async ({ file, seed, maxEvents }: { file: string; seed: number; maxEvents: number | undefined }) => {
  try {
    const { scenario, apps } = await load(file);
    const report = await runScenario(scenario, { seed, maxEvents, apps });
    parentPort!.postMessage({ seed, report });
  } catch (error) {
    const stack = (error as Error)?.stack;
    const aborted: SweepAbort = { ...(abortedRun(error) ?? { kind: 'error', detail: (error as Error)?.message ?? String(error) }), ...(stack ? { stack } : {}) };
    parentPort!.postMessage({ seed, aborted });
  }
});
parentPort!.postMessage({ ready: true });
