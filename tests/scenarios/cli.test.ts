import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
    // Each benchmark is listed with what it measures.
    const bench = shoal('bench', '--help').stdout;
    for (const name of ['sim', 'swim', 'lifeguard', 'phi', 'rpc', 'quic', 'balance', 'tui', 'check', 'all']) expect(bench).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    expect(bench).toMatch(/^ {2}swim {6}SWIM in the simulator at 100, 1 000 and 10 000 members/m);
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

describe('bad input: exit 2 with one or two lines of explanation, never a stack', () => {
  const stackLine = /^ {4}at /m;
  const scenario = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  const base = 'name: bad\nduration: 20s\ncluster:\n  size: 4\n';
  const refused = (args: string[], message: RegExp) => {
    const r = spawnSync(process.execPath, ['bin/shoal.js', ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, SHOAL_DEBUG: '' } });
    expect(r.status, `${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(2);
    expect(r.stdout + r.stderr).not.toMatch(stackLine);
    expect(r.stderr, args.join(' ')).toMatch(message);
    return r;
  };

  it('refuses scenario mistakes before running, each with its file, line and column', () => {
    const cases: [string, string, RegExp][] = [
      ['crash-n9.yaml', `${base}faults:\n  - { at: 5s, crash: n9 }\n`, /crash-n9\.yaml:6:22 faults\.0\.crash: unknown node "n9"; the cluster has n1\.\.n4/],
      ['overlap.yaml', `${base}faults:\n  - { at: 5s, partition: [[n1, n2], [n2, n3]] }\n`, /overlap\.yaml:6:37 faults\.0\.partition\.1: node "n2" is also in faults\.0\.partition\.0/],
      ['n7.yaml', `${base}expect:\n  - failed-within: { node: n7, within: 5s }\n`, /n7\.yaml:6:28 expect\.0\.failed-within\.node: unknown node "n7"/],
      ['after.yaml', `${base}expect:\n  - converge-within: { after: 25s, within: 5s }\n`, /after\.yaml:6:31 expect\.0\.converge-within\.after: after 25s is not before the end of the run/],
      ['late.yaml', `${base}faults:\n  - { at: 1m, crash: n1 }\n`, /late\.yaml:6:11 faults\.0\.at: at 60s is not before the end of the run \(duration 20s\)/],
      ['pause.yaml', `${base}faults:\n  - { at: 5s, pause: n1 }\n`, /pause\.yaml:6:5 faults\.0\.for: missing field "for": expected a duration/],
      ['interval.yaml', `${base}  config: { probeIntervalMs: 500 }\n`, /interval\.yaml:5:11 cluster\.config: probeTimeoutMs must be below probeIntervalMs \(500\), got 500/],
      ['links.yaml', `${base}network:\n  links:\n    - { from: n1, to: n5, loss: 0.5 }\n`, /links\.yaml:7:23 network\.links\.0\.to: unknown node "n5"/],
    ];
    for (const [name, text, message] of cases) {
      const r = refused(['run', scenario(name, text)], message);
      expect(r.stderr).not.toMatch(/Invalid input/);
    }
  });

  it('reports several problems of one file at once', () => {
    const file = scenario('several.yaml', `${base}  config: { probeInterval: 500 }\nfaults:\n  - { at: 5s, crash: n9 }\n  - { at: 30s, heal: true }\nbogus: 1\n`);
    const r = refused(['run', file], /invalid scenario, 4 problems/);
    expect(r.stderr.split('\n').filter((line) => line.startsWith(`  ${file}:`)).map((line) => /several\.yaml:(\d+:\d+)/.exec(line)?.[1]))
      .toEqual(['5:13', '7:22', '8:11', '9:1']);
  });

  it('checks output paths before the run starts', () => {
    const file = 'scenarios/library/partition-heal.yaml';
    const trace = join(dir, 'never-written.jsonl');
    refused(['run', file, '--trace', trace, '--diagram', '/nonexistent/x.svg'], /^shoal run: --diagram \/nonexistent\/x\.svg: cannot write: no such directory \/nonexistent$/m);
    // Nothing started: not even the trace, which the run opens first.
    expect(existsSync(trace)).toBe(false);
    refused(['run', file, '--trace', join(dir, 'no-dir', 'run.jsonl')], /--trace .*: cannot write: no such directory/);
    refused(['run', file, '--timeline', dir], /--timeline .*: cannot write: it is a directory/);
    refused(['shrink', file, '--seed', '1', '--out', '/nonexistent/s.yaml'], /--out \/nonexistent\/s\.yaml: cannot write/);
    refused(['tui', '--save', '/nonexistent/s.yaml'], /--save \/nonexistent\/s\.yaml: cannot write/);
  });

  it('says plainly when a file cannot be read, for every verb that reads one', () => {
    const missing = join(dir, 'nofile.yaml');
    for (const args of [['run', missing], ['sweep', missing, '--seeds', '1..2'], ['shrink', missing, '--seed', '1']]) {
      refused(args, new RegExp(`^shoal ${args[0]}: cannot read ${missing}: no such file$`, 'm'));
    }
    refused(['tui', '--scenario', missing], /^shoal tui: cannot read .*nofile\.yaml: no such file$/m);
    refused(['replay', join(dir, 'none.jsonl')], /^shoal replay: cannot read trace .*none\.jsonl: no such file$/m);
    const notTrace = scenario('not-a-trace.jsonl', 'name: x\n');
    const r = refused(['replay', notTrace], /not-a-trace\.jsonl:1: not a shoal trace file/);
    expect(r.stderr).not.toMatch(/invalid scenario/);
  });

  it('names an unknown flag and where to look, for every verb', () => {
    for (const verb of ['run', 'replay', 'sweep', 'shrink', 'tui', 'bench', 'node', 'call']) refused([verb, '--bogus'], new RegExp(`^shoal ${verb}: unknown flag --bogus; see shoal ${verb} --help$`, 'm'));
    refused(['run', '--seed'], /^shoal run: flag --seed needs a value; see shoal run --help$/m);
  });
});
