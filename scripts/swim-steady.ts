/**
 * What a quiet SWIM cluster costs to simulate (docs/MEMBERSHIP.md, "The steady state, by
 * size"): CLUSTERS separate clusters of SIZE members each (LAN preset, joins staggered
 * over SIZE × 10 ms, at most 20 s), no faults; the whole process's CPU from 60 s to 420 s
 * simulated, per member per simulated second, and per event. One JSON line.
 *
 *   npx tsx scripts/swim-steady.ts [--size 1000] [--clusters 1] [--no-push-pull] [--seed 1]
 *
 * Ten clusters of 100 against one of 1 000 tells a host's own state from its table's
 * size; `--no-push-pull` shows push-pull's share.
 */
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../core/index.ts';
import { buildSwimCluster } from '../sim/hosts/swim.ts';
import { Simulation } from '../sim/index.ts';

const fromMs = 60_000;
const toMs = 420_000;

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(`--${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return value;
}

interface Options {
  size: number;
  clusters: number;
  seed: number;
  pushPull: boolean;
}

/** The options, or a one-line error and exit 2 (an unknown flag, a size that is not a positive integer). */
function options(): Options | undefined {
  try {
    const { values } = parseArgs({
      options: { size: { type: 'string', default: '1000' }, clusters: { type: 'string', default: '1' }, 'no-push-pull': { type: 'boolean' }, seed: { type: 'string', default: '1' } },
    });
    return { size: positive('size', values.size), clusters: positive('clusters', values.clusters), seed: positive('seed', values.seed), pushPull: !values['no-push-pull'] };
  } catch (error) {
    // parseArgs refuses unknown flags with a TypeError (ERR_PARSE_ARGS_UNKNOWN_OPTION).
    if (!(error instanceof InvalidArgumentError) && !(error instanceof TypeError)) throw error;
    console.error(`swim-steady: ${error.message}`);
    process.exitCode = 2;
    return undefined;
  }
}

function main({ size, clusters, seed, pushPull }: Options): void {
  const sim = new Simulation({ seed, trace: { capacity: 0 } });
  const config = { preset: 'lan' as const, ...(pushPull ? {} : { pushPullIntervalMs: 0 }) };
  for (let c = 0; c < clusters; c++) {
    const prefix = clusters === 1 ? 'n' : `c${c}n`;
    const seeds = Array.from({ length: Math.min(5, size) }, (_, i) => `${prefix}${i}`);
    buildSwimCluster(sim, { size, prefix, config, seeds, emitEvents: false, staggerMs: Math.min(20_000, size * 10) });
  }
  sim.runUntil(fromMs);
  const events = sim.eventCount;
  const cpu = process.cpuUsage();
  sim.runUntil(toMs);
  const used = process.cpuUsage(cpu);
  const micros = used.user + used.system;
  const memberSeconds = ((toMs - fromMs) / 1000) * size * clusters;
  const ran = sim.eventCount - events;
  const round = (x: number) => Math.round(x * 100) / 100;
  console.log(JSON.stringify({
    size, clusters, pushPull, simulatedMs: toMs - fromMs,
    cpuMicrosPerMemberSecond: round(micros / memberSeconds), eventsPerMemberSecond: round(ran / memberSeconds), cpuMicrosPerEvent: round(micros / ran),
  }));
}

const parsed = options();
if (parsed !== undefined) main(parsed);
