import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ScenarioRun } from '../scenarios/runner.ts';
import type { LatencySpec, Simulation } from '../sim/index.ts';
import { memberEventToLog } from './events.ts';
import type { ClusterModel } from './model.ts';
import { recordedActionsMax, sessionToScenarioYaml, type RecordedAction } from './recording.ts';
import { ScenarioProgress } from './scenario-progress.ts';
import { unavailable, type DashboardSource } from './source.ts';
import type { ActionName, MemberView, NetworkSummary, ObserverSnapshot, ReportedApps, RunPhase } from './types.ts';

/** What the dashboard reads from a host's app: a SWIM node's public surface. */
export interface MemberNode {
  members(): readonly MemberView[];
  readonly localHealth?: number;
  readonly inFlight?: number;
}

/** Speeds the `+`/`-` keys step through: simulated seconds per wall second; Infinity is as fast as possible. */
export const speeds: readonly number[] = [0.1, 1, 10, 100, Infinity];

export interface SimSourceOptions {
  sim: Simulation;
  model: ClusterModel;
  /**
   * The scenario run `sim` belongs to (`buildDashboardScenario`). With it, keyboard faults
   * go through the runner's `apply`, so its observer records them as it records a replay's
   * faults; the run stops at the scenario's end until the person continues past it; and the
   * scenario's expectations are checked as the run goes. Without it (a bare simulation, as
   * the benchmark drives) there are no faults, no end and no expectations.
   */
  run?: ScenarioRun;
  /** Simulated time between two live checks of the expectations (each rereads every observation). @default 1_000 */
  expectationsCheckMs?: number;
  /** Hosts whose apps are membership nodes. @default the run's nodes, or every host of the simulation */
  nodes?: readonly string[];
  /** Finds the membership node in a host's app. @default the app itself, or its `swim` field */
  readNode?: (app: unknown) => MemberNode | undefined;
  /** The latest values a node's apps reported (app → key → value). @default the run's, or none */
  readApps?: (node: string) => ReadonlyMap<string, ReadonlyMap<string, number | string | boolean>> | undefined;
  /** The command line that reproduces this run (shown on the status line). */
  reproduce?: string;
  /** Starting speed (one of `speeds`). @default 1 */
  speed?: number;
  /** Wall time between slices; also the refresh rate of the model. @default 100 */
  tickMs?: number;
  /** Virtual time one slice may advance at a finite speed, so a stalled event loop does not cause a burst. @default 2_000 */
  sliceMsMax?: number;
  /**
   * Wall time one slice may spend simulating at "as fast as possible" before the model is
   * refreshed and the screen drawn: a frame of 8 members costs ~10–20 ms, so 200 ms keeps
   * the dashboard's share of the run near 10 %. @default 200
   */
  fastBudgetMs?: number;
  /** Virtual time one press of the step key advances. @default 100 */
  stepMs?: number;
  /** How long the pause-member key freezes a host. @default 3_000 */
  pauseForMs?: number;
  /** How much default link loss one press of the loss key adds. @default 0.05 */
  lossStep?: number;
  /** Where `save` writes the scenario file. @default `tui-session-<seed>.yaml` */
  savePath?: string;
  /** The scenario the simulation was built from, as written; the saved session appends its faults to it. @default a bare cluster of `nodes` */
  scenario?: Readonly<Record<string, unknown>>;
}

/** See `SimSourceOptions.fastBudgetMs`. */
export const fastBudgetMsDefault = 200;

/** Faults land this far past a whole millisecond (see `act`). */
export const faultOffsetMs = 0.25;

/** The first instant at or after `nowMs` that lies `faultOffsetMs` past a whole millisecond. */
export function faultInstantMs(nowMs: number): number {
  const candidate = Math.floor(nowMs) + faultOffsetMs;
  return candidate >= nowMs ? candidate : candidate + 1;
}

/** Virtual time advanced per chunk when running as fast as possible (the wall budget is checked between chunks). */
const fastChunkMs = 50;

const faultActions: readonly ActionName[] = ['crash', 'restart', 'partition', 'heal', 'pauseMember', 'loss'];

