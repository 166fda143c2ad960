import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli.ts';

/**
 * `shoal bench lifeguard` refuses flags that would build an impossible scenario (no slow
 * member, more slow members than the cluster has, a delay of 0) with one line and exit 2,
 * before any cell runs, instead of the generated scenario's validation errors.
 */
describe('shoal bench lifeguard flags', () => {
  afterEach(() => vi.restoreAllMocks());

  const refusal = async (...args: string[]) => {
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const code = await main(['bench', 'lifeguard', ...args]);
    return { code, errors };
  };

  it.each([
    [['--members', '3', '--slow', '0'], /^shoal bench: --slow counts must be whole numbers from 1 to 1 with --members 3 \(n2\.\. are slowed, n3 crashes\), got 0$/],
    [['--members', '3', '--slow', '5'], /got 5$/],
    [['--members', '3'], /got 4$/],
    [['--slow', '1.5'], /from 1 to 98 with --members 100 .*got 1\.5$/],
    [['--members', '2.5'], /^shoal bench: --members must be a whole number of at least 3/],
    [['--members', '3', '--slow', '1', '--delays', '0'], /^shoal bench: --delays must be milliseconds more than 0/],
  ])('%j: one line, exit 2', async (args, message) => {
    const { code, errors } = await refusal(...args);
    expect(code).toBe(2);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
  });
});
