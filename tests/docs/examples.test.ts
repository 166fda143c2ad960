import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

/**
 * Docs that run: every fenced `yaml` scenario, every `sh` block that calls `shoal`, and
 * every `ts` example in README.md and docs/*.md is run as written. A block that cannot run
 * here carries `<!-- docs-test: skip: REASON -->` on the line before its fence; the reason
 * is required, and the test fails on a `sh` block that calls `shoal` without either.
 */
const repo = join(import.meta.dirname, '..', '..');
const files = ['README.md', ...readdirSync(join(repo, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const skipMarker = /<!--\s*docs-test:\s*skip:\s*(\S.*?)\s*-->/;
const blockTimeoutMs = 120_000;

interface Block {
  readonly file: string;
  readonly line: number;
  readonly lang: string;
  readonly body: string;
  readonly skip: string | undefined;
}

function blocks(file: string): Block[] {
  const lines = readFileSync(join(repo, file), 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*$/.exec(lines[i]!);
    if (open === null) {
      if (lines[i]!.startsWith('```')) i = closing(lines, i);
      continue;
    }
    const end = closing(lines, i);
    const skip = skipMarker.exec(lines[i - 1] ?? '')?.[1];
    out.push({ file, line: i + 1, lang: open[1]!, body: lines.slice(i + 1, end).join('\n'), skip });
    i = end;
  }
  return out;
}

function closing(lines: readonly string[], open: number): number {
  for (let j = open + 1; j < lines.length; j++) if (lines[j]!.startsWith('```')) return j;
  throw new Error(`unclosed fence at line ${open + 1}`);
}

const all = files.flatMap(blocks);
const isScenario = (b: Block) => {
  if (b.lang !== 'yaml') return false;
  const docs = parseAllDocuments(b.body);
  // A block that does not parse is run (and fails) unless it is recognisably something else.
  if (docs.some((d) => d.errors.length > 0)) return !/^(apiVersion|kind):/m.test(b.body);
  return docs.some((d) => {
    const doc = d.toJS() as Record<string, unknown> | null;
    return doc !== null && typeof doc === 'object' && 'duration' in doc && 'cluster' in doc;
  });
};
const callsShoal = (b: Block) => b.lang === 'sh' && /\bshoal\b/.test(b.body);
const runnable = all.filter((b) => isScenario(b) || callsShoal(b) || b.lang === 'ts');

/** A scratch directory that looks like the repository (its folders linked), so commands that write files stay out of the checkout. */
const scratch = mkdtempSync(join(tmpdir(), 'shoal-docs-'));
for (const name of ['scenarios', 'examples', 'docs', 'tests', 'certs', 'node_modules', 'package.json', 'core', 'sim', 'net-real', 'bin', 'tui', 'bench']) {
  try {
    symlinkSync(join(repo, name), join(scratch, name));
  } catch {
    // A folder this checkout does not have.
  }
}
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(command: string, cwd: string): { status: number | null; output: string } {
  const result = spawnSync('bash', ['-euo', 'pipefail', '-c', command], {
    cwd, encoding: 'utf8', timeout: blockTimeoutMs, env: { ...process.env, CI: 'true', FORCE_COLOR: '0' },
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.slice(-4_000) };
}

/** `npx shoal` becomes the checkout's own bin (the same program npx resolves here, without npx's start-up). */
function shellOf(body: string): string {
  return body.replace(/\bnpx shoal\b/g, `node ${join(repo, 'bin', 'shoal.js')}`);
}

describe('documentation examples run as written', () => {
  it('finds the examples (the extraction itself works)', () => {
    expect(runnable.length).toBeGreaterThanOrEqual(8);
    for (const b of all) if (b.skip !== undefined) expect(b.skip.length, `${b.file}:${b.line} skip needs a reason`).toBeGreaterThan(3);
  });

  for (const b of runnable) {
    const title = `${b.file}:${b.line} (${b.lang})${b.skip === undefined ? '' : ` skipped: ${b.skip}`}`;
    it.skipIf(b.skip !== undefined)(title, () => {
      if (b.lang === 'yaml') {
        const file = join(scratch, `doc-${b.line}.yaml`);
        writeFileSync(file, b.body);
        const result = run(`node ${join(repo, 'bin', 'shoal.js')} run ${file}`, scratch);
        expect(result.status, result.output).toBe(0);
      } else if (b.lang === 'sh') {
        const result = run(shellOf(b.body), scratch);
        expect(result.status, result.output).toBe(0);
      } else {
        // Examples import the sources by paths relative to the repository root.
        const file = join(repo, `.docs-example-${process.pid}-${b.line}.ts`);
        writeFileSync(file, b.body);
        try {
          const result = run(`node --import tsx ${file}`, repo);
          expect(result.status, result.output).toBe(0);
        } finally {
          rmSync(file, { force: true });
        }
      }
    }, blockTimeoutMs + 10_000);
  }
});
