import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/index.ts';
import { parseScenario } from '../../scenarios/load.ts';
import { abortedRun } from '../../scenarios/report.ts';
import { runScenario } from '../../scenarios/runner.ts';
import { EventLimitError, HostPanicError, Simulation, WallTimeoutError } from '../../sim/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'shoal-runaway-'));
const shoal = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['bin/shoal.js', ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, SHOAL_DEBUG: '', ...env } });

const crashText = `name: crash
duration: 20s
cluster: { size: 6, tags: { all: { role: worker } } }
faults: [ { at: 5s, crash: n6 } ]
workload: { rate: 20, method: compute }
expect: [ { no-rpc-outcome-lost: true } ]
`;
/** An hour of a busy cluster: minutes of wall time, so only a timeout ends it within a test. */
const longText = `name: long
duration: 1h
cluster: { size: 12 }
network: { loss: 0.05 }
workload: { rate: 200, method: compute }
expect: [ { no-rpc-outcome-lost: true } ]
`;
const crashFile = join(dir, 'crash.yaml');
const longFile = join(dir, 'long.yaml');
writeFileSync(crashFile, crashText);
writeFileSync(longFile, longText);

const stackLine = /^\s+at /m;

describe('run limits in the simulator', () => {
  it('a wall-clock budget stops a livelock at one simulated instant', () => {
    const sim = new Simulation({ seed: 4, reproduce: 'npx shoal run spin.yaml --seed 4' });
    sim.host('spin', ({ clock }) => {
      const again = () => clock.setTimer(0, again);
      again();
    });
    const started = performance.now();
    let error: unknown;
    try {
      sim.runUntil(1, { maxEvents: Number.MAX_SAFE_INTEGER, wallTimeoutMs: 100 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WallTimeoutError);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(sim.nowMs).toBe(0);
    expect((error as Error).message).toContain('seed 4: reproduce with `npx shoal run spin.yaml --seed 4`');
  });

  it('the event limit quotes the reproduce command with the scenario file', async () => {
    const reproduce = `npx shoal run ${crashFile} --seed 7 --max-events 500`;
    const error: unknown = await runScenario(parseScenario(crashText, crashFile), { seed: 7, maxEvents: 500, reproduce }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventLimitError);
    expect((error as Error).message).toContain(`seed 7: reproduce with \`${reproduce}\``);
  });

  it('classifies what stopped a run: runaway, panic, bad input, or a defect of shoal itself', () => {
    expect(abortedRun(new EventLimitError('10 events', '3', 12.5, 'npx shoal run f.yaml --seed 3'))).toEqual({ kind: 'runaway', detail: 'exceeded 10 events at t=12.500 ms of simulated time' });
    expect(abortedRun(new HostPanicError('n1', 5, '3', new Error('boom')))?.kind).toBe('panic');
    expect(abortedRun(new HostPanicError('n1', 5, '3', new ConfigError('probeIntervalMs', 'must be > 0')))?.kind).toBe('bad-input');
    expect(abortedRun(new TypeError('undefined is not a function'))).toBeUndefined();
  });
});

describe('shoal run --max-events / --timeout', () => {
  it('a run over --max-events is a runaway: two lines with the seed and reproduce command, exit 1', () => {
    const r = shoal(['run', crashFile, '--seed', '7', '--max-events', '1000']);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^scenario crash \(sim\), seed 7: RUNAWAY: exceeded 1000 events at t=[\d.]+ ms/),
      `  reproduce: npx shoal run ${crashFile} --seed 7 --max-events 1000`,
    ]);
    expect(r.stdout + r.stderr).not.toMatch(stackLine);
    const json = shoal(['run', crashFile, '--seed', '7', '--max-events', '1000', '--json']);
    expect(json.status).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ scenario: 'crash', seed: 7, ok: false, aborted: 'runaway', reproduce: `npx shoal run ${crashFile} --seed 7 --max-events 1000` });
    const debug = shoal(['run', crashFile, '--seed', '7', '--max-events', '1000'], { SHOAL_DEBUG: '1' });
    expect(debug.status).toBe(1);
    expect(debug.stderr).toMatch(/EventLimitError[\s\S]*at Simulation/);
  });

  it('a run over --timeout is a runaway, stopped within its budget', () => {
    const started = performance.now();
    const r = shoal(['run', longFile, '--timeout', '1s']);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^scenario long \(sim\), seed 1: RUNAWAY: exceeded its wall-clock budget of 1 s at t=[\d.]+ ms/);
    expect(r.stdout).toContain(`reproduce: npx shoal run ${longFile} --seed 1 --timeout 1s`);
    expect(r.stdout + r.stderr).not.toMatch(stackLine);
    expect(performance.now() - started).toBeLessThan(20_000);
  });

  it('refuses bad limits with exit 2', () => {
    for (const args of [['--max-events', '0'], ['--max-events', 'lots'], ['--timeout', 'soon'], ['--timeout', '0s']]) {
      const r = shoal(['run', crashFile, ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^shoal run: --(max-events|timeout) must be/);
    }
  });
});

describe('shoal sweep --max-events / --timeout', () => {
  it('reports each seed over --max-events as a runaway with its reproduce command; exit 1', () => {
    const r = shoal(['sweep', crashFile, '--seeds', '1..3', '--jobs', '2', '--max-events', '1000', '--json']);
    expect(r.status, r.stderr).toBe(1);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ seeds: 3, passed: 0, failed: 3, runaway: 3 });
    expect(summary.failures.map((f: { reproduce: string }) => f.reproduce)).toEqual([1, 2, 3].map((s) => `npx shoal run ${crashFile} --seed ${s} --max-events 1000`));
    expect(summary.failures[0]).toMatchObject({ aborted: 'runaway', detail: expect.stringMatching(/^exceeded 1000 events at t=/) });
  });

  it('stops a seed over --timeout, reports it as a runaway and goes on with the next seeds', () => {
    const r = shoal(['sweep', longFile, '--seeds', '1..2', '--jobs', '1', '--timeout', '1s']);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^0\/2 seeds passed in \d+ ms \(2 runaway\)$/),
      '  seed 1: runaway: no result within 1 s of wall time (its worker was stopped)',
      `    npx shoal run ${longFile} --seed 1 --timeout 1s`,
      '  seed 2: runaway: no result within 1 s of wall time (its worker was stopped)',
      `    npx shoal run ${longFile} --seed 2 --timeout 1s`,
    ]);
  });

  it('passes seeds that end within their limits', () => {
    const r = shoal(['sweep', crashFile, '--seeds', '1..2', '--jobs', '2', '--max-events', '100000', '--timeout', '60s', '--json']);
    expect(r.status, r.stdout).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ seeds: 2, passed: 2, runaway: 0 });
  });
});
