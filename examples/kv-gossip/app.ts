import { defineApp, type Random } from '../../core/public.ts';
import { Kv } from './service.ts';
import { Store, decodeEntries, encodeEntries, type Entry } from './store.ts';

/**
 * A replicated key-value store in one app. Every member holds a full copy:
 * - `kv.v1/put` writes to the member called, which gossips the entry to the others
 *   (app broadcast, piggybacked on membership's own packets);
 * - push-pull anti-entropy exchanges whole stores, so a member that missed broadcasts
 *   (partitioned, or restarted empty) catches up;
 * - `kv.v1/get` reads the local copy.
 * It reports `keys` and `digest` (equal digests: equal stores) and `members`, the live
 * members it sees. Everything goes through `node`, so a seed replays a run exactly.
 */
export default defineApp({
  name: 'kv-gossip',
  services: [Kv],
  start(node) {
    const store = new Store();
    const reportStore = () => {
      node.report('keys', store.size);
      node.report('digest', store.digest());
    };
    const apply = (entries: [string, Entry][]) => {
      let changed = false;
      for (const [key, entry] of entries) changed = store.merge(key, entry) || changed;
      if (changed) reportStore();
    };

    node.server.register(Kv, {
      put: ({ key, value }) => {
        const entry = store.put(key, value, node.name);
        node.gossip.broadcast(encodeEntries([[key, entry]]));
        reportStore();
        return { node: node.name, version: entry.version };
      },
      get: ({ key }) => {
        const entry = store.get(key);
        return { node: node.name, value: entry?.value ?? null, version: entry?.version ?? 0 };
      },
    });
    node.gossip.onBroadcast((payload) => apply(decodeEntries(payload)));
    node.gossip.exchangeState({
      local: () => encodeEntries(store.list()),
      merge: (remote) => apply(decodeEntries(remote)),
    });
    node.membership.subscribe(() => node.report('members', node.membership.liveMembers));
    node.report('members', node.membership.liveMembers);
    reportStore();
  },
});

/**
 * Request bodies for a scenario's workload (`method: kv.v1/put`): the i-th call puts
 * `v<i>` under one of eight keys; every fourth call is a `get` instead.
 */
export function workload(random: Random, i: number) {
  const key = `k${Math.floor(random.next() * 8)}`;
  if (i % 4 === 3) return { method: 'kv.v1/get', request: { key } };
  return { key, value: `v${i}` };
}
