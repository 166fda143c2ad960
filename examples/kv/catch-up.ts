import type { AppNode, TimerHandle } from '../../core/public.ts';
import type { KvConfig } from './config.ts';
import type { Replica } from './replica.ts';
import { KvReplica } from './service.ts';

/**
 * Fetches, once from each other replica, the entries this replica shares with it (see
 * `Replica`: reads of a key wait for all of the key's other replicas). A peer that does not
 * answer within `replicaTimeoutMs` (or whose entries did not all fit) is asked again
 * `catchUpRetryMs` later, for as long as the member runs: at most one call per peer is in
 * flight, and a peer merged once is never asked again.
 */
export function startCatchUp(node: AppNode<KvConfig>, replica: Replica): void {
  const timers = new Map<string, TimerHandle>();
  let stopped = false;
  node.onStop(() => {
    stopped = true;
    for (const timer of timers.values()) node.clock.cancelTimer(timer);
  });

  const ask = (peer: string) => {
    timers.delete(peer);
    const address = node.membership.member(peer)?.address;
    if (address === undefined) return retry(peer);
    node.client.service(KvReplica, address).catchUp({ replica: replica.name }, { timeoutMs: node.config.replicaTimeoutMs }).then(({ entries }) => {
      if (stopped) return;
      if (!replica.merge(peer, Array.isArray(entries) ? entries : [])) retry(peer);
    }, () => retry(peer));
  };
  const retry = (peer: string) => {
    if (!stopped) timers.set(peer, node.clock.setTimer(node.config.catchUpRetryMs, () => ask(peer)));
  };
  for (const peer of replica.peers) ask(peer);
}
