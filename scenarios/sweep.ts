import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { packageFile } from '../net-real/package-files.ts';
import { runFigures, type RunFigures } from './report/figures.ts';
import type { AbortKind } from './report.ts';
import type { RunReport } from './runner.ts';

/** How a seed's run ended without a report: a runaway, a panic, bad input, or an error of shoal itself. */
export interface SweepAbort {
  kind: AbortKind | 'error';
  /** One line. */
  detail: string;
  /** The error's stack, when it came from one (printed with SHOAL_DEBUG=1). */
  stack?: string;
  /** The seed ran past the sweep's wall-clock timeout. */
  timedOut?: true;
}

export interface SweepResult {
  seed: number;
  ok: boolean;
  /** The names of the expectations that failed. */
  failed: string[];
  /** Identifies the run: the same seed gives the same hash on any machine (empty when the run was aborted). */
  traceHash: string;
  aborted?: SweepAbort;
  /** Simulated events of the run (absent when it was aborted). */
  events?: number;
  /** Wall-clock time the run took in its worker. */
  wallMs?: number;
  /** What the run measured (absent when it was aborted). */
  figures?: RunFigures;
}

/** Wall-clock time a seed may take before its worker is stopped and the seed reported as a runaway. */
export const sweepTimeoutMsDefault = 60_000;

export interface SweepOptions {
  file: string;
  seeds: number[];
  /** Worker threads. @default the number of cores */
  jobs?: number;
  /** Events per run before it stops as a runaway. @default the simulator's (200 000 000) */
  maxEvents?: number;
  /**
   * Wall-clock time per seed. A seed over it has its worker stopped (whatever the run is
   * doing, even a loop that never returns to the simulator) and is reported as a runaway;
   * a fresh worker takes the remaining seeds. @default 60_000
   */
  timeoutMs?: number;
  onResult?: (result: SweepResult, done: number, total: number) => void;
}

/** What a worker sends back: its readiness, then one message per seed. */
type WorkerMessage = { ready: true } | { seed: number; report: RunReport } | { seed: number; aborted: SweepAbort };

/**
 * The `shard`-th (1-based) of `shards` disjoint contiguous slices of `seeds`, sizes differing
 * by at most one, so N machines each running one shard run every seed exactly once.
 */
export function shardSeeds(seeds: readonly number[], shard: number, shards: number): number[] {
  if (!(Number.isSafeInteger(shards) && shards >= 1 && Number.isSafeInteger(shard) && shard >= 1 && shard <= shards)) {
    throw new RangeError(`shard ${shard}/${shards}: K must be from 1 to N`);
  }
  const start = Math.floor(((shard - 1) * seeds.length) / shards);
  const end = Math.floor((shard * seeds.length) / shards);
  return seeds.slice(start, end);
}

/** Parses `A..B` (inclusive) or a single seed. */
export function parseSeedRange(text: string): number[] | undefined {
  const match = /^(\d+)(?:\.\.(\d+))?$/.exec(text.trim());
  if (match === null) return undefined;
  const a = Number(match[1]);
  const b = match[2] === undefined ? a : Number(match[2]);
  if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || b < a || b - a >= 1_000_000) return undefined;
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

/** Runs one scenario file over many seeds in parallel worker threads. */
export async function sweep(options: SweepOptions): Promise<SweepResult[]> {
  const jobs = Math.max(1, Math.min(options.jobs ?? cpus().length, options.seeds.length));
  const queue = [...options.seeds];
  const results: SweepResult[] = [];
  const record = (result: SweepResult) => {
    results.push(result);
    options.onResult?.(result, results.length, options.seeds.length);
  };
  await Promise.all(Array.from({ length: jobs }, () => lane(queue, options, record)));
  return results.sort((a, b) => a.seed - b.seed);
}

/** Takes seeds from `queue` one at a time, on one worker, replacing it whenever it had to be stopped. */
async function lane(queue: number[], options: SweepOptions, record: (result: SweepResult) => void): Promise<void> {
  let worker: Worker | undefined;
  for (let seed = queue.shift(); seed !== undefined; seed = queue.shift()) {
    worker ??= await startWorker();
    const { result, alive } = await runSeed(worker, seed, options);
    record(result);
    if (!alive) worker = undefined;
  }
  await worker?.terminate();
}

function startWorker(): Promise<Worker> {
  const worker = new Worker(packageFile('bin', 'sweep-worker.js'));
  return new Promise((resolve, reject) => {
    worker.once('message', () => {
      worker.off('error', reject);
      resolve(worker);
    });
    worker.once('error', reject);
  });
}

/** One seed on `worker`; `alive` is false when the worker was stopped or died on it. */
function runSeed(worker: Worker, seed: number, options: SweepOptions): Promise<{ result: SweepResult; alive: boolean }> {
  const timeoutMs = options.timeoutMs ?? sweepTimeoutMsDefault;
  const aborted = (abort: SweepAbort): SweepResult => ({ seed, ok: false, failed: [], traceHash: '', aborted: abort });
  return new Promise((resolve) => {
    const settle = (result: SweepResult, alive: boolean) => {
      clearTimeout(timer);
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      resolve({ result, alive });
    };
    const onMessage = (msg: WorkerMessage) => {
      if ('report' in msg) settle(seedResult(seed, msg.report), true);
      else if ('aborted' in msg) settle(aborted(msg.aborted), true);
    };
    const onError = (error: Error) => settle(aborted({ kind: 'error', detail: `the worker failed: ${error.message}`, ...(error.stack ? { stack: error.stack } : {}) }), false);
    const onExit = (code: number) => settle(aborted({ kind: 'error', detail: `the worker exited with code ${code}` }), false);
    const timer = setTimeout(() => {
      void worker.terminate();
      settle(aborted({ kind: 'runaway', detail: `no result within ${timeoutMs / 1_000} s of wall time (its worker was stopped)`, timedOut: true }), false);
    }, timeoutMs);
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    worker.postMessage({ file: options.file, seed, maxEvents: options.maxEvents });
  });
}

/** What a sweep keeps of one seed's report. */
function seedResult(seed: number, report: RunReport): SweepResult {
  return {
    seed, ok: report.ok, failed: report.expectations.filter((e) => !e.ok).map((e) => e.name), traceHash: report.traceHash,
    events: report.events, wallMs: report.wallMs, figures: runFigures(report),
  };
}
