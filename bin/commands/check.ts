import { readFileSync } from 'node:fs';
import { checkLinearizable, formatLinearizabilityResult, HistoryError, modelNames, parseHistory, type ModelName } from '../../scenarios/check/index.ts';
import { parseDurationMs } from '../../scenarios/duration.ts';
import { UsageError, exitCode, type Command } from '../cli.ts';

/** Exit code of a check that ran out of budget before deciding: neither a pass nor a failure. */
export const exitUnknown = 3;

const checks = ['linearizable'];

export const command: Command = {
  summary: 'Checks a recorded operation history (JSON lines: process, type invoke|ok|fail|info, f read|write|cas, key, value, time) for linearizability against a model. Exit 0 linearizable, 1 not linearizable (with the operations that cannot be ordered), 3 unknown (the budget ran out), 2 bad input.',
  usage: `shoal check linearizable --model ${modelNames.join('|')} HISTORY.jsonl [--json] [--steps-max N] [--time-max DURATION]`,
  options: { model: { type: 'string' }, json: { type: 'boolean' }, 'steps-max': { type: 'string' }, 'time-max': { type: 'string' } },
  async run(values, positionals) {
    const [check, file, ...extra] = positionals;
    if (check === undefined || !checks.includes(check)) throw new UsageError(`name a check: ${checks.join(', ')}${check === undefined ? '' : `; got "${check}"`}`);
    if (file === undefined || extra.length > 0) throw new UsageError('give one history file');
    const model = parseModel(values.model);
    const stepsMax = parseStepsMax(values['steps-max']);
    const timeMsMax = parseTimeMax(values['time-max']);
    const text = readFileSync(file, 'utf8');
    const result = historyOrUsage(() => checkLinearizable(parseHistory(text, file), { model, stepsMax, timeMsMax }));
    console.log(values.json ? JSON.stringify(result) : formatLinearizabilityResult(result, file));
    return result.verdict === 'linearizable' ? exitCode.ok : result.verdict === 'not-linearizable' ? exitCode.failed : exitUnknown;
  },
};

function parseModel(value: string | boolean | undefined): ModelName {
  if (value === undefined) throw new UsageError(`--model is required: ${modelNames.join(', ')}`);
  if (!modelNames.includes(value as ModelName)) throw new UsageError(`--model must be one of ${modelNames.join(', ')}; got "${String(value)}"`);
  return value as ModelName;
}

/** `--steps-max N` (`5000000` or `5_000_000`): a positive integer, or undefined for the default. */
function parseStepsMax(value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^\d[\d_]*$/.test(value) ? Number(value.replace(/_/g, '')) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--steps-max must be a positive integer, got "${String(value)}"`);
  return n;
}

/** `--time-max DURATION` (`10s`, `2m`, `500ms`): wall-clock ms, or undefined for the default. */
function parseTimeMax(value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = typeof value === 'string' ? parseDurationMs(value) : undefined;
  if (ms === undefined || !(ms > 0)) throw new UsageError(`--time-max must be a wall-clock duration such as 10s, 2m or 500ms, got "${String(value)}"`);
  return ms;
}

/** A history that is not well formed (or has operations the model lacks) is bad input: one line naming the file and line. */
function historyOrUsage<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof HistoryError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}
