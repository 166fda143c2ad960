import { readFileSync } from 'node:fs';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The lint configuration is plain JavaScript without types: loaded by URL, as ESLint loads it.
const { publicEntryFiles } = (await import(String(new URL('../../eslint.config.js', import.meta.url)))) as { publicEntryFiles: readonly string[] };

/**
 * examples/ holds apps as a user writes them: the lint holds them to core/'s determinism
 * rule and to the package's public entry files. Prove it rejects each forbidden construct.
 */
describe('examples/ lint rules', () => {
  const eslint = new ESLint();
  const lint = async (code: string, filePath = 'examples/fixture/app.ts') => {
    const [result] = await eslint.lintText(code, { filePath });
    return result!.messages.filter((m) => m.ruleId?.startsWith('no-restricted')).map((m) => m.message);
  };

  it.each([
    ['Date.now()', 'export const t = Date.now();'],
    ['setTimeout', 'setTimeout(() => undefined, 1);'],
    ['Math.random()', 'export const r = Math.random();'],
    ['process.env', 'export const e = process.env.HOME;'],
    ['node:fs', "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;"],
    ['seedrandom', "import seedrandom from 'seedrandom';\nexport const s = seedrandom;"],
  ])('holds examples/ to the determinism rule: rejects %s', async (_name, code) => {
    expect(await lint(code)).toEqual([expect.stringContaining('examples/')]);
  });

  it.each([
    ['core internals', '../../core/app/index.ts'],
    ['a core module', '../../core/rpc/service.ts'],
    ['the simulator', '../../sim/index.ts'],
    ['a simulator host', '../../sim/hosts/app.ts'],
    ['the real network', '../../net-real/quic-transport.ts'],
    ['the scenario runner', '../../scenarios/runner.ts'],
    ['the dashboard', '../../tui/model.ts'],
  ])('rejects an import of %s (%s)', async (_name, path) => {
    expect(await lint(`import * as m from '${path}';\nexport const x = m;`)).toEqual([expect.stringContaining('examples/ use the public API only')]);
  });

  it('accepts the public entry files from any depth, and the example\'s own modules', async () => {
    for (const entry of publicEntryFiles) {
      expect(await lint(`import * as m from '../../${entry}';\nexport const x = m;`), entry).toEqual([]);
      expect(await lint(`import * as m from '../../../${entry}';\nexport const x = m;`, 'examples/fixture/deep/app.ts'), entry).toEqual([]);
    }
    expect(await lint("import * as m from '../../../core/swim/index.ts';\nexport const x = m;", 'examples/fixture/deep/app.ts')).toHaveLength(1);
    expect(await lint("import { Service } from './service.ts';\nexport const s = Service;")).toEqual([]);
  });

  it('the public entry files are exactly the package\'s exports', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { exports: Record<string, string | { default: string }> };
    const sources = Object.entries(pkg.exports).filter(([name]) => name !== './package.json')
      .map(([, target]) => (typeof target === 'string' ? target : target.default).replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts'));
    expect(sources.sort()).toEqual([...publicEntryFiles].sort());
  });
});
