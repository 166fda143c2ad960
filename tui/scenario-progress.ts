import type { ScenarioRun } from '../scenarios/runner.ts';
import { formatTime } from './components/format.ts';
import { liveExpectations } from './expectation-status.ts';
import type { ClusterModel } from './model.ts';
import type { RunPhase } from './types.ts';

/**
 * Where a dashboard run stands against its scenario: the end it stops at (exactly where
 * `shoal run` stops), whether the person continued past it, and the scenario's
 * expectations checked as the run goes with the runner's own checks. Writes what it
 * knows into the model; the source commits.
 */
export class ScenarioProgress {
  /** The scenario's end (its `duration`). */
  readonly endMs: number;
  private phaseValue: RunPhase = 'before-end';
  /** When the expectations were last checked (simulated time). */
  private checkedAtMs = -Infinity;

  /**
   * @param checkEveryMs simulated time between two checks before the end: each rereads
   *   every observation of the run, so not after every slice.
   */
  constructor(private readonly run: ScenarioRun, private readonly model: ClusterModel, private readonly checkEveryMs: number) {
    this.endMs = run.built.scenario.duration;
    this.model.setStatus({ endMs: this.endMs, phase: this.phaseValue });
    this.check(run.built.sim.nowMs);
  }

  get phase(): RunPhase {
    return this.phaseValue;
  }

  /** How far the run may go now: the end, until the person continues past it. */
  get limitMs(): number {
    return this.phaseValue === 'before-end' ? this.endMs : Infinity;
  }

  /** After a slice: stops the run at the end with the verdict, or checks the expectations so far. */
  afterSlice(nowMs: number): void {
    if (this.phaseValue === 'before-end' && nowMs >= this.endMs) this.reachEnd(nowMs);
    else this.check(nowMs);
  }

  /** Why a fault at `atMs` cannot be taken (it would not be part of the run, nor of its replay); undefined when it can. */
  faultRefusal(atMs: number): string | undefined {
    if (this.phaseValue === 'ended') return this.endedHint();
    if (this.phaseValue === 'before-end' && atMs >= this.endMs) return `too close to the scenario's end at ${formatTime(this.endMs)} for a fault`;
    return undefined;
  }

  endedHint(): string {
    return `the scenario ended at ${formatTime(this.endMs)}: n continues past the end`;
  }

  /** Lets the run go on past the end; the message says what happened. */
  continuePastEnd(nowMs: number): { continued: boolean; message: string } {
    if (this.phaseValue === 'before-end') return { continued: false, message: `the scenario ends at ${formatTime(this.endMs)}; n continues past it once it is reached` };
    if (this.phaseValue === 'past-end') return { continued: false, message: 'already past the scenario\'s end' };
    this.setPhase('past-end');
    this.model.pushEvent({ timeMs: nowMs, kind: 'info', text: 'continued past the scenario\'s end' });
    return { continued: true, message: `continuing past the scenario's end (its verdict stays as at ${formatTime(this.endMs)})` };
  }

  private reachEnd(nowMs: number): void {
    this.setPhase('ended');
    this.check(nowMs);
    this.announceVerdict(nowMs);
    // Checkers of histories (linearizable, check) run on the whole history once the run ended.
    const { scenario, observer } = this.run.built;
    if (!scenario.expect.some((e) => e.kind === 'linearizable' || e.kind === 'check')) return;
    void this.run.finish().then((report) => {
      const results = liveExpectations(scenario.expect, report.expectations, observer.faults, nowMs, true);
      this.model.setExpectations({ results, final: true, checkedAtMs: nowMs });
      this.announceVerdict(nowMs);
    });
  }

  private announceVerdict(nowMs: number): void {
    const results = this.model.expectations?.results ?? [];
    const passed = results.filter((r) => r.status === 'passed').length;
    const verdict = results.length === 0 ? '' : `: ${passed === results.length ? 'PASS' : 'FAIL'}, ${passed}/${results.length} expectations passed`;
    this.model.pushEvent({ timeMs: nowMs, kind: 'info', text: `scenario ended at ${formatTime(this.endMs)}${verdict}` });
    this.model.setStatus({ message: `scenario ended${verdict} · n continues past the end` });
  }

  /**
   * Checks the expectations with the scenario runner's checks (its report) on what happened
   * so far, at most once per `checkEveryMs`, and at the end for the verdict; past the end
   * the verdict stays as it was there.
   */
  private check(nowMs: number): void {
    const { scenario, observer } = this.run.built;
    if (scenario.expect.length === 0 || this.phaseValue === 'past-end') return;
    const ended = this.phaseValue === 'ended';
    if (!ended && nowMs - this.checkedAtMs < this.checkEveryMs) return;
    this.checkedAtMs = nowMs;
    const results = liveExpectations(scenario.expect, this.run.report().expectations, observer.faults, nowMs, ended);
    this.model.setExpectations({ results, final: ended, checkedAtMs: nowMs });
  }

  private setPhase(phase: RunPhase): void {
    this.phaseValue = phase;
    this.model.setStatus({ phase });
  }
}
