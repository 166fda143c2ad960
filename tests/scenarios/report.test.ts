import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameType, Status, encodeFrame, encodeHeaders, encodePreamble, encodeTrailer, defaultLimits } from '../../core/rpc/index.ts';
import { MessageType, encodeMessage, encodeState, type SwimMessage } from '../../core/swim/index.ts';
import { loadScenarioFile } from '../../scenarios/load.ts';
import { faultLabel } from '../../scenarios/faults.ts';
import { faultBands } from '../../scenarios/report/faults.ts';
import { RpcCallNames, labelPayload } from '../../scenarios/report/message-kind.ts';
import { chosenWindow, defaultWindow } from '../../scenarios/report/window.ts';
import { mergeSweeps, type SweepSummary } from '../../scenarios/sweep-summary.ts';
import { shardSeeds } from '../../scenarios/sweep.ts';

const packet = (...messages: SwimMessage[]) => Uint8Array.from([1, ...messages.flatMap((m) => [...encodeMessage(m, new Uint8Array(1_400))])]);
const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

describe('message labels', () => {
  it('names a SWIM packet by its probe and counts the piggybacked gossip', () => {
    expect(labelPayload(packet({ type: MessageType.Ping, seq: 4, target: 'n2' }))).toMatchObject({ kind: 'ping', text: 'ping' });
    const compound = labelPayload(packet({ type: MessageType.Suspect, name: 'n3', incarnation: 1, from: 'n1' }, { type: MessageType.Ack, seq: 9 }));
    expect(compound).toMatchObject({ kind: 'ack', text: 'ack +1' });
    expect(compound.detail).toBe('suspect n3 inc 1 by n1; ack #9');
    expect(labelPayload(packet({ type: MessageType.Dead, name: 'n3', incarnation: 2, from: 'n3' }))).toMatchObject({ kind: 'left', text: 'left n3' });
    expect(labelPayload(packet({ type: MessageType.IndirectPing, seq: 1, target: 'n4', targetAddress: 'n4:7946', wantNack: true })).kind).toBe('ping-req');
  });

  it('names RPC frames by their call: the method from HEADERS, the status from TRAILER', () => {
    const names = new RpcCallNames();
    const call = labelPayload(concat(encodePreamble(defaultLimits), encodeFrame(FrameType.HEADERS, 0, 7, encodeHeaders('kv.v1/put', 0, new Uint8Array(0)))));
    expect(names.name(call, 'client', 'n1')).toMatchObject({ kind: 'rpc', text: 'hello + → kv.v1/put' });
    const request = labelPayload(encodeFrame(FrameType.MESSAGE, 1, 7, Uint8Array.of(1, 2)));
    expect(names.name(request, 'client', 'n1').text).toBe('kv.v1/put request');
    const trailer = labelPayload(encodeFrame(FrameType.TRAILER, 0, 7, encodeTrailer(Status.UNAVAILABLE, 'gone', undefined)));
    expect(names.name(trailer, 'n1', 'client').text).toBe('kv.v1/put UNAVAILABLE');
  });

  it('tells push-pull state frames from RPC frames', () => {
    const state = encodeState({ join: true, members: [{ name: 'n1', address: 'n1:7946', incarnation: 1, state: 0, tags: {} }] }, 65_536);
    expect(labelPayload(state)).toMatchObject({ kind: 'push-pull', text: 'push-pull join' });
  });

  it('labels any bytes without throwing: what parses as nothing is "?"', () => {
    expect(labelPayload(new Uint8Array(0)).kind).toBe('?');
    expect(labelPayload(Uint8Array.of(1, MessageType.Ping, 0x90)).kind).toBe('?');
    const names = new RpcCallNames();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
      const label = labelPayload(bytes);
      expect(typeof names.name(label, 'a', 'b').text).toBe('string');
    }), { numRuns: 2_000 });
  });
});

describe('faults and the diagram window', () => {
  const scenario = loadScenarioFile('scenarios/library/partition-heal.yaml');

  it('describes faults in words and holds each over its time', () => {
    expect(faultLabel(scenario.faults[0]!)).toBe('partition n1 n2 n3 n4 n5 | n6 n7 n8 n9 n10');
    expect(faultBands(scenario)).toEqual([
      { fromMs: 10_000, toMs: 50_000, label: 'partition n1 n2 n3 n4 n5 | n6 n7 n8 n9 n10', kind: 'partition' },
      { fromMs: 50_000, toMs: 50_000, label: 'heal', kind: 'heal' },
    ]);
    const crash = { ...scenario, faults: [{ kind: 'crash', at: 5_000, crash: 'n3' }, { kind: 'pause', at: 6_000, pause: ['n1', 'n2'], for: 2_000 }, { kind: 'restart', at: 9_000, restart: 'n3' }] } as typeof scenario;
    expect(faultBands(crash).map((b) => [b.label, b.fromMs, b.toMs, b.nodes])).toEqual([
      ['crash n3', 5_000, 9_000, ['n3']], ['pause n1 n2 for 2 s', 6_000, 8_000, ['n1', 'n2']], ['restart n3', 9_000, 9_000, ['n3']],
    ]);
  });

  it('draws 5 s from just before the first failed expectation\'s fault, else the first fault', () => {
    expect(defaultWindow(scenario)).toMatchObject({ fromMs: 9_500, toMs: 14_500 });
    const failedConvergence = defaultWindow(scenario, [{ ok: true, name: 'partition detected' }, { ok: false, name: 'converge' }]);
    expect(failedConvergence).toMatchObject({ fromMs: 49_500, toMs: 54_500 });
    expect(failedConvergence.reason).toMatch(/first failed expectation \(converge\)/);
    expect(defaultWindow({ ...scenario, faults: [], duration: 3_000 })).toMatchObject({ fromMs: 0, toMs: 3_000 });
  });

  it('checks --from and --to against the run', () => {
    expect(chosenWindow(9_000, 12_000, 90_000)).toEqual({ fromMs: 9_000, toMs: 12_000 });
    expect(chosenWindow(9_000, undefined, 90_000)).toEqual({ fromMs: 9_000, toMs: 14_000 });
    expect(chosenWindow(undefined, 3_000, 90_000)).toEqual({ fromMs: 0, toMs: 3_000 });
    expect(chosenWindow(5_000, 1_000, 90_000)).toBe('--from 5000 must be before --to 1000');
    expect(chosenWindow(100_000, undefined, 90_000)).toBe('--from 100000 is past the end of the run (90000 ms)');
  });
});

