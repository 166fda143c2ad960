/**
 * Measures a `shoal node`'s RSS under the hostile loads of issue 11, one fresh pair of
 * nodes per load (the target, and a healthy peer that must not suspect it):
 *
 *   npx tsx scripts/measure-node-limits.ts [--load NAME,...] [--scale 1] [--rounds 1] [-- extra node flags]
 *
 * Loads: streams, calls, frames, flood, streamless, garbage (default: all, one after the
 * other). `--scale 0.25` shrinks every count. Extra flags after `--` go to the target node
 * (`-- --max-connections 100000` measures without that bound). `--rounds 2` runs each load
 * twice on the same nodes (RSS after the second shows whether memory is reused or leaks).
 * Prints one JSON line per load and round:
 * RSS before / peak / after (MiB), the refusals counted, the peer's suspicions of the target, and
 * `finished: false` when the load was not over (by the default limits' refusals) within 3 minutes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { QuicTransport } from '../net-real/index.ts';
import { limitFlagOptions, parseLimitFlags, type NodeLimits } from '../net-real/limits.ts';
import {
  connectMany, garbageDatagrams, makeDevCerts, rssMiB, samplePeakRss, sleep, startLoader, unfinishedFrames,
  unfinishedUnaryCalls, unroutedStreams,
} from '../tests/net-real/limit-loads.ts';
import { startNode, status, waitFor, type NodeProcess } from '../tests/net-real/node-harness.ts';

const mebibyte = 1024 * 1024;

interface Load {
  run(loader: QuicTransport, target: string, scale: number): Promise<unknown>;
  /** The load is over once the target's refusals say so (given its limits); it must be refused somewhere. */
  done(refused: Record<string, number>, scale: number, limits: NodeLimits): boolean;
}

const requestBytes = 1_000_000;
const frameHeaderBytes = 10;

/** The loads at the scale of the measurements. */
const loads: Record<string, Load> = {
  streams: { run: (l, t, s) => unroutedStreams(l, t, Math.round(40 * s), 999), done: (r, s) => r.route_timeout! >= Math.round(40 * s) },
  // Each connection holds the requests that fit beside the next frame; the rest of its calls are refused.
  calls: {
    run: (l, t, s) => unfinishedUnaryCalls(l, t, 2, Math.round(250 * s), requestBytes),
    done: (r, s, limits) => r.buffered_bytes! >= 2 * (Math.round(250 * s) - Math.floor(limits.maxBufferedBytesPerConnection / (requestBytes + frameHeaderBytes)) + 1),
  },
  // The partial frames that fit in the node-wide bound are held; the other connections are closed.
  frames: {
    run: (l, t, s) => unfinishedFrames(l, t, Math.round(100 * s), mebibyte),
    done: (r, s, limits) => r.buffered_bytes! >= Math.max(1, Math.round(100 * s) - Math.floor(limits.maxBufferedBytes / (mebibyte + frameHeaderBytes))),
  },
  flood: { run: (l, t, s) => connectMany(l, t, Math.round(2_000 * s), 2_000 / 6), done: () => true },
  streamless: { run: (l, t, s) => connectMany(l, t, Math.round(300 * s), 100), done: (r, s) => r.streamless_connection! >= Math.round(300 * s) },
  garbage: { run: (_, t, s) => garbageDatagrams(t, Math.round(10_000 * s)), done: () => true },
};

/** After a load: long enough for every timeout (route, streamless: 5 s by default) to close what the load left. */
const settleMs = 8_000;
/** Longest wait for a load to be over (QUIC moves a few MB/s here). */
const loadBoundMs = 180_000;

const { values, positionals } = parseArgs({ options: { load: { type: 'string' }, scale: { type: 'string' }, rounds: { type: 'string' } }, allowPositionals: true });
const names = values.load === undefined ? Object.keys(loads) : values.load.split(',');
const scale = Number(values.scale ?? 1);
const rounds = Number(values.rounds ?? 1);
const targetLimits = parseLimitFlags(parseArgs({ args: positionals, options: limitFlagOptions, strict: false }).values);
/** Nodes running now, killed if the script is interrupted. */
const running = new Set<NodeProcess>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const node of running) node.child.kill('SIGKILL');
    process.exit(1);
  });
}

