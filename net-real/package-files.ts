import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding shoal's `package.json`: this repository, or the installed package.
 * This module sits one level below it in the sources (`net-real/`) and two in the
 * compiled package (`dist/net-real/`), which has no `package.json` of its own.
 */
export const packageRoot = rootAbove(dirname(fileURLToPath(import.meta.url)));

function rootAbove(here: string): string {
  const parent = join(here, '..');
  return existsSync(join(parent, 'package.json')) ? parent : join(parent, '..');
}

/**
 * A file the code reads or runs at run time that is not compiled (a shell script, a
 * scenario, a launcher in `bin/`), by its path from the package root. The package ships
 * each of them at the same path (see `files` in package.json).
 */
export function packageFile(...segments: string[]): string {
  return join(packageRoot, ...segments);
}
