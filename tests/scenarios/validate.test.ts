import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadScenarioFile, parseScenario, ScenarioError } from '../../scenarios/load.ts';
import { runScenario } from '../../scenarios/runner.ts';
import { validateScenario, validateScenarioText } from '../../scenarios/validate.ts';

const base = `name: t
duration: 20s
cluster:
  size: 4
`;

function problems(text: string) {
  const result = validateScenarioText(text);
  if (result.ok) throw new Error('expected the scenario to be refused');
  return result.problems;
}

/** The one problem of `text`, which must have exactly one. */
function only(text: string) {
  const found = problems(text);
  expect(found, found.map((p) => p.message).join('\n')).toHaveLength(1);
  return found[0]!;
}

/** Zod's own wording, which says neither what was expected in words nor what was found. */
const zodWording = /Invalid input|Invalid option|Too small|Too big|Unrecognized key/;

describe('scenario validation: every problem at once, each at its line and column', () => {
  it('reports problems of the schema, of node names, of times and of the configuration together', () => {
    const text = `name: t
duration: 20s
cluster:
  size: 4
  config: { probeInterval: 500 }
faults:
  - { at: 5s, crash: n9 }
  - { at: 6s, partition: [[n1, n2], [n2, n3]] }
  - { at: 7s, pause: n2 }
  - { at: 30s, heal: true }
expect:
  - failed-within: { node: n7, within: 5s }
  - converge-within: { after: 25s, within: 5s }
`;
    expect(problems(text).map(({ line, column, path }) => `${line}:${column} ${path}`)).toEqual([
      '5:13 cluster.config.probeInterval',
      '7:22 faults.0.crash',
      '8:37 faults.1.partition.1',
      '9:5 faults.2.for',
      '10:11 faults.3.at',
      '12:28 expect.0.failed-within.node',
      '13:31 expect.1.converge-within.after',
    ]);
    expect(() => parseScenario(text, 'x.yaml')).toThrow(/^x\.yaml: invalid scenario, 7 problems\n {2}x\.yaml:5:13 cluster\.config\.probeInterval: /);
  });

  it('says what was expected and what was found, never zod\'s "Invalid input"', () => {
    const cases: [string, RegExp][] = [
      [`${base}faults:\n  - { at: 5s, pause: n2 }\n`, /^missing field "for": expected a duration such as 500ms, 2s or 1m \(a pause fault has: at, pause, for\)$/],
      [`${base}faults:\n  - { at: 5s, crash: 3 }\n`, /^expected a node name or a list of node names, found 3$/],
      [`${base}faults:\n  - { at: soon, crash: n1 }\n`, /^expected a duration such as 500ms, 2s or 1m, found "soon"$/],
      [`${base}faults:\n  - crash n1\n`, /^expected a fault: a mapping such as \{ at: 5s, crash: n3 \}, found "crash n1"$/],
      [`${base}faults:\n  - { at: 1s, crash: n1, heal: true }\n`, /^one fault per entry, found crash and heal$/],
      [`${base}network:\n  latency: { kind: gamma }\n`, /^expected a latency distribution, one of: \{ kind: constant, ms \}, .*\{ kind: lognormal, medianMs, sigma, minMs\?, maxMs\? \}, found "gamma"$/],
      [`${base}network:\n  loss: 1.5\n`, /^expected a number ≤ 1, found 1\.5$/],
      [`${base}  preset: lan2\n`, /^expected one of "lan", "wan", "local", found "lan2"$/],
      [`${base}faults:\n  - { at: 1s, partition: [[n1, n2]] }\n`, /^expected a list of at least 2 items, found a list of 1$/],
      [`${base}colour: blue\n`, /^unknown field "colour"; expected one of: name, description, seed, duration, cluster, network, faults, workload, expect$/],
      [`${base}faults:\n  - { at: 1s, oneway: { from: n1, to: n2, both: true } }\n`, /^unknown field "both" in faults\.0\.oneway; expected one of: from, to$/],
      [`${base}expect:\n  - no-false-failures: false\n`, /^expected a mapping or true, found false$/],
    ];
    for (const [text, message] of cases) {
      const p = only(text);
      expect(p.message, text).toMatch(message);
      expect(p.message).not.toMatch(zodWording);
    }
  });

  it('never throws and never falls back to zod\'s wording, whatever value a field holds', () => {
    const valid = {
      name: 'fuzz', duration: '20s',
      cluster: { size: 4, config: { probeIntervalMs: 900 }, tags: { n1: { role: 'worker' } }, seeds: ['n1'] },
      network: { latency: { kind: 'constant', ms: 1 }, links: [{ from: 'n1', to: ['n2'], loss: 0.1 }] },
      faults: [{ at: '5s', partition: [['n1'], ['n2']] }, { at: '6s', pause: 'n3', for: '1s' }],
      workload: { rate: 5, serviceTime: { kind: 'uniform', minMs: 1, maxMs: 2 } },
      expect: [{ 'converge-within': { after: '10s', within: '5s' } }, { 'partition-detected': { sides: [['n1'], ['n2']] } }],
    };
    const paths = [
      ['duration'], ['cluster'], ['cluster', 'size'], ['cluster', 'config'], ['cluster', 'config', 'probeIntervalMs'], ['cluster', 'tags'], ['cluster', 'seeds'],
      ['network', 'latency'], ['network', 'links', 0], ['network', 'links', 0, 'from'], ['faults', 0], ['faults', 0, 'partition'], ['faults', 1, 'for'],
      ['workload'], ['workload', 'serviceTime'], ['expect', 0], ['expect', 0, 'converge-within'], ['expect', 1, 'partition-detected', 'sides', 0],
    ];
    expect(validateScenario(valid).ok).toBe(true);
    fc.assert(fc.property(fc.constantFrom(...paths), fc.anything(), (path, value) => {
      const data = structuredClone(valid) as Record<string | number, unknown>;
      const parent = path.slice(0, -1).reduce<Record<string | number, unknown>>((o, key) => o[key] as Record<string | number, unknown>, data);
      parent[path[path.length - 1]!] = value;
      const result = validateScenario(data);
      for (const p of result.ok ? [] : result.problems) expect(p.message).not.toMatch(zodWording);
    }), { numRuns: 500 });
  });

  it('lists every fault kind with the fields each needs when the kind is unknown', () => {
    const p = only(`${base}faults:\n  - { at: 1s, explode: n1 }\n`);
    expect(p).toMatchObject({ line: 6, column: 5, path: 'faults.0' });
    for (const kind of ['crash (at, crash)', 'partition (at, partition)', 'pause (at, pause, for)', 'loss (at, loss, from?, to?)', 'leave (at, leave)']) {
      expect(p.message).toContain(kind);
    }
  });

  it('refuses nodes that do not exist wherever a node is named', () => {
    const text = `${base}  seeds: [n5]
  tags: { all: { role: worker }, n6: { zone: a } }
network:
  links:
    - { from: [n1, n8], to: n2, latency: { kind: constant, ms: 5 } }
faults:
  - { at: 1s, crash: n9 }
  - { at: 2s, skew: { node: n10, ms: 5 } }
  - { at: 3s, loss: 0.1, from: n11 }
expect:
  - failed-within: { node: n12, within: 5s }
  - no-false-failures: { except: [n13] }
  - partition-detected: { sides: [[n1], [n14]] }
`;
    const found = problems(text);
    expect(found.map((p) => /unknown node "(n\d+)"/.exec(p.message)?.[1])).toEqual(['n5', 'n6', 'n8', 'n9', 'n10', 'n11', 'n12', 'n13', 'n14']);
    expect(found[0]!.message).toBe('unknown node "n5"; the cluster has n1..n4');
    // Tags of an unknown node point at the key.
    expect(found[1]).toMatchObject({ line: 6, column: 34, path: 'cluster.tags.n6' });
  });

  it('knows the workload client as a node, and lists named nodes', () => {
    const text = `name: t\nduration: 20s\ncluster: { nodes: [a, b, c] }\nworkload: { rate: 10 }\nfaults:\n  - { at: 1s, pause: client, for: 1s }\n  - { at: 2s, crash: d }\n`;
    expect(only(text).message).toBe('unknown node "d"; the cluster has a, b, c and the workload\'s client "client"');
  });

  it('refuses groups that share a node where they are sides of a cut', () => {
    expect(only(`${base}faults:\n  - { at: 1s, partition: [[n1, n2], [n3, n2]] }\n`).message).toBe('node "n2" is also in faults.0.partition.0: a node can be on one side only');
    expect(only(`${base}faults:\n  - { at: 1s, bridge: { a: [n1], via: n1, b: [n3] } }\n`).path).toBe('faults.0.bridge.via');
    expect(only(`${base}faults:\n  - { at: 1s, oneway: { from: [n1, n2], to: n2 } }\n`).path).toBe('faults.0.oneway.to');
    expect(only(`${base}expect:\n  - quorum-side-only: { sides: [[n1, n2], [n2, n3]] }\n`).path).toBe('expect.0.quorum-side-only.sides.1');
    // Repairing, holding or losing between overlapping groups is fine.
    expect(validateScenarioText(`${base}faults:\n  - { at: 1s, repair: { a: [n1, n2], b: [n2, n3] } }\n`).ok).toBe(true);
  });

  it('refuses what is timed at or after the end of the run', () => {
    expect(only(`${base}faults:\n  - { at: 20s, crash: n1 }\n`)).toMatchObject({
      path: 'faults.0.at', message: 'at 20s is not before the end of the run (duration 20s): this fault would never happen',
    });
    expect(only(`${base}expect:\n  - converge-within: { after: 25s, within: 5s }\n`).message).toMatch(/^after 25s is not before the end of the run \(duration 20s\): convergence would never be sampled$/);
    expect(only(`${base}workload: { rate: 5, start: 30s }\n`).path).toBe('workload.start');
    expect(validateScenarioText(`${base}faults:\n  - { at: 19.9s, crash: n1 }\n`).ok).toBe(true);
  });

  it('refuses an expectation that could only fail: about a crash, restart or leave that never happens, or RPC without a workload', () => {
    expect(only(`${base}expect:\n  - failed-within: { node: n3, within: 5s }\n`).message)
      .toBe('no fault crashes n3 before the end of the run: this expectation could only fail (add { at: …, crash: n3 } to faults)');
    expect(only(`${base}faults:\n  - { at: 1s, crash: n3 }\nexpect:\n  - rejoined-within: { node: n3, within: 5s }\n`).path).toBe('expect.0.rejoined-within.node');
    expect(only(`${base}expect:\n  - success-ratio-at-least: 0.9\n`).message).toMatch(/^success-ratio-at-least is about RPC calls, and the scenario has no workload/);
    // A crash of a group counts for each of its nodes.
    expect(validateScenarioText(`${base}faults:\n  - { at: 1s, crash: [n2, n3] }\nexpect:\n  - failed-within: { node: n3, within: 5s }\n`).ok).toBe(true);
  });

  it('checks the membership configuration against the preset, as a node would, and refuses unknown fields', () => {
    const interval = only(`${base}  config: { probeIntervalMs: 500 }\n`);
    expect(interval).toMatchObject({ line: 5, column: 11, path: 'cluster.config' });
    expect(interval.message).toBe('probeTimeoutMs must be below probeIntervalMs (500), got 500 (probeTimeoutMs is 500 in the lan preset: set it in cluster.config too)');
    expect(only(`${base}  config: { probeIntervalMs: 500, probeTimeoutMs: 600 }\n`)).toMatchObject({ path: 'cluster.config.probeTimeoutMs', column: 51 });
    expect(only(`${base}  preset: local\n  config: { probeIntervalMs: 150 }\n`).message).toMatch(/\(probeTimeoutMs is 200 in the local preset: set it in cluster.config too\)$/);
    expect(validateScenarioText(`${base}  config: { probeIntervalMs: 500, probeTimeoutMs: 200 }\n`).ok).toBe(true);
    expect(only(`${base}  config: { probeInterval: 500 }\n`).message).toBe('unknown field "probeInterval" in cluster.config; did you mean "probeIntervalMs"?');
    expect(only(`${base}  config: { gossipNodes: "3" }\n`).message).toBe('expected a number, found "3"');
    expect(only(`${base}  config: { packetBytesMax: 100 }\n`).message).toBe('packetBytesMax must be an integer in 512..65507, got 100');
  });

  it('checks latency bounds as the simulator would', () => {
    expect(only(`${base}network:\n  latency: { kind: uniform, minMs: 5, maxMs: 2 }\n`)).toMatchObject({ path: 'network.latency.maxMs', message: 'maxMs must be ≥ minMs (5), got 2' });
  });

  it('next to YAML syntax errors, still reports the problems of other lines', () => {
    const found = problems(`${base}duration: 5s\nfaults:\n  - { at: 1s, crash: n9 }\n`);
    expect(found.map((p) => `${p.line} ${p.message.slice(0, 30)}`)).toEqual(['5 YAML: Map keys must be unique', '7 unknown node "n9"; the cluster']);
  });

  it('validates a scenario given as data, such as a shrink candidate that lost the crash its expectation is about', () => {
    const scenario = loadScenarioFile('scenarios/library/crash-detection.yaml');
    expect(validateScenario(scenario).ok).toBe(true);
    const candidate = validateScenario({ ...scenario, faults: [] });
    expect(candidate.ok).toBe(false);
    expect(!candidate.ok && candidate.problems.map((p) => p.path.join('.'))).toContain('expect.0.failed-within.node');
  });

  it('a file that cannot be read says so in one line', () => {
    expect(() => loadScenarioFile('no/such/file.yaml')).toThrow(new ScenarioError('no/such/file.yaml', [], 'cannot read no/such/file.yaml: no such file'));
  });
});

describe('the first example of docs/SCENARIOS.md', () => {
  it('is valid and passes, with a link to a node that starts late', async () => {
    const docs = readFileSync('docs/SCENARIOS.md', 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(docs)![1]!;
    const scenario = parseScenario(yaml, 'docs/SCENARIOS.md');
    expect(scenario.network.links).toHaveLength(1);
    expect(scenario.cluster.startSpread).toBeGreaterThan(0);
    const report = await runScenario(scenario, { traceCapacity: 100_000 });
    expect(report.expectations.filter((e) => !e.ok)).toEqual([]);
  });
});
