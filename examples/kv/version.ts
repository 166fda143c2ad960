/**
 * A value's version: a counter, and the writer that chose it. Versions are totally ordered
 * (counter first, then writer name), so every replica agrees which of two writes is newer,
 * and a writer never chooses the same version twice, so one version names one value.
 */
export interface Version {
  readonly counter: number;
  /** The coordinator that chose the version, with the id of its current start (see `writerId`). */
  readonly writer: string;
}

/** Writer ids are a member name (at most 64 characters), a `/` and a start id. */
export const writerCharsMax = 80;

/** Negative when `a` is older than `b`, zero when they are the same version, positive when newer. */
export function compareVersions(a: Version | null, b: Version | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  if (a.counter !== b.counter) return a.counter - b.counter;
  return a.writer < b.writer ? -1 : a.writer > b.writer ? 1 : 0;
}

/** The item with the newest version (the first of equals; undefined for none). */
export function newest<T extends { readonly version: Version | null }>(items: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const item of items) if (best === undefined || compareVersions(item.version, best.version) > 0) best = item;
  return best;
}

/**
 * A writer's id for one start of a member: its name and a random start id. A member that
 * restarts has forgotten which counters it used; the new start id keeps the versions it
 * chooses from colliding with ones it chose before the crash.
 */
export function writerId(name: string, random: { next(): number }): string {
  return `${name}/${Math.floor(random.next() * 0x1_0000_0000).toString(16).padStart(8, '0')}`;
}

/** A version from an untrusted message, checked; anything else is not a version. */
export function isVersion(value: unknown): value is Version {
  const v = value as Partial<Version> | null;
  return typeof v === 'object' && v !== null && Number.isSafeInteger(v.counter) && v.counter! >= 1
    && typeof v.writer === 'string' && v.writer.length > 0 && v.writer.length <= writerCharsMax;
}
