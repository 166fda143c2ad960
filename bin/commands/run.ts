import { writeFileSync } from 'node:fs';
import { spaceTimeSvg } from '../../scenarios/diagram.ts';
import { faultBands } from '../../scenarios/report/faults.ts';
import { MessageLabels } from '../../scenarios/report/message-kind.ts';
import { reportWindow, runReportHtml, type RunReportInput } from '../../scenarios/report/run-report.ts';
import { chosenWindow } from '../../scenarios/report/window.ts';
import { parseDurationMs } from '../../scenarios/duration.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import { AppModuleError, loadScenarioApps, type ScenarioApps } from '../../scenarios/apps.ts';
import { checkScenarioDeterminism, formatDeterminism } from '../../scenarios/determinism.ts';
import { loadScenarioFile, ScenarioError } from '../../scenarios/load.ts';
import { writeHistoryFile } from '../../scenarios/history.ts';
import { abortedRun, formatAbortedRun, formatReport } from '../../scenarios/report.ts';
import { runScenario } from '../../scenarios/runner.ts';
import { timelineHtml } from '../../scenarios/timeline.ts';
import { openTraceWriter } from '../../scenarios/trace-file.ts';
import { packageFile } from '../../net-real/package-files.ts';
import type { Scenario } from '../../scenarios/schema.ts';
import { HostPanicError, type TraceEntry } from '../../sim/index.ts';
import { UsageError, checkOutputPath, exitCode, printStackIfDebug, type Command } from '../cli.ts';

/** The scenario `shoal run` (and `npm start`) runs when no file is given. */
export const defaultScenarioFile = packageFile('scenarios', 'library', 'default.yaml');

export function parseSeed(value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seed = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(seed)) throw new UsageError(`--seed must be a non-negative integer, got "${value}"`);
  return seed;
}

type Values = Record<string, string | boolean | undefined>;

