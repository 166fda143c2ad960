import { runScenario } from '../../scenarios/runner.ts';
import { TraceFileError, readTraceFile } from '../../scenarios/trace-file.ts';
import { UsageError, exitCode, type Command } from '../cli.ts';
import { loadAppsOrUsage } from './run.ts';

export const command: Command = {
  summary: 'Re-runs a recorded trace (from `shoal run --trace`) from the scenario and seed it records, and checks that the run reproduces the same trace hash. Exit 0 when it does, 1 when it diverges, 2 when the trace cannot be read.',
  usage: 'shoal replay TRACE.jsonl [--json]',
  options: { json: { type: 'boolean' } },
  async run(values, positionals) {
    const file = positionals[0];
    if (file === undefined || positionals.length > 1) throw new UsageError('give one trace file');
    let trace;
    try {
      trace = readTraceFile(file);
    } catch (error) {
      if (error instanceof TraceFileError) throw new UsageError(error.message);
      throw error;
    }
    // App modules resolve against the scenario file the trace was recorded from.
    const apps = await loadAppsOrUsage(trace.header.scenario, trace.header.source ?? file);
    const report = await runScenario(trace.header.scenario, { seed: trace.header.seed, apps, reproduce: `npx shoal replay ${file}` });
    const same = report.traceHash === trace.hash && report.events === trace.count;
    const result = { trace: file, scenario: trace.header.scenario.name, seed: trace.header.seed, recordedHash: trace.hash, replayedHash: report.traceHash, reproduced: same, expectationsOk: report.ok };
    if (values.json) console.log(JSON.stringify(result));
    else console.log(same ? `reproduced ${trace.header.scenario.name} seed ${trace.header.seed}: trace hash ${report.traceHash} matches` : `DIVERGED: recorded ${trace.hash} (${trace.count} events), replayed ${report.traceHash} (${report.events} events)`);
    return same ? exitCode.ok : exitCode.failed;
  },
};
