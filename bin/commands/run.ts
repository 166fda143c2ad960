import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spaceTimeSvg } from '../../scenarios/diagram.ts';
import { loadScenarioFile, ScenarioError } from '../../scenarios/load.ts';
import { formatReport } from '../../scenarios/report.ts';
import { runScenario } from '../../scenarios/runner.ts';
import { timelineHtml } from '../../scenarios/timeline.ts';
import { openTraceWriter } from '../../scenarios/trace-file.ts';
import { UsageError, exitCode, type Command } from '../cli.ts';

/** The scenario `shoal run` (and `npm start`) runs when no file is given. */
export const defaultScenarioFile = fileURLToPath(new URL('../../scenarios/library/default.yaml', import.meta.url));

export function parseSeed(value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seed = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(seed)) throw new UsageError(`--seed must be a non-negative integer, got "${value}"`);
  return seed;
}

export function loadOrUsage(file: string) {
  try {
    return loadScenarioFile(file);
  } catch (error) {
    if (error instanceof ScenarioError) throw new UsageError(error.message);
    throw error;
  }
}

export const command: Command = {
  summary: 'Runs one scenario (default: scenarios/library/default.yaml) and prints a report. Exit 0 when every expectation holds, 1 when one fails, 2 on bad input.',
  usage: 'shoal run [FILE] [--seed N] [--mode sim|real] [--network auto|loopback|netns] [--json] [--trace OUT.jsonl] [--diagram OUT.svg] [--from MS --to MS] [--timeline OUT.html]',
  options: {
    seed: { type: 'string' }, mode: { type: 'string' }, network: { type: 'string' }, json: { type: 'boolean' }, trace: { type: 'string' },
    diagram: { type: 'string' }, timeline: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' },
  },
  async run(values, positionals) {
    if (positionals.length > 1) throw new UsageError('give one scenario file');
    const file = positionals[0] ?? defaultScenarioFile;
    const mode = (values.mode as string | undefined) ?? 'sim';
    if (mode !== 'sim' && mode !== 'real') throw new UsageError(`--mode must be sim or real, got "${mode}"`);
    const scenario = loadOrUsage(file);
    const seed = parseSeed(values.seed) ?? scenario.seed;
    const window = (name: 'from' | 'to') => {
      const v = values[name];
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a time in milliseconds`);
      return n;
    };
    const fromMs = window('from');
    const toMs = window('to');
    const reproduce = `npx shoal run ${positionals[0] ?? ''}${positionals[0] ? ' ' : ''}--seed ${seed}`.replace(/\s+/g, ' ');
    const network = (values.network as string | undefined) ?? 'auto';
    if (mode === 'real') {
      const { runScenarioReal, checkRealSupport, RealModeUnsupportedError, realNetworks } = await import('../../scenarios/real.ts');
      if (!(realNetworks as readonly string[]).includes(network)) throw new UsageError(`--network must be one of ${realNetworks.join(', ')}, got "${network}"`);
      const chosen = network as (typeof realNetworks)[number];
      try {
        checkRealSupport(scenario, chosen);
      } catch (error) {
        if (error instanceof RealModeUnsupportedError) throw new UsageError(error.message);
        throw error;
      }
      const report = await runScenarioReal(scenario, { seed, reproduce, network: chosen });
      console.log(values.json ? JSON.stringify(report) : formatReport(report));
      return report.ok ? exitCode.ok : exitCode.failed;
    }
    if (values.network !== undefined) throw new UsageError('--network chooses the real network: it needs --mode real');
    const writer = typeof values.trace === 'string' ? openTraceWriter(values.trace, { scenario, seed, source: file }) : undefined;
    const wantsEntries = values.diagram !== undefined || values.timeline !== undefined;
    const report = await runScenario(scenario, {
      seed, reproduce,
      ...(writer ? { traceSink: writer.sink } : {}),
      traceCapacity: wantsEntries ? 2_000_000 : 0,
      onFinished: (sim) => {
        const entries = wantsEntries ? sim.trace.entries() : [];
        if (typeof values.diagram === 'string') {
          const defaultTo = (fromMs ?? 0) + 5_000;
          writeFileSync(values.diagram, spaceTimeSvg(entries, { fromMs: fromMs ?? 0, toMs: toMs ?? defaultTo, title: `${scenario.name} seed ${seed}` }));
        }
        if (typeof values.timeline === 'string') writeFileSync(values.timeline, timelineHtml(entries, { title: `${scenario.name} seed ${seed}` }));
      },
    });
    if (writer) await writer.finish(report.traceHash, report.events);
    console.log(values.json ? JSON.stringify(report) : formatReport(report));
    return report.ok ? exitCode.ok : exitCode.failed;
  },
};
