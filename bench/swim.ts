import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { randomInt } from '../core/index.ts';
import { SeededRandom } from '../sim/index.ts';
import type { MembershipEvent, Swim, SwimConfigInput } from '../core/swim/index.ts';
import { buildSwimCluster, swimHost } from '../sim/hosts/swim.ts';
import { Simulation } from '../sim/index.ts';

/**
 * SWIM in the simulator: for each cluster size one child process (so peak RSS is per size)
 * simulates `simulatedMs` of a LAN cluster: join, steady state, a series of crashes and a
 * late join. A separate run compares false "failed" declarations with Lifeguard on and
 * off, with slow members and 10 % loss.
 */

export interface SwimSizeResult {
  size: number;
  simulatedMs: number;
  wallSeconds: number;
  peakRssMiB: number;
  events: number;
  convergedAtMs: number | null;
  crashes: number;
  /** Median over crashes: first suspicion by any member, in protocol periods after the crash. */
  firstDetectionPeriodsMedian: number | null;
  /** Median over crashes: ms until every live member marked the crashed member failed. */
  fullDetectionMsMedian: number | null;
  /** The target at this size: first detection + minimum suspicion timeout + 2 s. */
  fullDetectionTargetMs: number | null;
  /** ms until 99.99 % of the live members (all, below 10 000) knew a member that joined late. */
  joinDissemination9999Ms: number | null;
  /** Steady state, per member: all SWIM bytes sent per second, and the piggybacked-gossip part. */
  bytesPerSecPerMember: number;
  gossipBytesPerSecPerMember: number;
  /**
   * Steady state, per member: CPU microseconds of the whole process (`process.cpuUsage`,
   * GC threads included) per simulated second, over the same 60 s window as the bytes.
   * What a quiet cluster costs to simulate, whatever the join cost: about 4 events per
   * member-second at every size, so it grows with N only through push-pull and memory.
   */
  steadyCpuMicrosPerMemberSecond: number | null;
  falseFailures: number;
  /**
   * Live heap once the cluster is steady (after two full collections), over size²: what
   * one member's record costs at one observer, everything else included (at small sizes the
   * fixed heap, about 11 MB, dominates: 1 167 B at 100). Null when the process was not
   * started with `--expose-gc` (the bench's children are) or the run ended before the
   * steady point (a third of the simulated time, at most 120 s + 10 ms per member).
   */
  heapBytesPerPair: number | null;
}

const lanProbeIntervalMs = 1000;

