import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli.ts';
import type { TraceEntry } from '../../sim/index.ts';
import { TraceComparison, describeDivergence } from '../../scenarios/trace-diff.ts';

const dir = mkdtempSync(join(tmpdir(), 'shoal-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const scenario = `name: small-crash
duration: 6s
cluster: { size: 3, preset: local }
faults:
  - { at: 2s, crash: n3 }
`;

async function shoal(...argv: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void out.push(String(line)));
  const error = vi.spyOn(console, 'error').mockImplementation((line: unknown) => void out.push(String(line)));
  try {
    return { code: await main(argv), out: out.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

const entry = (index: number, fields: Partial<TraceEntry> = {}): TraceEntry => ({ index, timeMs: index * 10, kind: 'timer', host: 'n1', ...fields });

describe('TraceComparison', () => {
  it('names the first entry that differs and the fields that differ, and ignores what follows', () => {
    const recorded = [entry(0), entry(1, { kind: 'deliver', host: 'n2', peer: 'n1', label: 'dgram', msg: 4 }), entry(2)].map((e) => JSON.stringify(e));
    const comparison = new TraceComparison(() => recorded.shift());
    comparison.sink(entry(0));
    comparison.sink(entry(1, { kind: 'drop', host: 'n2', peer: 'n1', label: 'loss', msg: 4 }));
    comparison.sink(entry(2, { host: 'n9' }));
    const divergence = comparison.finish()!;
    expect(divergence).toMatchObject({ index: 1, fields: ['kind', 'label'] });
    expect(describeDivergence(divergence)[0]).toBe('first divergent event #1: recorded t=10.000 ms n2 deliver dgram; replayed t=10.000 ms n2 drop loss (differs in kind, label)');
  });

  it('names the first missing entry when one side ends early, and nothing when both agree', () => {
    const longer = [entry(0), entry(1)].map((e) => JSON.stringify(e));
    const cut = new TraceComparison(() => longer.shift());
    cut.sink(entry(0));
    expect(describeDivergence(cut.finish()!)[0]).toBe('first divergent event #1: recorded t=10.000 ms n1 timer; replayed nothing (the replay ended)');
    const same = [JSON.stringify(entry(0))];
    const agree = new TraceComparison(() => same.shift());
    agree.sink(entry(0));
    expect(agree.finish()).toBeUndefined();
    expect(agree.identical).toBe(1);
  });
});

describe('shoal replay', () => {
  it('reproduces an untouched trace and names the first divergent event of an altered one (time, host, kind, recorded vs replayed)', async () => {
    const file = join(dir, 'small.yaml');
    const trace = join(dir, 'small.jsonl');
    writeFileSync(file, scenario);
    expect((await shoal('run', file, '--seed', '5', '--trace', trace)).code).toBe(0);
    const good = await shoal('replay', trace);
    expect(good.code, good.out).toBe(0);
    expect(good.out).toMatch(/^reproduced small-crash seed 5: trace hash [0-9a-f]{16} matches$/);

    // Move one delivery in the middle of the recording 1 ms later, as a changed latency would.
    const lines = readFileSync(trace, 'utf8').trimEnd().split('\n');
    const at = lines.findIndex((l, i) => i > lines.length / 2 && l.includes('"kind":"deliver"'));
    const original = JSON.parse(lines[at]!) as TraceEntry;
    const altered = { ...original, timeMs: original.timeMs + 1 };
    lines[at] = JSON.stringify(altered);
    const alteredFile = join(dir, 'altered.jsonl');
    writeFileSync(alteredFile, `${lines.join('\n')}\n`);

    const replay = await shoal('replay', alteredFile);
    expect(replay.code).toBe(1);
    const where = (e: TraceEntry) => `t=${e.timeMs.toFixed(3)} ms ${e.host} deliver ${e.label}`;
    expect(replay.out.split('\n').slice(1)).toEqual([
      // The entry was edited after the file was written, so the replay still matches the footer's hash.
      '  the replay matches the footer\'s hash, so the file\'s entries were changed after it was written:',
      `  first divergent event #${original.index}: recorded ${where(altered)}; replayed ${where(original)} (differs in timeMs)`,
      `    recorded: ${JSON.stringify(altered)}`,
      `    replayed: ${JSON.stringify(original)}`,
    ]);
    const json = JSON.parse((await shoal('replay', alteredFile, '--json')).out) as { reproduced: boolean; firstDivergence: { index: number; recorded: TraceEntry; replayed: TraceEntry } };
    expect(json).toMatchObject({ reproduced: false, firstDivergence: { index: original.index, recorded: altered, replayed: original } });
  }, 30_000);
});