/** `--max-events N` (`1000000` or `1_000_000`): a positive integer, or undefined when not given. */
export function parseMaxEvents(value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^\d[\d_]*$/.test(value) ? Number(value.replace(/_/g, '')) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--max-events must be a positive integer, got "${value}"`);
  return n;
}

/** `--timeout DURATION` (`30s`, `2m`, `500ms`): wall-clock ms, or undefined when not given. */
export function parseTimeout(value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = typeof value === 'string' ? parseDurationMs(value) : undefined;
  if (ms === undefined || !(ms > 0)) throw new UsageError(`--timeout must be a wall-clock duration such as 30s, 2m or 500ms, got "${value}"`);
  return ms;
}

/** The limit flags as given, for reproduce commands. */
export function limitFlags(values: Values): string {
  return ['max-events', 'timeout'].filter((name) => typeof values[name] === 'string').map((name) => ` --${name} ${values[name] as string}`).join('');
}

export function loadOrUsage(file: string) {
  try {
    return loadScenarioFile(file);
  } catch (error) {
    if (error instanceof ScenarioError) throw new UsageError(error.message);
    throw error;
  }
}

/** Loads the scenario's apps (`cluster.apps`); a module that cannot be loaded or configured is bad input, in one line. */
export async function loadAppsOrUsage(scenario: Scenario, file: string): Promise<ScenarioApps> {
  try {
    return await loadScenarioApps(scenario, file);
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new UsageError(error.message);
    throw error;
  }
}

export const command: Command = {
  summary: 'Runs one scenario (default: scenarios/library/default.yaml) and prints a report. Exit 0 when every expectation holds, 1 when one fails or the run is a runaway (--max-events, --timeout) or panics, 2 on bad input.',
  usage: 'shoal run [FILE] [--seed N] [--max-events N] [--timeout DURATION] [--check-determinism] [--mode sim|real] [--network auto|loopback|netns] [--node-logs DIR] [--json] [--trace OUT.jsonl] [--history OUT.jsonl] [--report OUT.html] [--diagram OUT.svg] [--from MS --to MS] [--timeline OUT.html]\n' +
    '  --report writes one self-contained HTML page: summary, expectations with evidence, membership timeline, space-time diagram.\n' +
    '  The diagram (--report, --diagram) shows 5 s around the first failed expectation\'s fault, else the first fault, else the start; --from/--to (ms) choose the window.',
  options: {
    seed: { type: 'string' }, mode: { type: 'string' }, network: { type: 'string' }, 'node-logs': { type: 'string' }, json: { type: 'boolean' }, trace: { type: 'string' }, history: { type: 'string' },
    diagram: { type: 'string' }, timeline: { type: 'string' }, report: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' },
    'max-events': { type: 'string' }, timeout: { type: 'string' }, 'check-determinism': { type: 'boolean' },
  },
  async run(values, positionals) {
    if (positionals.length > 1) throw new UsageError('give one scenario file');
    const file = positionals[0] ?? defaultScenarioFile;
    const mode = (values.mode as string | undefined) ?? 'sim';
    if (mode !== 'sim' && mode !== 'real') throw new UsageError(`--mode must be sim or real, got "${mode}"`);
    for (const flag of ['trace', 'history', 'diagram', 'timeline', 'report'] as const) checkOutputPath(`--${flag}`, values[flag]);
    const scenario = loadOrUsage(file);
    const seed = parseSeed(values.seed) ?? scenario.seed;
    const reproduce = `npx shoal run ${positionals[0] ?? ''}${positionals[0] ? ' ' : ''}--seed ${seed}${limitFlags(values)}`.replace(/\s+/g, ' ');
    if (mode === 'real') return runReal(values, scenario, seed, reproduce);
    if (values.network !== undefined) throw new UsageError('--network chooses the real network: it needs --mode real');
    if (values['node-logs'] !== undefined) throw new UsageError('--node-logs keeps the logs of real node processes: it needs --mode real');
    if (values.history !== undefined && scenario.workload === undefined) throw new UsageError('--history records the workload\'s calls, and this scenario has no workload');
    const apps = await loadAppsOrUsage(scenario, file);
    if (values['check-determinism']) return checkDeterminism(values, scenario, apps, seed, `${reproduce} --check-determinism`);
    return runSim(values, file, scenario, apps, seed, reproduce);
  },
};

async function runReal(values: Values, scenario: Scenario, seed: number, reproduce: string): Promise<number> {
  if (values['max-events'] !== undefined || values.timeout !== undefined) throw new UsageError('--max-events and --timeout bound the simulator: not with --mode real');
  if (values['check-determinism']) throw new UsageError('--check-determinism checks a simulated run: not with --mode real');
  const drawings = pictureFlags.filter((name) => values[name] !== undefined);
  if (drawings.length > 0) throw new UsageError(`--${drawings.join(', --')} draw${drawings.length === 1 ? 's' : ''} the simulator's trace: not with --mode real`);
  if (values.history !== undefined) throw new UsageError('--history records the workload\'s calls, and --mode real does not run workloads yet: record the history in the simulator (without --mode real)');
  if (scenario.cluster.apps.length > 0) throw new UsageError('--mode real does not run cluster.apps yet: run the scenario in the simulator, or the apps on nodes with `shoal node --app`');
  const network = (values.network as string | undefined) ?? 'auto';
  const { runScenarioReal, checkRealSupport, RealModeUnsupportedError, RealRunAbortedError, realNetworks } = await import('../../scenarios/real.ts');
  if (!(realNetworks as readonly string[]).includes(network)) throw new UsageError(`--network must be one of ${realNetworks.join(', ')}, got "${network}"`);
  const chosen = network as (typeof realNetworks)[number];
  try {
    checkRealSupport(scenario, chosen);
  } catch (error) {
    if (error instanceof RealModeUnsupportedError) throw new UsageError(error.message);
    throw error;
  }
  const nodeLogs = values['node-logs'] as string | undefined;
  let report;
  try {
    report = await runScenarioReal(scenario, { seed, reproduce, network: chosen, ...(nodeLogs === undefined ? {} : { nodeLogs }) });
  } catch (error) {
    if (!(error instanceof RealRunAbortedError)) throw error;
    console.error(`scenario ${scenario.name} (real), seed ${seed}: ABORTED: ${error.message}\n  reproduce: ${reproduce} --mode real`);
    return exitCode.failed;
  }
  console.log(values.json ? JSON.stringify(report) : formatReport(report));
  return report.ok ? exitCode.ok : exitCode.failed;
}

/** `--check-determinism`: the seed twice, in lockstep; exit 0 when the traces match, 1 with the first difference when not. */
async function checkDeterminism(values: Values, scenario: Scenario, apps: ScenarioApps, seed: number, reproduce: string): Promise<number> {
  const outputs = ['trace', 'history', 'diagram', 'timeline', 'report'].filter((name) => values[name] !== undefined);
  if (outputs.length > 0) throw new UsageError(`--check-determinism writes no files: drop --${outputs.join(', --')}`);
  const maxEvents = parseMaxEvents(values['max-events']);
  const wallTimeoutMs = parseTimeout(values.timeout);
  let report;
  try {
    report = await checkScenarioDeterminism(scenario, { seed, apps, reproduce, maxEvents, wallTimeoutMs });
  } catch (error) {
    return reportAborted(error, { scenario: scenario.name, seed, reproduce }, values.json === true);
  }
  console.log(values.json ? JSON.stringify(report) : formatDeterminism(report));
  return report.deterministic ? exitCode.ok : exitCode.failed;
}

