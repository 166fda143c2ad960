import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { historyOf, read, toJsonLines, write } from './histories.ts';

const dir = mkdtempSync(join(tmpdir(), 'shoal-check-'));
const shoal = (...args: string[]) => spawnSync(process.execPath, ['bin/shoal.js', 'check', ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, SHOAL_DEBUG: '' } });

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const staleRead = file('stale.jsonl', toJsonLines(historyOf(write(1, 1, 0, 1, { key: 'x' }), write(2, 2, 2, 3, { key: 'x' }), read(3, 1, 4, 5, { key: 'x' }), write(4, 7, 0, 1, { key: 'y' }))));
const fine = file('fine.jsonl', toJsonLines(historyOf(write(1, 1, 0, 10, { key: 'x' }), write(2, 2, 0, 10, { key: 'x' }), read(3, 1, 11, 12, { key: 'x' }))));

describe('shoal check linearizable', () => {
  it('exit 0 for a linearizable history, with the verdict in one line', () => {
    const r = shoal('linearizable', '--model', 'kv', fine);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/fine\.jsonl: linearizable \(model kv, 3 operations over 1 key; \d+ steps in \d+ ms\)/);
  });

  it('exit 1 for a violation, showing the operations that cannot be ordered with processes and times', () => {
    const r = shoal('linearizable', '--model', 'kv', staleRead);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toContain('NOT LINEARIZABLE (model kv, 4 operations over 2 keys;');
    expect(r.stdout).toContain('keys: 1 linearizable, 1 not linearizable ("x"), 0 unknown');
    expect(r.stdout).toContain(`key "x": process 3's read → 1 [4, 5] cannot be linearized: it saw 1, written by process 1's write 1 [0, 1], but process 2's write 2 [2, 3] overwrote it before the read began`);
    expect(r.stdout).toMatch(/process\s+operation\s+invoked\s+completed\n\s+1\s+write 1\s+0\s+1\n\s+2\s+write 2\s+2\s+3\n\s+3\s+read → 1\s+4\s+5/);
  });

  it('--json prints the result', () => {
    const r = shoal('linearizable', '--model', 'kv', '--json', staleRead);
    expect(r.status).toBe(1);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ verdict: 'not-linearizable', model: 'kv', operations: 4, keys: { x: { verdict: 'not-linearizable' }, y: { verdict: 'linearizable' } } });
    expect(result.evidence.operations).toHaveLength(3);
    expect(result.explored.steps).toBeGreaterThan(0);
  });

  it('exit 3 when the budget runs out before a verdict', () => {
    const r = shoal('linearizable', '--model', 'kv', '--steps-max', '2', '--json', staleRead);
    expect(r.status).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ verdict: 'unknown', stoppedBy: 'stepsMax', explored: { steps: 2 } });
    expect(shoal('linearizable', '--model', 'kv', '--steps-max', '2', staleRead).stdout).toMatch(/UNKNOWN[\s\S]*keys: 0 linearizable, 0 not linearizable, 2 unknown\n\s+the search reached its step limit/);
  });

  it('exit 2 with one line naming file and line for a bad history, and for bad flags', () => {
    const cases: Array<[string[], RegExp]> = [
      [['linearizable', '--model', 'kv', file('json.jsonl', '{"process": 1,\n')], /^shoal check: .*json\.jsonl:1: not JSON: /],
      [['linearizable', '--model', 'kv', file('field.jsonl', '{"process":1,"type":"invoke","f":"read","value":null}\n')], /field\.jsonl:1: "time" must be a number/],
      [['linearizable', '--model', 'kv', file('orphan.jsonl', '\n{"process":1,"type":"ok","f":"read","key":"x","value":1,"time":3}\n')], /orphan\.jsonl:2: ok for process 1, which has no pending invoke/],
      [['linearizable', '--model', 'register', file('cas.jsonl', '{"process":1,"type":"invoke","f":"cas","value":[null,1],"time":0}\n')], /cas\.jsonl:1: model register has no cas/],
      [['linearizable', '--model', 'kv', join(dir, 'missing.jsonl')], /cannot open .*missing\.jsonl: no such file/],
      [['linearizable', fine], /--model is required/],
      [['linearizable', '--model', 'queue', fine], /--model must be one of register, kv, cas-register; got "queue"/],
      [['linearizable', '--model', 'kv', '--steps-max', '0', fine], /--steps-max must be a positive integer/],
      [['linearizable', '--model', 'kv', '--time-max', 'soon', fine], /--time-max must be a wall-clock duration/],
      [['serializable', fine], /name a check: linearizable; got "serializable"/],
      [['linearizable', '--model', 'kv'], /give one history file/],
      [['linearizable', '--model', 'kv', '--bogus', fine], /unknown flag --bogus; see shoal check --help/],
    ];
    for (const [args, message] of cases) {
      const r = shoal(...args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    expect(shoal('--help').status).toBe(0);
  });
});
