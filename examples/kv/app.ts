import { defineApp, type AppNode, type Random } from '../../core/public.ts';
import { startCatchUp } from './catch-up.ts';
import { parseKvConfig, type KvConfig } from './config.ts';
import { Coordinator } from './coordinator.ts';
import { Replica } from './replica.ts';
import { Kv, KvReplica } from './service.ts';

/**
 * A replicated key-value store with majority quorums. Each key lives on `copies` (3)
 * replicas of a fixed list, chosen by rendezvous hashing; any member running the app
 * coordinates `kv.v1/put` and `kv.v1/get` with the key's replicas over `kv.replica.v1`.
 * In `abd` mode (the default) every operation is linearizable while a majority of the key's
 * replicas is reachable; `fast` reads skip the write-back and are not. A replica that
 * restarts empty answers no read until it has caught up from its peers.
 * It reports `mode`, and on replicas `keys` and `waitingFor` (peers not caught up from).
 */
export default defineApp<KvConfig>({
  name: 'kv',
  services: [Kv, KvReplica],
  parseConfig: parseKvConfig,
  start(node) {
    const replica = node.config.replicas.includes(node.name) ? startReplica(node) : undefined;
    const coordinator = new Coordinator(node, replica);
    node.server.register(Kv, {
      put: async ({ key, value }, call) => ({ node: node.name, version: await coordinator.put(key, value, call.deadlineMs) }),
      get: async ({ key }, call) => ({ node: node.name, ...(await coordinator.get(key, call.deadlineMs)) }),
    });
    node.report('mode', node.config.mode);
  },
});

/** Serves this member's replica of its keys, and catches it up from its peers. */
function startReplica(node: AppNode<KvConfig>): Replica {
  const report = () => {
    node.report('keys', replica.store.size);
    node.report('waitingFor', replica.waitingFor.length);
  };
  const replica = new Replica(node.name, node.config, report);
  node.server.register(KvReplica, replica.implementation());
  startCatchUp(node, replica);
  report();
  return replica;
}

/** Keys the scenario's workload uses: few, so that operations on one key overlap often. */
const workloadKeys = 3;

/**
 * Request bodies for a scenario's workload (`method: kv.v1/get`): the i-th call reads one of
 * three keys, or, every other call on average, puts `v<i>` there (values are unique, so a
 * read names the write it saw).
 */
export function workload(random: Random, i: number) {
  const key = `k${Math.floor(random.next() * workloadKeys)}`;
  if (random.next() < 0.5) return { method: 'kv.v1/put', request: { key, value: `v${i}` } };
  return { method: 'kv.v1/get', request: { key } };
}

/** One call as a history records it: `response` is absent at invoke. */
export interface Call {
  readonly method: string;
  readonly request: unknown;
  readonly response?: unknown;
}

/**
 * How the history checker reads this app's calls: a put is a write of its value, a get a
 * read of the value it returned (`null` before the key was ever written; unknown, `null`,
 * at invoke). Other methods are not operations on the store.
 */
export function operation(call: Call): { f: 'read' | 'write'; key: string; value: unknown } | undefined {
  const request = call.request as { key?: unknown; value?: unknown } | null;
  if (typeof request?.key !== 'string') return undefined;
  if (call.method === 'kv.v1/put') return { f: 'write', key: request.key, value: request.value };
  if (call.method !== 'kv.v1/get') return undefined;
  const response = call.response as { value?: unknown } | undefined;
  return { f: 'read', key: request.key, value: response?.value ?? null };
}