/**
 * Drives a simulation of SWIM nodes in slices of virtual time on real timers, at a chosen
 * speed, and turns keyboard faults into the scenario runner's faults. Every action is
 * recorded with its simulated time so the session can be saved as a scenario file and
 * replayed. A scenario's run stops at its end, with its expectations' verdict.
 */
export class SimSource implements DashboardSource {
  readonly model: ClusterModel;
  readonly sim: Simulation;
  readonly capabilities: ReadonlySet<ActionName>;
  readonly actions: RecordedAction[] = [];
  private readonly run: ScenarioRun | undefined;
  /** The scenario's end and expectations; undefined without a run. */
  private readonly progress: ScenarioProgress | undefined;
  private readonly nodes: readonly string[];
  private readonly readNode: (app: unknown) => MemberNode | undefined;
  private readonly readApps: SimSourceOptions['readApps'];
  private readonly options: Required<Pick<SimSourceOptions, 'tickMs' | 'sliceMsMax' | 'fastBudgetMs' | 'stepMs' | 'pauseForMs' | 'lossStep'>>;
  private speedIndex: number;
  private paused = false;
  private timer: NodeJS.Timeout | undefined;
  /** Moves on at every start and stop: a slice re-arms the timer only for the start that armed it. */
  private starts = 0;
  private lastTickWallMs = 0;
  private busy: Promise<void> = Promise.resolve();
  /** The fraction of a millisecond the last slice could not advance (slices advance whole milliseconds). */
  private carryMs = 0;
  private readonly unsubscribe: () => void;
  private readonly savePath: string;
  private readonly scenario: Readonly<Record<string, unknown>>;
  /** Wall time spent inside the simulator and refreshing the model, for the overhead figures. */
  readonly timing = { simulateWallMs: 0, refreshWallMs: 0, simulatedMs: 0, slices: 0 };

  constructor(options: SimSourceOptions) {
    const run = options.run;
    if (run !== undefined && run.built.sim !== options.sim) throw new TypeError('SimSource: `sim` must be the simulation of `run`');
    this.sim = options.sim;
    this.model = options.model;
    this.run = run;
    this.capabilities = new Set<ActionName>(['pause', 'step', 'speed', 'save', ...(run === undefined ? [] : [...faultActions, 'continue' as const])]);
    this.nodes = options.nodes ?? run?.built.nodes ?? options.sim.hostNames();
    this.readNode = options.readNode ?? defaultReadNode;
    this.readApps = options.readApps ?? (run === undefined ? undefined : (name) => run.built.values.get(name));
    this.options = {
      tickMs: options.tickMs ?? 100,
      sliceMsMax: options.sliceMsMax ?? 2_000,
      fastBudgetMs: options.fastBudgetMs ?? fastBudgetMsDefault,
      stepMs: options.stepMs ?? 100,
      pauseForMs: options.pauseForMs ?? 3_000,
      lossStep: options.lossStep ?? 0.05,
    };
    const start = speeds.indexOf(options.speed ?? 1);
    this.speedIndex = start >= 0 ? start : speeds.indexOf(1);
    this.savePath = options.savePath ?? `tui-session-${this.sim.seed}.yaml`;
    this.scenario = options.scenario ?? { name: 'session', cluster: { nodes: [...this.nodes] } };
    this.unsubscribe = this.sim.onOutput(({ host, name, detail, timeMs }) => {
      if (name !== 'member') return;
      const event = memberEventToLog(host, detail, timeMs);
      if (event !== undefined) this.model.pushEvent(event);
    });
    this.model.setStatus({
      mode: 'sim', seed: this.sim.seed, connected: true,
      reproduce: options.reproduce ?? `npx shoal tui --seed ${this.sim.seed}`,
    });
    this.progress = run === undefined ? undefined : new ScenarioProgress(run, this.model, options.expectationsCheckMs ?? 1_000);
    this.refresh();
  }

  /** Where the run stands against the scenario's end (a run without one is always before it). */
  get phase(): RunPhase {
    return this.progress?.phase ?? 'before-end';
  }

