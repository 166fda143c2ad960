import { AdminRequestError, getAdminJson, postAdminJson } from '../../net-real/node/admin-client.ts';
import type { KeyOperation, KeyringListing } from '../../net-real/node/admin-keys.ts';
import { NodeFlagError, readGossipKeyFile } from '../../net-real/node/flags.ts';
import { decodeGossipKey } from '../../net-real/keyring.ts';
import { UsageError, exitCode, type Command } from '../cli.ts';
import { checkedTarget, formatTable, orUsage } from './admin-verbs.ts';

const actions = ['list', 'install', 'use', 'remove'] as const;
type Action = (typeof actions)[number];
const pastTense: Record<KeyOperation, string> = { install: 'installed', use: 'made primary', remove: 'removed' };

export const command: Command = {
  summary: 'Rotates the gossip keys of running nodes through their admin endpoints (HOST:PORT as given to `shoal node --admin`; '
    + 'several to act on each in turn). `list` shows each key\'s fingerprint, on how many of the nodes it is primary and by how many it is held; '
    + '`install` adds a key (nodes open gossip sealed with it), `use` makes an installed key primary (nodes seal with it), '
    + '`remove` forgets a key that is not primary. Rotation is install, use, remove, each on every node before the next '
    + '(docs/OPERATIONS.md, "Gossip keys"). The key comes from --key-file F (a file of `shoal keygen --out`) or --key BASE64. '
    + 'Key changes are taken only from the node\'s own host and are not written to its key file. '
    + 'Exit 0 when every node did it; 1 when a node refused (the key is not installed, is primary, or the ring is full), '
    + 'naming the nodes already done; 2 with one line on bad input or an unreachable endpoint.',
  usage: 'shoal keys list HOST:PORT... [--json] | shoal keys (install|use|remove) HOST:PORT... (--key-file F | --key BASE64)',
  options: { json: { type: 'boolean' }, key: { type: 'string' }, 'key-file': { type: 'string' } },
  async run(values, positionals) {
    const [action, ...targets] = positionals;
    if (!actions.includes(action as Action)) throw new UsageError(`want one of ${actions.join(', ')} first, got ${action === undefined ? 'nothing' : `"${action}"`}`);
    if (targets.length === 0) throw new UsageError('give the admin address HOST:PORT of at least one node (the node\'s --admin)');
    targets.forEach(checkedTarget);
    if (action === 'list') {
      if (values.key !== undefined || values['key-file'] !== undefined) throw new UsageError('list takes no key');
      return list(targets, values.json === true);
    }
    if (values.json) throw new UsageError('--json only applies to list');
    return change(action as KeyOperation, targets, await keyOf(values));
  },
};

/** The key of `--key` or `--key-file`, in base64. */
async function keyOf(values: Record<string, string | boolean | undefined>): Promise<string> {
  const [text, file] = [values.key, values['key-file']];
  if ((text === undefined) === (file === undefined)) throw new UsageError('give the key: --key-file F (as shoal keygen --out writes it) or --key BASE64');
  if (typeof text === 'string') {
    if (decodeGossipKey(text) === undefined) throw new UsageError('--key is not a base64 gossip key of 32 bytes (shoal keygen makes one)');
    return text.trim();
  }
  let keys: Uint8Array[];
  try {
    keys = await readGossipKeyFile(file as string, '--key-file');
  } catch (error) {
    if (error instanceof NodeFlagError) throw new UsageError(error.message);
    throw error;
  }
  if (keys.length !== 1) throw new UsageError(`--key-file: ${String(file)} holds ${keys.length} keys; give a file with the one key to act on`);
  return Buffer.from(keys[0]!).toString('base64');
}

async function list(targets: readonly string[], json: boolean): Promise<number> {
  const listings = new Map<string, KeyringListing>();
  for (const target of targets) listings.set(target, await orUsage(async () => await getAdminJson(target, '/keys') as KeyringListing));
  if (json) {
    console.log(JSON.stringify({ nodes: Object.fromEntries(listings) }));
    return exitCode.ok;
  }
  const keys = [...new Set([...listings.values()].flatMap((l) => l.keys))];
  const count = (test: (l: KeyringListing, key: string) => boolean, key: string) => `${[...listings.values()].filter((l) => test(l, key)).length}/${listings.size}`;
  console.log(formatTable(['KEY', 'PRIMARY ON', 'HELD BY'], keys.map((key) => [key, count((l, k) => l.primary === k, key), count((l, k) => l.keys.includes(k), key)])));
  return exitCode.ok;
}

/** Applies one operation to each node in turn; stops at the first that refuses, naming those already done. */
async function change(op: KeyOperation, targets: readonly string[], key: string): Promise<number> {
  const done: string[] = [];
  for (const target of targets) {
    try {
      const after = await postAdminJson(target, '/keys', { op, key }) as KeyringListing;
      console.log(`${target}: ${pastTense[op]}; keys ${after.keys.map((k) => (k === after.primary ? `${k} (primary)` : k)).join(', ')}`);
      done.push(target);
    } catch (error) {
      const already = done.length === 0 ? '' : `; already ${pastTense[op]} on ${done.join(', ')}`;
      if (!(error instanceof AdminRequestError)) throw error;
      if (error.status !== 404 && error.status !== 409) throw new UsageError(`${error.message}${already}`, { cause: error });
      console.error(`shoal keys: ${error.message}${already}`);
      return exitCode.failed;
    }
  }
  return exitCode.ok;
}
