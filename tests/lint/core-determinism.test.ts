import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/** The lint rule is what keeps core/ deterministic; prove it rejects each forbidden construct. */
describe('core/ determinism lint rule', () => {
  const eslint = new ESLint();
  const lint = async (code: string, filePath = 'core/fixture.ts') => {
    const [result] = await eslint.lintText(code, { filePath });
    return result!.messages.filter((m) => m.ruleId?.startsWith('no-restricted')).map((m) => m.message);
  };

  it.each([
    ['Date.now()', 'export const t = Date.now();'],
    ['new Date()', 'export const t = new Date();'],
    ['setTimeout', 'setTimeout(() => undefined, 1);'],
    ['setInterval', 'setInterval(() => undefined, 1);'],
    ['setImmediate', 'setImmediate(() => undefined);'],
    ['queueMicrotask', 'queueMicrotask(() => undefined);'],
    ['performance.now()', 'export const t = performance.now();'],
    ['Math.random()', 'export const r = Math.random();'],
    ['process.hrtime', 'export const t = process.hrtime();'],
    ['crypto.getRandomValues', 'export const r = crypto.getRandomValues(new Uint8Array(4));'],
    ['node:fs', "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;"],
    ['node:crypto', "import { randomBytes } from 'node:crypto';\nexport const f = randomBytes;"],
    ['dgram', "import dgram from 'dgram';\nexport const d = dgram;"],
    ['the simulator', "import { Simulation } from '../sim/index.ts';\nexport const S = Simulation;"],
  ])('rejects %s in core/', async (_name, code) => {
    expect((await lint(code)).length).toBeGreaterThan(0);
  });

  it('accepts the same code outside core/ and clean code inside it', async () => {
    expect(await lint('export const t = Date.now();', 'sim/fixture.ts')).toEqual([]);
    expect(await lint('export const add = (a: number, b: number): number => a + b;')).toEqual([]);
  });
});