/** The live heap after two full collections, when `--expose-gc` made `gc` available. */
function liveHeapBytes(): number | null {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return null;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/**
 * A child stops once this share of its heap limit is still in use after a full collection:
 * left alone, V8 would spend minutes collecting ever more often before it gave up (at N =
 * 10 000 with a 4 GiB heap, about 4 minutes).
 */
const heapFullShare = 0.85;

/** The old generation's limit: `--max-old-space-size` when given (V8's heap limit adds the young generation to it). */
const oldSpaceLimitBytes = ((): number => {
  const flag = process.execArgv.find((a) => a.startsWith('--max-old-space-size='));
  const mib = flag === undefined ? NaN : Number(flag.slice('--max-old-space-size='.length));
  return Number.isFinite(mib) && mib > 0 ? mib * 1048576 : getHeapStatistics().heap_size_limit;
})();

/** The heap in use after a full collection when that is above `heapFullShare` of the limit (checked only when the heap in use is), else undefined. */
function heapNearlyFull(): { liveBytes: number; limitBytes: number } | undefined {
  const gc = (globalThis as { gc?: () => void }).gc;
  const limitBytes = oldSpaceLimitBytes;
  if (gc === undefined || getHeapStatistics().used_heap_size < heapFullShare * limitBytes) return undefined;
  gc();
  const liveBytes = getHeapStatistics().used_heap_size;
  return liveBytes < heapFullShare * limitBytes ? undefined : { liveBytes, limitBytes };
}

/** How often (simulated ms) a guarded run looks at its heap. */
const heapCheckEveryMs = 100;

/** A run stopped by `heapNearlyFull`: the child prints its message as its last line. */
export class HeapFullError extends Error {
  constructor(readonly liveBytes: number, readonly limitBytes: number, readonly simulatedMs: number) {
    super(`HeapFull: ${Math.round(liveBytes / 1048576)} of ${Math.round(limitBytes / 1048576)} MiB in use after a full collection at ${simulatedMs / 1000} s simulated`);
  }
}

/** How often a child reports how far it got (simulated ms), so a run that dies says where. */
const progressEveryMs = 5_000;

/** One progress line on stderr: `progress <simulated ms> <members started> <rss MiB>`. */
function reportProgress(simulatedMs: number, started: number): void {
  process.stderr.write(`progress ${simulatedMs} ${started} ${Math.round(process.memoryUsage.rss() / 1048576)}\n`);
}

/**
 * One size. `progress` is told how far the run got every 5 s simulated; with `guardHeap`
 * (the bench's children) the run throws `HeapFullError` once the heap stays nearly full
 * after a full collection (a collection it forces only when the heap in use is that high).
 */
export function runSwimSize(size: number, simulatedMs: number, seed = 1, progress?: (simulatedMs: number, started: number) => void, guardHeap = false): SwimSizeResult {
  const sim = new Simulation({ seed, trace: { capacity: 0 } });
  const config: SwimConfigInput = { preset: 'lan' };
  const seeds = Array.from({ length: Math.min(5, size) }, (_, i) => `n${i}`);
  const startWall = performance.now();
  const cluster = buildSwimCluster(sim, { size, config, seeds, emitEvents: false, staggerMs: Math.min(20_000, size * 10) });
  const crashed = new Set<string>();
  const falseFailures = { count: 0 };
  // Per crash: when, first suspicion, how many live members marked it failed and when the last did.
  const crashes = new Map<string, { atMs: number; firstSuspectMs?: number; failedBy: number; allFailedMs?: number; liveAtCrash: number }>();
  const late = { name: `late${size}`, startMs: 0, knownBy: 0, doneMs: undefined as number | undefined };
  const watch = (host: string, swim: Swim) => swim.subscribe((e: MembershipEvent) => {
    const c = crashes.get(e.name);
    if (e.type === 'suspect' && c !== undefined && c.firstSuspectMs === undefined) c.firstSuspectMs = sim.nowMs;
    if (e.type === 'failed') {
      if (!crashed.has(e.name)) falseFailures.count++;
      if (c !== undefined && !crashed.has(host)) {
        c.failedBy++;
        if (c.failedBy === c.liveAtCrash) c.allFailedMs = sim.nowMs;
      }
    }
    if (e.type === 'joined' && e.name === late.name) {
      late.knownBy++;
      if (late.doneMs === undefined && late.knownBy >= Math.ceil(0.9999 * (size - crashed.size))) late.doneMs = sim.nowMs;
    }
  });
  // The running members, O(n) (a scan per name of the host list would be O(n²) at every check).
  const running = () => {
    const nodes: Swim[] = [];
    for (const n of cluster.names) {
      const swim = cluster.node(n);
      if (swim !== undefined && sim.isUp(n)) nodes.push(swim);
    }
    return nodes;
  };
  const subscribed = new Set<string>();
  const subscribeAll = () => {
    for (const n of cluster.names) {
      const swim = cluster.node(n);
      if (subscribed.has(n) || swim === undefined) continue;
      subscribed.add(n);
      watch(n, swim);
    }
  };
  // Converged: every member sees all of them (checked once per simulated second).
  let convergedAtMs: number | null = null;
  const steadyFromMs = Math.min(simulatedMs / 3, 120_000 + size * 10);
  const random = new SeededRandom(`bench-${seed}`);
  const crashTimes: number[] = [];
  for (let t = steadyFromMs + 60_000; t < simulatedMs - 90_000; t += 40_000) crashTimes.push(t);
  let bytesAt: { t: number; bytes: number; gossip: number; cpu: NodeJS.CpuUsage } | undefined;
  let bytesRate = { all: 0, gossip: 0 };
  let steadyCpuMicros: number | null = null;
  const totals = () => {
    let bytes = 0;
    let gossip = 0;
    for (const n of running()) {
      bytes += n.stats.bytesSent;
      gossip += n.stats.gossipBytesSent;
    }
    return { bytes, gossip };
  };
  let events = 0;
  let heapBytesPerPair: number | null = null;
  /** Wall time spent measuring the heap (forced collections), left out of `wallSeconds`. */
  let measuringMs = 0;
  for (let t = 1000; t <= simulatedMs; t += 1000) {
    if (guardHeap) {
      // A join can fill hundreds of MiB in a simulated second: look every tenth of one.
      for (let step = t - 1000 + heapCheckEveryMs; step <= t; step += heapCheckEveryMs) {
        events += sim.runUntil(step);
        const gcFrom = performance.now();
        const full = heapNearlyFull();
        measuringMs += performance.now() - gcFrom;
        if (full !== undefined) {
          progress?.(step, sim.hostNames().length);
          throw new HeapFullError(full.liveBytes, full.limitBytes, step);
        }
      }
    } else {
      events += sim.runUntil(t);
    }
    if (progress !== undefined && t % progressEveryMs === 0) progress(t, sim.hostNames().length);
    if (convergedAtMs === null && t > Math.min(20_000, size * 10)) {
      const nodes = running();
      if (nodes.length === size && nodes.every((n) => n.liveMembers === size)) convergedAtMs = t;
    }
    if (t === Math.floor(steadyFromMs / 1000) * 1000) {
      const gcFrom = performance.now();
      const live = liveHeapBytes();
      measuringMs += performance.now() - gcFrom;
      heapBytesPerPair = live === null ? null : Math.round(live / (size * size));
      subscribeAll();
      const x = totals();
      bytesAt = { t, bytes: x.bytes, gossip: x.gossip, cpu: process.cpuUsage() };
    }
    if (bytesAt !== undefined && t === bytesAt.t + 60_000) {
      const x = totals();
      const perMemberSec = 1 / (size * 60);
      bytesRate = { all: (x.bytes - bytesAt.bytes) * perMemberSec, gossip: (x.gossip - bytesAt.gossip) * perMemberSec };
      const cpu = process.cpuUsage(bytesAt.cpu);
      steadyCpuMicros = (cpu.user + cpu.system) * perMemberSec;
    }
    if (crashTimes.includes(t)) {
      let victim: string;
      do victim = cluster.names[5 + randomInt(random, Math.max(1, size - 5))] ?? cluster.names[size - 1]!;
      while (crashed.has(victim) && crashed.size < size - 5);
      sim.crash(victim);
      crashed.add(victim);
      crashes.set(victim, { atMs: t, failedBy: 0, liveAtCrash: size - crashed.size });
    }
    if (t === simulatedMs - 60_000) {
      late.startMs = t;
      sim.host(late.name, swimHost({ config, seeds: seeds.map((s) => `${s}:7946`), emitEvents: false }));
    }
  }
  const wallSeconds = (performance.now() - startWall - measuringMs) / 1000;
  const done = [...crashes.values()];
  const first = done.filter((c) => c.firstSuspectMs !== undefined).map((c) => (c.firstSuspectMs! - c.atMs) / lanProbeIntervalMs);
  const full = done.filter((c) => c.allFailedMs !== undefined).map((c) => c.allFailedMs! - c.atMs);
  const minSuspicionMs = 4 * Math.max(1, Math.log10(size)) * lanProbeIntervalMs;
  const firstMedian = median(first);
  return {
    size, simulatedMs, wallSeconds: round(wallSeconds), peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), events,
    convergedAtMs, crashes: done.length,
    firstDetectionPeriodsMedian: firstMedian === null ? null : round(firstMedian),
    fullDetectionMsMedian: median(full),
    fullDetectionTargetMs: firstMedian === null ? null : Math.round(firstMedian * lanProbeIntervalMs + minSuspicionMs + 2000),
    joinDissemination9999Ms: late.doneMs === undefined ? null : Math.round(late.doneMs - late.startMs),
    bytesPerSecPerMember: Math.round(bytesRate.all), gossipBytesPerSecPerMember: Math.round(bytesRate.gossip),
    steadyCpuMicrosPerMemberSecond: steadyCpuMicros === null ? null : round(steadyCpuMicros),
    falseFailures: falseFailures.count, heapBytesPerPair,
  };
}