interface StatusWithStats {
  stats: { suspicions: number };
  transport: { refused: Record<string, number> };
  members: { name: string; state: string }[];
}

async function measure(name: string, certDir: string): Promise<void> {
  // Default SWIM settings (LAN preset): what "not falsely suspected" has to hold for.
  const target = await startNode('target', ['--bind', '127.0.0.1:0', '--dev-certs', certDir, ...positionals]);
  running.add(target);
  const peer = await startNode('peer', ['--bind', '127.0.0.1:0', '--dev-certs', certDir, '--seeds', target.address]);
  running.add(peer);
  try {
    await waitFor(async () => (await status(peer))?.members.filter((m) => m.state === 'alive').length === 2, 15_000, () => 'peer did not join');
    await sleep(2_000);
    for (let n = 1; n <= rounds; n++) console.log(JSON.stringify({ load: name, round: n, ...await measureRound(name, certDir, target, peer) }));
  } finally {
    for (const node of [target, peer]) {
      node.child.kill('SIGKILL');
      running.delete(node);
    }
  }
}

/** One run of a load against a running target: RSS before / peak / after, what was refused, what the peer suspected. */
async function measureRound(name: string, certDir: string, target: NodeProcess, peer: NodeProcess): Promise<Record<string, unknown>> {
  const pid = target.child.pid!;
  const before = rssMiB(pid);
  const [t0, p0] = [await statusOf(target), await statusOf(peer)];
  const refusedSince = (now: Record<string, number>) => Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - (t0.transport.refused[k] ?? 0)]));
  const peak = samplePeakRss(pid);
  const loader = await startLoader(certDir);
  const watch = watchPeer(peer);
  const startedMs = performance.now();
  const load = loads[name]!;
  await load.run(loader, target.address, scale);
  // A target too busy to answer within a second has not finished; the peer's view says whether it is healthy.
  const finished = await until(async () => {
    const s = await status(target) as unknown as StatusWithStats | undefined;
    return s !== undefined && load.done(refusedSince(s.transport.refused), scale, targetLimits);
  }, loadBoundMs);
  const loadMs = Math.round(performance.now() - startedMs);
  await sleep(settleMs);
  const peakMiB = peak.stop();
  await loader.close();
  await sleep(2_000);
  const after = rssMiB(pid);
  const suspectedStates = watch.stop();
  const [t, p] = [await statusOf(target), await statusOf(peer)];
  return {
    scale, loadMs, finished, rssMiB: { before: round(before), peak: round(peakMiB), after: round(after) },
    refused: refusedSince(t.transport.refused), peerSuspicions: p.stats.suspicions - p0.stats.suspicions, targetSeenByPeer: suspectedStates,
    extraFlags: positionals,
  };
}

async function statusOf(node: NodeProcess): Promise<StatusWithStats> {
  const s = await status(node);
  if (s === undefined) throw new Error(`${node.name} does not answer /status`);
  return s as unknown as StatusWithStats;
}

/** Polls `check` every second until it holds (true) or `boundMs` passed (false). */
async function until(check: () => Promise<boolean>, boundMs: number): Promise<boolean> {
  const started = performance.now();
  for (;;) {
    if (await check()) return true;
    if (performance.now() - started > boundMs) return false;
    await sleep(1_000);
  }
}

/** Polls the peer's view of the target; `stop()` lists every state other than alive it saw. */
function watchPeer(peer: NodeProcess): { stop(): string[] } {
  const seen = new Set<string>();
  const timer = setInterval(() => {
    void status(peer).then((s) => {
      const state = s?.members.find((m) => m.name === 'target')?.state ?? 'no answer';
      if (state !== 'alive') seen.add(state);
    });
  }, 200);
  return {
    stop() {
      clearInterval(timer);
      return [...seen];
    },
  };
}

function round(mib: number): number {
  return Math.round(mib);
}

for (const name of names) {
  if (loads[name] === undefined) throw new Error(`unknown load ${name}; loads: ${Object.keys(loads).join(', ')}`);
  const certDir = mkdtempSync(join(tmpdir(), 'shoal-limits-'));
  try {
    makeDevCerts(certDir, ['target', 'peer', 'loader']);
    await measure(name, certDir);
  } finally {
    rmSync(certDir, { recursive: true, force: true });
  }
}
process.exit(0);
