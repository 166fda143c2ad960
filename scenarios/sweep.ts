import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { RunReport } from './runner.ts';

export interface SweepResult {
  seed: number;
  ok: boolean;
  failed: string[];
  traceHash: string;
  error?: string;
}

export interface SweepOptions {
  file: string;
  seeds: number[];
  /** Worker threads. @default the number of cores */
  jobs?: number;
  onResult?: (result: SweepResult, done: number, total: number) => void;
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
  const workerUrl = new URL('../bin/sweep-worker.js', import.meta.url);
  await Promise.all(Array.from({ length: jobs }, () => new Promise<void>((resolve, reject) => {
    const worker = new Worker(workerUrl);
    const next = () => {
      const seed = queue.shift();
      if (seed === undefined) {
        void worker.terminate().then(() => resolve());
        return;
      }
      worker.postMessage({ file: options.file, seed });
    };
    worker.on('message', (msg: { seed: number; report?: RunReport; error?: string }) => {
      const result: SweepResult = msg.report
        ? { seed: msg.seed, ok: msg.report.ok, failed: msg.report.expectations.filter((e) => !e.ok).map((e) => e.name), traceHash: msg.report.traceHash }
        : { seed: msg.seed, ok: false, failed: [], traceHash: '', error: msg.error };
      results.push(result);
      options.onResult?.(result, results.length, options.seeds.length);
      next();
    });
    worker.on('error', reject);
    next();
  })));
  return results.sort((a, b) => a.seed - b.seed);
}
