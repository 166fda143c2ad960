import { ZodError } from 'zod';
import { AdminRequestError, adminBase } from '../../net-real/node/admin-client.ts';
import { UsageError } from '../cli.ts';

// What the verbs that talk to a node's admin endpoint (`members`, `monitor`, `keys`) share.

/** The one HOST:PORT a verb takes, checked. */
export function adminTarget(positionals: readonly string[]): string {
  if (positionals.length !== 1) throw new UsageError(`give one admin address HOST:PORT (the node's --admin)${positionals.length > 1 ? `, got ${positionals.length} arguments` : ''}`);
  return checkedTarget(positionals[0]!);
}

/** A HOST:PORT, or a `UsageError` saying what is wrong with it. */
export function checkedTarget(target: string): string {
  return orUsageSync(() => {
    adminBase(target);
    return target;
  });
}

/**
 * Runs a request to an admin endpoint; an unreachable endpoint, a refusal or an answer this
 * shoal does not understand becomes one line and exit 2 (`UsageError`).
 */
export async function orUsage<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asUsage(error);
  }
}

function orUsageSync<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw asUsage(error);
  }
}

function asUsage(error: unknown): unknown {
  if (error instanceof AdminRequestError) return new UsageError(error.message, { cause: error });
  if (error instanceof ZodError) {
    const issue = error.issues[0];
    return new UsageError(`the node answered a document this shoal does not understand (${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''}); is the node of another version?`);
  }
  return error;
}

/** Columns padded to their widest cell, two spaces apart, as `serf members` prints them. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  return [header, ...rows].map((cells) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}