/** The flags that draw a run from its trace. */
const pictureFlags = ['report', 'diagram', 'timeline'] as const;

async function runSim(values: Values, file: string, scenario: Scenario, apps: ScenarioApps, seed: number, reproduce: string): Promise<number> {
  const maxEvents = parseMaxEvents(values['max-events']);
  const wallTimeoutMs = parseTimeout(values.timeout);
  const window = parseWindow(values, scenario.duration);
  const writer = typeof values.trace === 'string' ? openTraceWriter(values.trace, { scenario, seed, source: file }) : undefined;
  const wantsEntries = pictureFlags.some((name) => values[name] !== undefined);
  const labels = wantsEntries ? new MessageLabels(pictureEntriesMax) : undefined;
  let kept: { entries: TraceEntry[]; truncated: boolean } = { entries: [], truncated: false };
  let report;
  try {
    report = await runScenario(scenario, {
      seed, apps, reproduce, maxEvents, wallTimeoutMs,
      ...(writer ? { traceSink: writer.sink } : {}),
      traceCapacity: wantsEntries ? pictureEntriesMax : 0,
      ...(labels ? { tracePayloads: labels.record } : {}),
      ...(typeof values.history === 'string' ? { onHistory: (history) => writeHistoryFile(values.history as string, history.events) } : {}),
      onFinished: (sim) => {
        if (wantsEntries) kept = { entries: sim.trace.entries(), truncated: sim.trace.count > pictureEntriesMax };
      },
    });
  } catch (error) {
    return reportAborted(error, { scenario: scenario.name, seed, reproduce }, values.json === true);
  }
  if (writer) await writer.finish(report.traceHash, report.events);
  if (labels) writePictures(values, { report, scenario, labels, ...kept, ...(window ? { window } : {}) });
  console.log(values.json ? JSON.stringify(report) : formatReport(report));
  return report.ok ? exitCode.ok : exitCode.failed;
}

/** Trace entries kept in memory for `--report`, `--diagram` and `--timeline` (the most recent). */
const pictureEntriesMax = 2_000_000;

function writePictures(values: Values, input: RunReportInput): void {
  const title = `${input.scenario.name} seed ${input.report.seed}`;
  const faults = faultBands(input.scenario);
  if (typeof values.report === 'string') writeFileSync(values.report, runReportHtml(input));
  if (typeof values.diagram === 'string') {
    const { fromMs, toMs } = reportWindow(input);
    writeFileSync(values.diagram, spaceTimeSvg(input.entries, { fromMs, toMs, title, faults, labels: (msg) => input.labels.get(msg) }));
  }
  if (typeof values.timeline === 'string') writeFileSync(values.timeline, timelineHtml(input.entries, { title, faults, endMs: input.scenario.duration }));
}

/** `--from`/`--to`: milliseconds within the run, from before to (one alone takes the default length); undefined for the default window. */
function parseWindow(values: Values, durationMs: number): { fromMs: number; toMs: number } | undefined {
  const ms = (name: 'from' | 'to') => {
    const v = values[name];
    if (v === undefined) return undefined;
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a time in milliseconds, got "${String(v)}"`);
    return n;
  };
  const fromMs = ms('from');
  const toMs = ms('to');
  if (fromMs === undefined && toMs === undefined) return undefined;
  if (values.report === undefined && values.diagram === undefined) throw new UsageError('--from and --to choose the window of --report or --diagram: give one of them');
  const window = chosenWindow(fromMs, toMs, durationMs);
  if (typeof window === 'string') throw new UsageError(window);
  return window;
}

/** A run that threw: one or two lines (the stack only with SHOAL_DEBUG=1), exit 1, or 2 for bad input. */
function reportAborted(error: unknown, run: { scenario: string; seed: number; reproduce: string }, json: boolean): number {
  // An app that refused to start is bad input, told in one line like any other.
  const app = error instanceof HostPanicError && error.cause instanceof AppModuleError ? error.cause : error;
  if (app instanceof AppModuleError) {
    printStackIfDebug(error);
    console.error(`shoal run: ${app.message}`);
    return exitCode.usage;
  }
  const aborted = abortedRun(error);
  if (aborted === undefined) throw error;
  printStackIfDebug(error);
  if (json) console.log(JSON.stringify({ ...run, mode: 'sim', ok: false, aborted: aborted.kind, detail: aborted.detail }));
  else if (aborted.kind === 'bad-input') console.error(formatAbortedRun(run, aborted));
  else console.log(formatAbortedRun(run, aborted));
  return aborted.kind === 'bad-input' ? exitCode.usage : exitCode.failed;
}
