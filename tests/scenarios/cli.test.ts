import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'shoal-cli-'));
const shoal = (...args: string[]) => spawnSync(process.execPath, ['bin/shoal.js', ...args], { encoding: 'utf8', timeout: 120_000 });

const failing = `name: too-strict
seed: 3
duration: 30s
cluster:
  size: 6
faults:
  - { at: 5s, crash: n4 }
  - { at: 8s, loss: 0.05 }
  - { at: 9s, skew: { node: n2, ms: 10 } }
  - { at: 12s, pause: n3, for: 1s }
expect:
  - failed-within: { node: n4, within: 1s }
`;

describe('shoal CLI', () => {
  it('run: exit 0 and a JSON report when expectations hold', () => {
    const r = shoal('run', 'scenarios/library/crash-detection.yaml', '--json', '--seed', '2');
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ scenario: 'crash-detection', seed: 2, mode: 'sim', ok: true });
    for (const key of ['traceHash', 'simulatedMs', 'wallMs', 'events', 'expectations', 'membership']) expect(report).toHaveProperty(key);
  });

  it('run: exit 1 with the reproduce command when an expectation fails; exit 2 on bad input', () => {
    const file = join(dir, 'strict.yaml');
    writeFileSync(file, failing);
    const r = shoal('run', file);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAIL/);
    expect(r.stdout).toContain(`npx shoal run ${file} --seed 3`);
    expect(shoal('run', file, '--seed', 'abc').status).toBe(2);
    expect(shoal('run', file, '--bogus').status).toBe(2);
    expect(shoal('run', join(dir, 'missing.yaml')).status).toBe(2);
    writeFileSync(join(dir, 'bad.yaml'), 'name: x\nduration: forever\ncluster: { size: 2 }\n');
    const bad = shoal('run', join(dir, 'bad.yaml'));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/bad\.yaml:2:11 duration/);
    expect(shoal('frobnicate').status).toBe(2);
    for (const verb of ['run', 'replay', 'sweep', 'shrink', 'bench']) expect(shoal(verb, '--help').status).toBe(0);
  });

  it('run --trace, then replay reproduces the same hash; a diagram and a timeline are written', () => {
    const trace = join(dir, 'run.jsonl');
    const svg = join(dir, 'run.svg');
    const html = join(dir, 'run.html');
    const r = shoal('run', 'scenarios/library/partition-heal.yaml', '--json', '--trace', trace, '--diagram', svg, '--from', '9000', '--to', '12000', '--timeline', html);
    expect(r.status, r.stderr).toBe(0);
    const replay = shoal('replay', trace, '--json');
    expect(replay.status, replay.stderr).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({ reproduced: true, replayedHash: JSON.parse(r.stdout).traceHash });
    const picture = readFileSync(svg, 'utf8');
    expect(picture).toMatch(/^<svg/);
    for (const n of ['n1', 'n10']) expect(picture).toContain(`>${n}</text>`);
    expect(picture).toContain('marker-end="url(#arrow)"');
    expect(picture).toContain('partition');
    expect(readFileSync(html, 'utf8')).toMatch(/n1 → n6/);
    // A tampered trace no longer replays.
    const lines = readFileSync(trace, 'utf8').trim().split('\n');
    const footer = JSON.parse(lines.pop()!);
    writeFileSync(trace, [...lines, JSON.stringify({ ...footer, hash: '0000000000000000' })].join('\n') + '\n');
    expect(shoal('replay', trace).status).toBe(1);
  });

  it('sweep lists failing seeds with their reproduce command; shrink writes a smaller failing scenario', () => {
    const file = join(dir, 'sweep.yaml');
    writeFileSync(file, failing);
    const sweep = shoal('sweep', file, '--seeds', '1..4', '--jobs', '2', '--json');
    expect(sweep.status).toBe(1);
    const summary = JSON.parse(sweep.stdout);
    expect(summary).toMatchObject({ seeds: 4, failed: 4 });
    expect(summary.failures[0].reproduce).toBe(`npx shoal run ${file} --seed 1`);
    const out = join(dir, 'shrunk.yaml');
    const shrink = shoal('shrink', file, '--seed', '3', '--out', out);
    expect(shrink.status, shrink.stderr).toBe(0);
    const shrunk = readFileSync(out, 'utf8');
    expect(shrunk).toMatch(/still fails: every live member sees n4 failed/);
    expect(shrunk).not.toMatch(/loss|skew|pause/);
    expect(shoal('run', out, '--seed', '3').status).toBe(1);
    expect(shoal('sweep', file, '--seeds', '5..1').status).toBe(2);
  });
});
