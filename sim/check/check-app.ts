import { InvalidArgumentError, ShoalError } from '../../core/index.ts';
import type { App, ReportedValue } from '../../core/app/index.ts';
import { parseTagFilter, type TagFilter } from '../../core/balance/index.ts';
import type { SwimConfigInput } from '../../core/swim/index.ts';
import { buildAppCluster, type AppClusterNode, type AppMember, type AppReport } from '../hosts/app.ts';
import type { LinkModel } from '../network.ts';
import { Simulation } from '../simulation.ts';
import { applyFaultSchedule, checkFaultSchedule, formatWindow, type FaultSchedule } from './fault-schedule.ts';

/** The environment variable that replays one failed run: its value is printed with the failure. */
export const replayVariable = 'SHOAL_CHECK';

/** Reports a run keeps for its property (the oldest are kept; later ones only update `reported`). */
export const appRunReportsMax = 100_000;

/** One value the app reported, with when and where. */
export interface TimedAppReport extends AppReport {
  readonly timeMs: number;
}

/** A finished run, as the property sees it. */
export interface AppRun {
  readonly sim: Simulation;
  readonly seed: number;
  readonly schedule: FaultSchedule;
  /** Every node of the run. */
  readonly nodes: readonly string[];
  /** The nodes that run the app (those `on` matches). */
  readonly appNodes: readonly string[];
  /** The member running on `node`, or undefined while it is down. */
  member(node: string): AppMember | undefined;
  /** The latest values the app reported on `node` since its last start (empty while it is down). */
  reported(node: string): ReadonlyMap<string, ReportedValue>;
  /** Every report in order (the first `appRunReportsMax`). */
  readonly reports: readonly TimedAppReport[];
}

export interface CheckAppOptions<Config = unknown> {
  app: App<Config>;
  /** The app's raw configuration, as a scenario's `config` would give it. */
  config?: unknown;
  /** Node names (or names with tags), or a count: `n1`..`nN`. */
  nodes: number | readonly (string | AppClusterNode)[];
  /** The nodes that run the app: a tag filter such as `role=kv`. @default every node */
  on?: string;
  /** Simulated length of the run; every fault window must end by then. The property is checked at its end. */
  durationMs: number;
  /** The faults of the run (see `faultSchedule` for generated ones). */
  schedule: FaultSchedule;
  /** The seed every random decision of the run derives from. */
  seed: number;
  /** Holds for a correct app: return false or throw (an `expect`) when it does not. */
  property(run: AppRun): boolean | void | Promise<boolean | void>;
  /** SWIM configuration of every member. @default preset 'local' */
  swim?: SwimConfigInput;
  /** The default model of every link (latency, loss). @default the simulator's */
  network?: Partial<LinkModel>;
  /** The command that runs this check, quoted in the reproduce line. @default 'npx vitest run' */
  command?: string;
}

/** A property of an app failed (or the run threw): names the seed, the schedule and the command that reproduces it. */
export class AppCheckError extends ShoalError {
  override readonly code: string = 'APP_CHECK_FAILED';
  constructor(readonly app: string, readonly seed: number, readonly schedule: FaultSchedule, readonly reproduce: string, reason: string, cause?: unknown) {
    super([
      `checkApp ${app}: ${reason}`,
      `  seed ${seed}, faults: ${schedule.length === 0 ? 'none' : schedule.map(formatWindow).join('; ')}`,
      `  reproduce: ${reproduce}`,
    ].join('\n'), cause === undefined ? undefined : { cause });
  }
}

/**
 * Runs `app` in the simulator on `nodes` (each a SWIM member with an RPC server and client
 * on its one address, the app started through `startApps`) under `schedule`, then checks
 * `property` at `durationMs`. The run is reproducible from `seed` and `schedule`; when the
 * property fails or the run throws, the `AppCheckError` names both and a one-line command
 * that replays exactly that run: with `SHOAL_CHECK` set, every `checkApp` of this app runs
 * the recorded seed and schedule instead of its own.
 */
export async function checkApp<Config>(options: CheckAppOptions<Config>): Promise<AppRun> {
  const { seed, schedule } = replayed(options.app.name) ?? { seed: options.seed, schedule: options.schedule };
  const nodes = nodeList(options.nodes);
  checkFaultSchedule(schedule, nodes.map((n) => n.name), options.durationMs);
  const on = parseTagFilter(options.on ?? '');
  const reproduce = `${replayVariable}='${JSON.stringify({ app: options.app.name, seed, schedule })}' ${options.command ?? 'npx vitest run'}`;
  const fail = (reason: string, cause?: unknown) => new AppCheckError(options.app.name, seed, schedule, reproduce, reason, cause);
  let run: AppRun;
  try {
    run = await simulate(options, nodes, on, seed, schedule, reproduce);
  } catch (error) {
    throw fail(`the run threw: ${(error as Error)?.message ?? String(error)}`, error);
  }
  let holds: boolean | void;
  try {
    holds = await options.property(run);
  } catch (error) {
    throw fail(`property failed at ${run.sim.nowMs} ms: ${(error as Error)?.message ?? String(error)}`, error);
  }
  if (holds === false) throw fail(`property returned false at ${run.sim.nowMs} ms`);
  return run;
}

function nodeList(nodes: CheckAppOptions['nodes']): AppClusterNode[] {
  if (typeof nodes === 'number') {
    if (!Number.isInteger(nodes) || nodes < 1) throw new InvalidArgumentError(`nodes must be a positive count or a list, got ${nodes}`);
    return Array.from({ length: nodes }, (_, i) => ({ name: `n${i + 1}` }));
  }
  return nodes.map((n) => (typeof n === 'string' ? { name: n } : n));
}

async function simulate<Config>(
  options: CheckAppOptions<Config>, nodes: readonly AppClusterNode[], on: TagFilter, seed: number, schedule: FaultSchedule, reproduce: string,
): Promise<AppRun> {
  const sim = new Simulation({ seed, network: options.network, trace: { capacity: 0 }, reproduce });
  const reports: TimedAppReport[] = [];
  const cluster = buildAppCluster(sim, {
    nodes, swim: options.swim,
    apps: [{ app: options.app as App, config: options.config, on: options.on }],
    onReport: (report) => {
      if (reports.length < appRunReportsMax) reports.push({ ...report, timeMs: sim.nowMs });
    },
  });
  applyFaultSchedule(sim, schedule, options.network?.loss ?? 0);
  await sim.runUntilAsync(options.durationMs);
  return {
    sim, seed, schedule, reports,
    nodes: nodes.map((n) => n.name),
    appNodes: nodes.filter((n) => on.matches(n.tags ?? {})).map((n) => n.name),
    member: (node) => cluster.member(node),
    reported: (node) => cluster.reported(node, options.app.name) ?? new Map(),
  };
}

/** The seed and schedule of `SHOAL_CHECK`, when it is set for this app. */
function replayed(app: string): { seed: number; schedule: FaultSchedule } | undefined {
  const text = process.env[replayVariable];
  if (text === undefined || text === '') return undefined;
  let value: { app?: unknown; seed?: unknown; schedule?: unknown };
  try {
    value = JSON.parse(text) as typeof value;
  } catch (error) {
    throw new InvalidArgumentError(`${replayVariable} is not JSON: ${(error as Error).message}`);
  }
  if (value.app !== app) return undefined;
  if (typeof value.seed !== 'number' || !Array.isArray(value.schedule)) throw new InvalidArgumentError(`${replayVariable} must hold { app, seed, schedule }`);
  return { seed: value.seed, schedule: value.schedule as FaultSchedule };
}