describe('sharded sweeps', () => {
  it('cuts the seeds into disjoint slices that cover them all', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 40 }), (count, shards) => {
      const seeds = Array.from({ length: count }, (_, i) => i + 1);
      const slices = Array.from({ length: shards }, (_, k) => shardSeeds(seeds, k + 1, shards));
      expect(slices.flat()).toEqual(seeds);
      for (const slice of slices) expect(slice.length).toBeGreaterThanOrEqual(Math.floor(count / shards));
    }));
    expect(() => shardSeeds([1, 2], 3, 2)).toThrow(/K must be from 1 to N/);
  });

  it('refuses shards of different sweeps and shards that overlap', () => {
    const shard = (file: string, seeds: number[]): SweepSummary => ({
      file, scenario: 's', range: '1..4', seeds: seeds.length, passed: seeds.length, failed: 0, runaway: 0, wallMs: 1, failures: [],
      results: seeds.map((seed) => ({ seed, ok: true, failed: [], traceHash: `h${seed}` })),
    });
    expect(() => mergeSweeps([{ summary: shard('a.yaml', [1, 2]), source: 'A' }, { summary: shard('b.yaml', [3, 4]), source: 'B' }])).toThrow(/B: file "b.yaml" differs/);
    expect(() => mergeSweeps([{ summary: shard('a.yaml', [1, 2]), source: 'A' }, { summary: shard('a.yaml', [2, 3]), source: 'B' }])).toThrow(/seed 2 is also in A/);
  });

  it('merges shards run here into the unsharded sweep, seed by seed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shoal-shards-'));
    const file = 'scenarios/library/local-crash.yaml';
    const run = (...args: string[]) => spawnSync(process.execPath, ['bin/shoal.js', 'sweep', ...args], { encoding: 'utf8', timeout: 120_000 });
    const whole = run(file, '--seeds', '1..9', '--jobs', '2', '--json');
    expect(whole.stderr).toMatch(/^sweep: 9\/9 seeds \(100 %\), \d+ failed, [\d.]+ seeds\/s$/m);
    const shards = [1, 2, 3].map((k) => {
      const out = join(dir, `shard-${k}.json`);
      const r = spawnSync('bash', ['-c', `node bin/shoal.js sweep ${file} --seeds 1..9 --shard ${k}/3 --jobs 1 --json > ${out}`], { encoding: 'utf8', timeout: 120_000 });
      expect(r.stderr).toContain(`(shard ${k}/3: seeds ${3 * k - 2}..${3 * k})`);
      return out;
    });
    const merged = spawnSync(process.execPath, ['bin/shoal.js', 'sweep', 'merge', ...shards.reverse(), '--json', '--report', join(dir, 'merged.html')], { encoding: 'utf8' });
    const outcome = (text: string) => (JSON.parse(text) as SweepSummary).results.map((r) => ({ seed: r.seed, ok: r.ok, traceHash: r.traceHash, failed: r.failed, figures: r.figures }));
    expect(outcome(merged.stdout)).toEqual(outcome(whole.stdout));
    expect(JSON.parse(merged.stdout)).toMatchObject({ seeds: 9, shards: ['3/3', '2/3', '1/3'], range: '1..9' });
    expect(merged.status).toBe(whole.status);
    expect(readFileSync(join(dir, 'merged.html'), 'utf8')).toContain('id="fig-detection"');
    expect(spawnSync(process.execPath, ['bin/shoal.js', 'sweep', 'merge', shards[0]!, shards[0]!], { encoding: 'utf8' }).stderr).toMatch(/shards must be disjoint/);
    expect(run(file, '--seeds', '1..9', '--shard', '4/3').stderr).toMatch(/--shard must be K\/N with K from 1 to N/);
    // Shards missing: the partial result is printed, and the exit says it is partial.
    const partial = spawnSync(process.execPath, ['bin/shoal.js', 'sweep', 'merge', shards[0]!, shards[1]!, '--json'], { encoding: 'utf8' });
    expect(partial.status).toBe(2);
    expect(partial.stderr).toMatch(/missing shard 1\/3/);
    expect(JSON.parse(partial.stdout)).toMatchObject({ seeds: 6 });
  });
});
