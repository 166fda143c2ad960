/**
 * `shoal/testing`: property tests of an app under faults. `checkApp` runs an app in the
 * simulator on a few SWIM members under a fault schedule and a seed, then checks a
 * property of the finished run; the fast-check arbitraries generate fault schedules
 * (crash, partition and loss windows over a node list, all within a chaos phase), so one
 * `fc.assert` tries the app under a hundred of them and shrinks a failure to its few
 * faults. A failure throws `AppCheckError`, which names the seed, the faults and a
 * one-line command that replays exactly that run (`SHOAL_CHECK='…' npx vitest run …`).
 *
 * `fc` is fast-check itself, re-exported so the arbitraries and the user's test share
 * one copy of it.
 *
 * @example
 * ```ts
 * import { checkApp, faultSchedule, fc } from 'shoal/testing';
 * import app from './my-app.ts';
 *
 * const nodes = ['n1', 'n2', 'n3'];
 * await fc.assert(fc.asyncProperty(faultSchedule({ nodes, durationMs: 6_000 }), fc.nat(), (schedule, seed) =>
 *   checkApp({
 *     app, nodes, schedule, seed, durationMs: 12_000, command: 'npx vitest run test/my-app.test.ts',
 *     property: (run) => nodes.every((n) => run.reported(n).get('members') === nodes.length),
 *   })), { numRuns: 100 });
 * ```
 */
import fc from 'fast-check';

export { fc };
export { AppCheckError, appRunReportsMax, checkApp, replayVariable } from './check/check-app.ts';
export type { AppRun, CheckAppOptions, TimedAppReport } from './check/check-app.ts';
export { crashWindow, faultSchedule, lossWindow, partitionWindow } from './check/arbitraries.ts';
export type { FaultScheduleOptions, FaultWindowOptions } from './check/arbitraries.ts';
export { applyFaultSchedule, checkFaultSchedule, faultStateAt, faultWindowsMax, formatWindow } from './check/fault-schedule.ts';
export type { FaultKind, FaultSchedule, FaultState, FaultWindow } from './check/fault-schedule.ts';
export type { AppClusterNode, AppMember, AppReport } from './hosts/app.ts';
