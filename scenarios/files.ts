import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * File problems in words, for messages a person reads: `cannot read x.yaml: no such file`
 * rather than an errno and a stack.
 */

const reasons: Record<string, string> = {
  ENOENT: 'no such file', EACCES: 'permission denied', EPERM: 'permission denied', EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory', EROFS: 'read-only file system', ENOSPC: 'no space left on the device',
};

/** Why a file could not be read or written: `no such file`, `permission denied`, or the error's own message. */
export function fileErrorReason(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return (typeof code === 'string' ? reasons[code] : undefined) ?? (error as Error | undefined)?.message ?? String(error);
}

/** A Node system error about a file (it has an errno code and a path). */
export function isFileError(error: unknown): error is Error & { code: string; path: string; syscall?: string } {
  const e = error as { code?: unknown; path?: unknown } | undefined;
  return typeof e?.code === 'string' && typeof e.path === 'string';
}

/** Why `path` cannot be written (created or replaced), or undefined when it can. */
export function unwritableReason(path: string): string | undefined {
  const dir = dirname(resolve(path));
  try {
    if (existsSync(path)) {
      if (statSync(path).isDirectory()) return 'it is a directory';
      accessSync(path, constants.W_OK);
      return undefined;
    }
    if (!existsSync(dir)) return `no such directory ${dir}`;
    if (!statSync(dir).isDirectory()) return `${dir} is not a directory`;
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (error) {
    return fileErrorReason(error);
  }
}