  get speed(): number {
    return speeds[this.speedIndex]!;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Starts advancing virtual time on real timers. */
  start(): void {
    if (this.timer !== undefined) return;
    this.lastTickWallMs = performance.now();
    // A slice runs across several turns of the event loop: one still running when `stop`
    // comes must not arm the next (the run went on, and kept a quit dashboard's process alive).
    const started = ++this.starts;
    const tick = () => {
      if (started !== this.starts) return;
      this.timer = setTimeout(() => {
        this.busy = this.busy.then(() => this.tick()).then(tick, (error: unknown) => this.fail(error));
      }, this.options.tickMs);
    };
    tick();
  }

  stop(): void {
    this.starts++;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.unsubscribe();
  }

  /** Waits for the slice in progress (tests and the benchmark use it). */
  idle(): Promise<void> {
    return this.busy;
  }

  /** Advances virtual time by `durationMs` (or, with Infinity, as far as `budgetWallMs` of wall time allows) and refreshes the model. */
  advance(durationMs: number, budgetWallMs = Infinity): Promise<void> {
    // Through the queue, so slices and actions happen in the order they were asked for.
    this.busy = this.busy.then(() => this.runSlice(durationMs, budgetWallMs));
    return this.busy;
  }

  private async runSlice(durationMs: number, budgetWallMs: number): Promise<void> {
    const started = performance.now();
    const fromMs = this.sim.nowMs;
    // Before the end, no slice runs past it: the run covers [0, duration) as the runner's does.
    const limitMs = this.progress?.limitMs ?? Infinity;
    // Slices stop short of the events of their last instant (exclusive), so an action taken
    // between slices goes before them, as the same fault does in a replay of the session.
    const run = (ms: number) => this.sim.runUntilAsync(Math.min(this.sim.nowMs + ms, limitMs), { exclusive: true });
    if (durationMs === Infinity) {
      while (performance.now() - started < budgetWallMs && this.sim.nowMs < limitMs) await run(fastChunkMs);
    } else {
      await run(durationMs);
    }
    const simulated = performance.now();
    this.timing.simulateWallMs += simulated - started;
    this.timing.simulatedMs += this.sim.nowMs - fromMs;
    this.timing.slices++;
    this.progress?.afterSlice(this.sim.nowMs);
    this.refresh();
    this.timing.refreshWallMs += performance.now() - simulated;
  }

  private async tick(): Promise<void> {
    const now = performance.now();
    const elapsedMs = now - this.lastTickWallMs;
    this.lastTickWallMs = now;
    if (this.paused || this.phase === 'ended') return;
    const speed = this.speed;
    if (speed === Infinity) return this.runSlice(Infinity, this.options.fastBudgetMs);
    const wanted = Math.min(elapsedMs * speed + this.carryMs, this.options.sliceMsMax);
    const whole = Math.floor(wanted);
    this.carryMs = wanted - whole;
    if (whole > 0) await this.runSlice(whole, Infinity);
  }

  private fail(error: unknown): void {
    this.paused = true;
    this.model.setStatus({ paused: true, message: `simulation stopped: ${(error as Error)?.message ?? String(error)}` });
    this.model.commit();
  }

  /** Reads every node into the model (state, views, network, status) and notifies the app once. */
  refresh(): void {
    const registered = new Set(this.sim.hostNames());
    const observers: ObserverSnapshot[] = this.nodes.map((name) => {
      if (!registered.has(name)) return { name, condition: 'down' };
      const address = this.sim.address(name);
      const apps = this.appsOf(name);
      if (!this.sim.isUp(name)) return { name, address, condition: 'down', ...apps };
      const node = this.readNode(this.sim.app(name));
      return {
        name, address,
        condition: this.sim.isPaused(name) ? 'paused' : 'up',
        ...(node === undefined ? {} : { view: node.members(), localHealth: node.localHealth, inFlight: node.inFlight }),
        ...apps,
      };
    });
    this.model.update({ timeMs: this.sim.nowMs, observers });
    this.model.setNetwork(this.networkSummary());
    this.model.setStatus({ speed: speedLabel(this.speed), paused: this.paused });
    this.model.commit();
  }

  private appsOf(name: string): { apps?: ReportedApps } {
    const values = this.readApps?.(name);
    if (values === undefined || values.size === 0) return {};
    return { apps: Object.fromEntries([...values].map(([app, keys]) => [app, Object.fromEntries(keys)])) };
  }

  networkSummary(): NetworkSummary {
    const names = this.sim.hostNames();
    const described = this.sim.network.describe((i) => names[i] ?? '?');
    const defaults = this.sim.network.defaults;
    return {
      partitions: described.partitions,
      held: described.pairs.filter((p) => p.state === 'held').map(({ from, to }) => ({ from, to })),
      linkOverrides: described.pairs.filter((p) => p.model !== undefined).length,
      loss: defaults.loss,
      latency: latencyLabel(defaults.latency),
    };
  }

  // ------------------------------------------------------------------ actions

  togglePause(): string {
    if (this.progress?.phase === 'ended') return this.done(this.progress.endedHint());
    this.paused = !this.paused;
    return this.done(this.paused ? 'simulation paused' : 'simulation resumed');
  }

  async step(): Promise<string> {
    if (!this.paused) this.paused = true;
    await this.advance(this.options.stepMs);
    if (this.progress?.phase === 'ended') return this.done(this.progress.endedHint());
    return this.done(`stepped ${this.options.stepMs} ms`);
  }

  continuePastEnd(): string {
    if (this.progress === undefined) return this.done(unavailable('continue', 'this simulation has no scenario end'));
    const { continued, message } = this.progress.continuePastEnd(this.sim.nowMs);
    if (continued) {
      this.paused = false;
      this.lastTickWallMs = performance.now();
    }
    return this.done(message);
  }

  faster(): string {
    this.speedIndex = Math.min(speeds.length - 1, this.speedIndex + 1);
    return this.done(`speed ${speedLabel(this.speed)}`);
  }

  slower(): string {
    this.speedIndex = Math.max(0, this.speedIndex - 1);
    return this.done(`speed ${speedLabel(this.speed)}`);
  }

  crash(names: readonly string[]): string {
    return this.act(() => this.crashNow(names), 'crash');
  }

  private crashNow(names: readonly string[]): string {
    const up = names.filter((name) => this.sim.isUp(name));
    if (up.length === 0) return this.done('crash: nothing selected is up');
    for (const name of up) this.inject({ kind: 'crash', at: this.sim.nowMs, crash: name }, `crashed ${name}`);
    return this.done(`crashed ${up.join(' ')}`);
  }

  restart(names: readonly string[]): string {
    return this.act(() => this.restartNow(names), 'restart');
  }

  private restartNow(names: readonly string[]): string {
    const down = names.filter((name) => !this.sim.isUp(name));
    if (down.length === 0) return this.done('restart: nothing selected is down');
    for (const name of down) this.inject({ kind: 'restart', at: this.sim.nowMs, restart: name }, `restarted ${name}`);
    return this.done(`restarted ${down.join(' ')}`);
  }

  partition(names: readonly string[]): string {
    return this.act(() => this.partitionNow(names), 'partition');
  }

  private partitionNow(names: readonly string[]): string {
    const group = this.nodes.filter((n) => names.includes(n));
    const rest = this.nodes.filter((n) => !names.includes(n));
    if (group.length === 0 || rest.length === 0) return this.done('partition: select some members, not all');
    return this.inject({ kind: 'partition', at: this.sim.nowMs, partition: [group, rest] }, `partitioned ${group.join(' ')} | rest`);
  }

  heal(): string {
    return this.act(() => this.inject({ kind: 'heal', at: this.sim.nowMs, heal: true }, 'healed the network'), 'heal');
  }

  pauseMember(names: readonly string[]): string {
    return this.act(() => this.pauseMemberNow(names), 'pauseMember');
  }

  private pauseMemberNow(names: readonly string[]): string {
    const up = names.filter((name) => this.sim.isUp(name) && !this.sim.isPaused(name));
    if (up.length === 0) return this.done('pause: nothing selected is running');
    for (const name of up) this.inject({ kind: 'pause', at: this.sim.nowMs, pause: name, for: this.options.pauseForMs }, `paused ${name}`);
    return this.done(`paused ${up.join(' ')} for ${this.options.pauseForMs / 1000} s`);
  }

  addLoss(): string {
    return this.act(() => this.addLossNow(), 'loss');
  }

  private addLossNow(): string {
    const current = this.sim.network.defaults.loss;
    // Round to whole percents so the recorded value replays exactly, and wrap to 0 past 50 %.
    const next = current + this.options.lossStep > 0.5 + 1e-9 ? 0 : Math.round((current + this.options.lossStep) * 100) / 100;
    return this.inject({ kind: 'loss', at: this.sim.nowMs, loss: next }, `default loss ${Math.round(next * 100)} %`);
  }

  /** The session as a scenario file (also what `save` writes). */
  scenarioYaml(): string {
    const seed = Number(this.sim.seed);
    return sessionToScenarioYaml(this.actions, {
      base: this.scenario, seed: Number.isSafeInteger(seed) ? seed : 1, durationMs: this.sim.nowMs, source: 'simulator',
      ...(this.progress === undefined ? {} : { scenarioDurationMs: this.progress.endMs }),
    });
  }

  /** Writes the session and says where, as an absolute path (the dashboard may have been started anywhere). */
  save(): string {
    const path = resolve(this.savePath);
    try {
      writeFileSync(path, this.scenarioYaml());
    } catch (error) {
      return this.done(`save failed: ${(error as Error).message}`);
    }
    const text = `saved ${this.actions.length} actions to ${path}`;
    this.model.pushEvent({ timeMs: this.sim.nowMs, kind: 'info', text });
    return this.done(text);
  }

  /**
   * Applies a fault after the running slice, at the next instant a quarter of a millisecond
   * past a whole millisecond. Protocol timers fire on whole milliseconds (integer delays
   * from a start at 0), and a scenario runner applies a fault before every other event of
   * its instant; an instant of its own keeps the order identical, so the saved session
   * replays to the same trace.
   */
  private act(apply: () => string, action: ActionName): string {
    if (!this.capabilities.has(action)) return this.done(unavailable(action, 'a bare simulation has no scenario runner to apply faults'));
    this.busy = this.busy.then(async () => {
      try {
        const atMs = faultInstantMs(this.sim.nowMs);
        const refusal = this.progress?.faultRefusal(atMs);
        if (refusal !== undefined) return void this.done(refusal);
        // Exclusive: the fault goes before every event of its instant, as in a replay,
        // even one that lands there by coincidence (a timer set by a pause's end).
        await this.sim.runUntilAsync(atMs, { exclusive: true });
        apply();
      } catch (error) {
        this.done(`action failed: ${(error as Error).message}`);
      }
    });
    return 'queued';
  }

  /** Applies a recorded action through the scenario runner, as a replay of the session will. */
  private inject(action: RecordedAction, text: string): string {
    this.run!.built.apply(action);
    return this.record(action, text);
  }

  private record(action: RecordedAction, text: string): string {
    if (this.actions.length < recordedActionsMax) this.actions.push(action);
    this.model.pushEvent({ timeMs: this.sim.nowMs, kind: 'fault', text });
    return this.done(text);
  }

  private done(message: string): string {
    this.model.setStatus({ message });
    this.refresh();
    return message;
  }
}

function defaultReadNode(app: unknown): MemberNode | undefined {
  if (isMemberNode(app)) return app;
  const inner = (app as { swim?: unknown } | undefined)?.swim;
  return isMemberNode(inner) ? inner : undefined;
}

function isMemberNode(value: unknown): value is MemberNode {
  return typeof value === 'object' && value !== null && typeof (value as MemberNode).members === 'function';
}

export function speedLabel(speed: number): string {
  return speed === Infinity ? 'max' : `×${speed}`;
}

export function latencyLabel(spec: LatencySpec): string {
  switch (spec.kind) {
    case 'constant': return `${spec.ms} ms`;
    case 'uniform': return `${spec.minMs}–${spec.maxMs} ms`;
    case 'normal': return `normal ${spec.meanMs}±${spec.stdDevMs} ms`;
    case 'exponential': return `exp mean ${spec.meanMs} ms`;
    case 'pareto': return `pareto ${spec.scaleMs} ms α${spec.shape}`;
    case 'lognormal': return `lognormal median ${spec.medianMs} ms`;
  }
}