export interface FalsePositiveResult {
  size: number;
  simulatedMs: number;
  loss: number;
  slowMembers: number;
  lifeguardOn: number;
  lifeguardOff: number;
  /** off / on (Infinity shown as null when on is 0). */
  reduction: number | null;
}

/**
 * False "failed" declarations (no member ever crashes) with slow members (20 % of them
 * are frozen for 2–8 s every 5–15 s: GC pauses, CPU starvation) and 10 % uniform loss.
 */
const slowCount = (size: number) => Math.max(1, Math.round(size / 5));

export function runFalsePositives(size: number, simulatedMs: number, seed = 1): FalsePositiveResult {
  const run = (lifeguard: boolean) => {
    const sim = new Simulation({ seed, trace: { capacity: 0 }, network: { loss: 0.1 } });
    const config: SwimConfigInput = { preset: 'lan', awarenessEnabled: lifeguard, dynamicSuspicionEnabled: lifeguard, buddySystemEnabled: lifeguard };
    const cluster = buildSwimCluster(sim, { size, config, emitEvents: false, seeds: ['n0', 'n1', 'n2'] });
    const random = new SeededRandom(`slow-${seed}`);
    const slow = cluster.names.slice(size - slowCount(size));
    let failed = 0;
    sim.runUntil(30_000);
    for (const n of cluster.nodes()) n.subscribe((e) => { if (e.type === 'failed') failed++; });
    for (const name of slow) {
      const freeze = () => {
        sim.pauseFor(name, 2000 + random.next() * 6000);
        sim.after(5000 + random.next() * 10_000, freeze);
      };
      sim.after(random.next() * 5000, freeze);
    }
    sim.runUntil(simulatedMs);
    return failed;
  };
  const on = run(true);
  const off = run(false);
  return { size, simulatedMs, loss: 0.1, slowMembers: slowCount(size), lifeguardOn: on, lifeguardOff: off, reduction: on === 0 ? null : round(off / on) };
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** The young generation's semi-space of each child, MiB. */
export const semiSpaceMiB = 32;

/** Runs one size in a child process, so each gets its own heap limit and peak RSS. */
export function runSwimSizeInChild(size: number, simulatedMs: number, heapMiB: number, timeoutMs: number): SwimSizeResult | ({ size: number } & SwimSizeFailure) {
  const file = fileURLToPath(import.meta.url);
  // A 32 MiB semi-space (V8's default is 16): a join allocates short-lived messages faster
  // than the default young generation turns over, and promotes some of them. ~7 % less CPU
  // at N = 1 000, the same peak RSS (docs/MEMBERSHIP.md).
  const child = spawnSync(process.execPath, [`--max-old-space-size=${heapMiB}`, `--max-semi-space-size=${semiSpaceMiB}`, '--expose-gc', '--import', 'tsx', file, String(size), String(simulatedMs)], {
    encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 20,
  });
  const line = child.stdout?.trim().split('\n').pop();
  if (child.status === 0 && line) return JSON.parse(line) as SwimSizeResult;
  const stopped = child.signal === 'SIGTERM' ? { timedOutAfterMs: timeoutMs } : child.signal !== null ? { signal: child.signal } : {};
  return { size, ...childFailure(child.stderr ?? '', stopped, heapMiB) };
}

/** What a child that did not finish got through, from its progress lines, and why it stopped. */
export interface SwimSizeFailure {
  error: string;
  /** The last simulated time it reported (progress every 5 s simulated), and the members started by then. */
  reachedSimulatedMs?: number;
  membersStarted?: number;
  /** Its resident memory at that report, MiB. */
  rssMiB?: number;
}

export function childFailure(stderr: string, stopped: { timedOutAfterMs?: number; signal?: string }, heapMiB: number): SwimSizeFailure {
  const lines = stderr.trim().split('\n');
  const last = lines.filter((l) => l.startsWith('progress ')).pop()?.split(' ').map(Number);
  const reached = last === undefined ? {} : { reachedSimulatedMs: last[1]!, membersStarted: last[2]!, rssMiB: last[3]! };
  const where = last === undefined ? 'before its first progress report' : `after ${last[1]! / 1000} s simulated (${last[2]} members started, RSS ${last[3]} MiB)`;
  let why: string;
  if (stopped.timedOutAfterMs !== undefined) why = `timed out after ${stopped.timedOutAfterMs / 1000} s wall`;
  else if (/heap out of memory|Reached heap limit/.test(stderr)) why = `ran out of its ${heapMiB} MiB heap`;
  else if (/^HeapFull: /m.test(stderr)) why = `ran out of its ${heapMiB} MiB heap (${/^HeapFull: (\d+) of/m.exec(stderr)![1]} MiB still in use after a full collection)`;
  else if (stopped.signal !== undefined) why = `was killed by ${stopped.signal}`;
  else {
    // An uncaught exception ends with its stack and Node's version line: name the error itself.
    const error = lines.find((l) => /^\w*Error\b/.test(l));
    why = error ?? (lines.filter((l) => !l.startsWith('progress ') && l.trim() !== '').pop() || 'exited without a result');
  }
  return { error: `did not complete: ${why} ${where}`, ...reached };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const size = Number(process.argv[2] ?? 100);
  const simulatedMs = Number(process.argv[3] ?? 600_000);
  try {
    console.log(JSON.stringify(size === 0 ? runFalsePositives(100, simulatedMs) : runSwimSize(size, simulatedMs, 1, reportProgress, true)));
  } catch (error) {
    if (!(error instanceof HeapFullError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 3;
  }
}

/**
 * The `shoal bench swim` entry: each size in its own child process (a size that runs out
 * of heap or wall time is reported as such, not fatal), then the Lifeguard comparison.
 * One run per size: a 600 s simulation of 1 000 members is the expensive part. Options:
 * `--hosts N` (one size instead of 100, 1 000 and 10 000), `--duration MS` (simulated,
 * default 600 000). A child can also be run alone: `node --import tsx bench/swim.ts N MS`.
 */
export async function runSwimBench(args: Readonly<Record<string, string | boolean>>): Promise<Record<string, unknown>> {
  const sizes = typeof args.hosts === 'string' ? [Number(args.hosts)] : [100, 1000, 10_000];
  const simulatedMs = typeof args.duration === 'string' ? Number(args.duration) : 600_000;
  const results = sizes.map((size) => runSwimSizeInChild(size, simulatedMs, size >= 10_000 ? 4096 : 3072, size >= 10_000 ? 300_000 : 900_000));
  const falsePositives = runSwimSizeInChildFalsePositives(300_000);
  return { preset: 'lan', statistic: 'single run per size (seed 1)', sizes: results, falsePositives };
}

function runSwimSizeInChildFalsePositives(simulatedMs: number): FalsePositiveResult | { error: string } {
  const r = runSwimSizeInChild(0, simulatedMs, 2048, 600_000) as unknown;
  return r as FalsePositiveResult | { error: string };
}
