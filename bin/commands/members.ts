import { parseTagFilter, type TagFilter } from '../../core/balance/index.ts';
import type { MemberState } from '../../core/swim/index.ts';
import { getAdminJson } from '../../net-real/node/admin-client.ts';
import { statusSchema, type NodeStatus } from '../../tui/attach-source.ts';
import { UsageError, exitCode, type Command } from '../cli.ts';
import { adminTarget, formatTable, orUsage } from './admin-verbs.ts';

/** A member's status as `serf members` words it: the node's `dead` is `failed`. */
export type MemberStatus = 'alive' | 'suspect' | 'failed' | 'left';
const statusOf: Record<MemberState, MemberStatus> = { alive: 'alive', suspect: 'suspect', dead: 'failed', left: 'left' };
const statuses: readonly MemberStatus[] = ['alive', 'suspect', 'failed', 'left'];

/** One row of `shoal members` (and one object of its `--json`). */
export interface MemberRow {
  readonly name: string;
  readonly address: string;
  readonly status: MemberStatus;
  readonly incarnation: number;
  readonly tags: Record<string, string>;
  readonly health: string | number;
  readonly phi: number;
}

export const command: Command = {
  summary: 'Lists the members a real node knows, from its admin endpoint (HOST:PORT as given to `shoal node --admin`, '
    + 'as for `shoal tui --attach`): NAME ADDRESS STATUS INCARNATION TAGS, sorted by name. '
    + '--status keeps members in the given states (comma-separated: alive, suspect, failed, left); '
    + '--tag keeps members whose tags match a filter (k=v, k!=v, k, !k; repeatable, all must hold). '
    + '--json prints {"node", "members": [...]} instead. Exit 0, or 2 with one line on bad input or an unreachable endpoint.',
  usage: 'shoal members HOST:PORT [--status alive,suspect,failed,left] [--tag k=v]... [--json]',
  options: { json: { type: 'boolean' }, status: { type: 'string' }, tag: { type: 'string', multiple: true } },
  async run(values, positionals) {
    const target = adminTarget(positionals);
    const keep = memberFilter(values.status as string | undefined, values.tag as unknown as string[] | undefined);
    const status = await orUsage(async () => statusSchema.parse(await getAdminJson(target, '/status')));
    const rows = memberRows(status).filter(keep);
    if (values.json) console.log(JSON.stringify({ node: status.node.name, members: rows }));
    else console.log(formatTable(['NAME', 'ADDRESS', 'STATUS', 'INCARNATION', 'TAGS'], rows.map((m) => [m.name, m.address, m.status, String(m.incarnation), formatTags(m.tags)])));
    return exitCode.ok;
  },
};

/** The members of a node's `/status`, as rows sorted by name. */
export function memberRows(status: NodeStatus): MemberRow[] {
  return status.members
    .map((m) => ({ name: m.name, address: m.address, status: statusOf[m.state], incarnation: m.incarnation, tags: m.tags, health: m.health, phi: m.phi }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `--status` and `--tag` as one predicate; a bad value is a `UsageError`. */
export function memberFilter(statusFlag: string | undefined, tagFlags: readonly string[] = []): (row: MemberRow) => boolean {
  const wanted = statusFlag === undefined ? undefined : new Set(statusFlag.split(',').map((s) => s.trim()));
  for (const s of wanted ?? []) {
    if (!statuses.includes(s as MemberStatus)) throw new UsageError(`--status: unknown status "${s}"; statuses: ${statuses.join(', ')}`);
  }
  const filters: TagFilter[] = tagFlags.map((expression) => {
    try {
      return parseTagFilter(expression);
    } catch (error) {
      throw new UsageError(`--tag ${expression}: ${(error as Error).message}`);
    }
  });
  return (row) => (wanted === undefined || wanted.has(row.status)) && filters.every((f) => f.matches(row.tags));
}

function formatTags(tags: Record<string, string>): string {
  return Object.entries(tags).map(([k, v]) => `${k}=${v}`).join(',');
}
