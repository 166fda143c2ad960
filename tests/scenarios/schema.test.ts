import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError } from '../../scenarios/load.ts';

const base = `name: t
duration: 10s
cluster:
  size: 3
`;

function problems(text: string) {
  try {
    parseScenario(text, 'x.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return (error as ScenarioError).problems;
  }
  throw new Error('expected the scenario to be refused');
}

describe('scenario files', () => {
  it('parses durations and fills defaults', () => {
    const s = parseScenario(`${base}faults:\n  - { at: 1.5s, crash: n2 }\n  - { at: 500ms, pause: n1, for: 2m }\n`);
    expect(s.duration).toBe(10_000);
    expect(s.faults).toEqual([{ kind: 'crash', at: 1_500, crash: 'n2' }, { kind: 'pause', at: 500, pause: 'n1', for: 120_000 }]);
    expect(s.cluster.preset).toBe('lan');
    expect(s.cluster.lifeguard).toBe(true);
    expect(s.seed).toBe(1);
  });

  it('points at the line, column and field of a bad value', () => {
    const p = problems(`${base}faults:\n  - at: soon\n    crash: n2\n`);
    expect(p).toEqual([expect.objectContaining({ line: 6, column: 9, path: 'faults.0.at', message: expect.stringMatching(/duration/) })]);
  });

  it('names an unknown fault and lists the known ones', () => {
    const [p] = problems(`${base}faults:\n  - { at: 1s, explode: n1 }\n`);
    expect(p).toMatchObject({ line: 6, path: 'faults.0' });
    expect(p!.message).toMatch(/unknown fault "explode"; expected one of: crash \(at, crash\), restart \(at, restart\), partition/);
    expect(p!.message).toContain('pause (at, pause, for)');
  });

  it('refuses unknown fields, missing fields, bad probabilities and YAML syntax errors', () => {
    expect(problems(`${base}colour: blue\n`)[0]!.message).toMatch(/colour/);
    expect(problems('name: t\nduration: 1s\n')[0]!.path).toBe('cluster');
    expect(problems(`${base}network:\n  loss: 1.5\n`)[0]).toMatchObject({ path: 'network.loss', line: 6 });
    expect(problems(`${base}faults: [ { at: 1s, crash: n1 }\n`)[0]!.message).toBeTruthy();
    expect(problems(`${base}expect:\n  - failed-within: { node: n1 }\n`)[0]!.path).toBe('expect.0.failed-within.within');
  });

  it('never throws anything but ScenarioError on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => {
      try {
        parseScenario(text);
      } catch (error) {
        expect(error).toBeInstanceOf(ScenarioError);
      }
    }), { numRuns: 300 });
  });
});
