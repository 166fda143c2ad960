import { runScenario } from '../../scenarios/runner.ts';
import { TraceComparison, describeDivergence } from '../../scenarios/trace-diff.ts';
import { TraceFileError, openTraceFile, type TraceFileReader } from '../../scenarios/trace-file.ts';
import { UsageError, exitCode, type Command } from '../cli.ts';
import { loadAppsOrUsage } from './run.ts';

export const command: Command = {
  summary: 'Re-runs a recorded trace (from `shoal run --trace`) from the scenario and seed it records, and checks that the run '
    + 'reproduces it event by event and by its hash. When it does not, it names the first divergent event: its position, '
    + 'virtual time, host and kind as recorded and as replayed, the fields that differ, and both entries. '
    + 'Reads the trace a line at a time (bounded memory). Exit 0 when it reproduces, 1 when it diverges, 2 when the trace cannot be read.',
  usage: 'shoal replay TRACE.jsonl [--json]',
  options: { json: { type: 'boolean' } },
  async run(values, positionals) {
    const file = positionals[0];
    if (file === undefined || positionals.length > 1) throw new UsageError('give one trace file');
    const trace = openOrUsage(file);
    try {
      // App modules resolve against the scenario file the trace was recorded from.
      const apps = await loadAppsOrUsage(trace.header.scenario, trace.header.source ?? file);
      const comparison = new TraceComparison(() => nextLineOrUsage(trace));
      const report = await runScenario(trace.header.scenario, { seed: trace.header.seed, apps, reproduce: `npx shoal replay ${file}`, traceSink: comparison.sink });
      const divergence = comparison.finish();
      const same = divergence === undefined && report.traceHash === trace.hash && report.events === trace.count;
      const hashes = `recorded ${trace.hash} (${trace.count} events), replayed ${report.traceHash} (${report.events} events)`;
      if (values.json) {
        console.log(JSON.stringify({
          trace: file, scenario: trace.header.scenario.name, seed: trace.header.seed, recordedHash: trace.hash, replayedHash: report.traceHash,
          reproduced: same, expectationsOk: report.ok,
          firstDivergence: divergence === undefined ? null : { ...divergence, recorded: divergence.recorded ?? null, replayed: divergence.replayed ?? null },
        }));
      } else if (same) {
        console.log(`reproduced ${trace.header.scenario.name} seed ${trace.header.seed}: trace hash ${report.traceHash} matches`);
      } else {
        const detail = divergence === undefined ? ['  every entry matches: the footer was altered, or written by another shoal'] : describeDivergence(divergence).map((l) => `  ${l}`);
        if (divergence !== undefined && trace.hash === report.traceHash) detail.unshift('  the replay matches the footer\'s hash, so the file\'s entries were changed after it was written:');
        console.log([`DIVERGED: ${hashes}`, ...detail].join('\n'));
      }
      return same ? exitCode.ok : exitCode.failed;
    } finally {
      trace.close();
    }
  },
};

function openOrUsage(file: string): TraceFileReader {
  try {
    return openTraceFile(file);
  } catch (error) {
    if (error instanceof TraceFileError) throw new UsageError(error.message);
    throw error;
  }
}

/** The next recorded line; a file that becomes unreadable mid-way is bad input, not a divergence. */
function nextLineOrUsage(trace: TraceFileReader): string | undefined {
  try {
    return trace.nextLine();
  } catch (error) {
    if (error instanceof TraceFileError) throw new UsageError(error.message);
    throw error;
  }
}
