import { describe, expect, it } from 'vitest';
import { parseTagFilter } from '../../core/balance/index.ts';
import { NodeRegistry, WorkerRegistry } from '../../core/cluster/index.ts';
import type { MemberView, MembershipEvent } from '../../core/swim/index.ts';

function fakeSwim(members: MemberView[]) {
  const listeners = new Set<(e: MembershipEvent) => void>();
  return {
    members: () => members,
    subscribe: (l: (e: MembershipEvent) => void) => (listeners.add(l), () => listeners.delete(l)),
    emit: (name: string) => { for (const l of listeners) l({ type: 'updated', name, address: `${name}:7946`, incarnation: 1, atMs: 0 }); },
  };
}
const member = (name: string, tags: Record<string, string>, state: MemberView['state'] = 'alive', phi = 0): MemberView => ({
  name, address: `${name}:7946`, state, incarnation: 1, tags, phi, health: state === 'alive' ? 'healthy' : state === 'suspect' ? 'suspect' : 'dead', stateChangedAtMs: 0,
});
const clock = { now: () => 1_000, setTimer: () => 0 as never, cancelTimer: () => undefined };

describe('registries', () => {
  it('node health is degraded by phi or by observed latency', () => {
    const members = [member('a', {}), member('b', {}, 'alive', 5), member('c', {}, 'suspect')];
    const nodes = new NodeRegistry(fakeSwim(members), clock, { degradedLatencyMs: 100 });
    expect(nodes.nodes().map((n) => n.health)).toEqual(['healthy', 'degraded', 'suspect']);
    nodes.observeLatency('a', 250);
    expect(nodes.node('a')!.health).toBe('degraded');
    expect(nodes.node('a')!.latencyMs).toBe(250);
  });

  it('the worker pool follows membership: filtered, failed members out at once, back with a fresh circuit', () => {
    const members = [member('w1', { role: 'worker', zone: 'eu' }), member('w2', { role: 'worker', zone: 'us' }), member('d', { role: 'director' })];
    const swim = fakeSwim(members);
    const workers = new WorkerRegistry(new NodeRegistry(swim, clock));
    const lost: string[] = [];
    workers.onLost((w) => lost.push(w.id));
    expect(workers.pool().map((w) => w.id)).toEqual(['w1', 'w2']);
    expect(workers.pool(parseTagFilter('zone=eu')).map((w) => w.id)).toEqual(['w1']);
    const w1 = workers.worker('w1')!;
    for (let i = 0; i < 5; i++) w1.breaker.onFailure(w1.breaker.tryAcquire(0)!, 0);
    expect(w1.circuit(0)).toBe('open');
    members[0] = member('w1', { role: 'worker', zone: 'eu' }, 'dead');
    swim.emit('w1');
    expect(workers.pool().map((w) => w.id)).toEqual(['w2']);
    expect(lost).toEqual(['w1']);
    members[0] = member('w1', { role: 'worker', zone: 'eu' });
    swim.emit('w1');
    expect(workers.pool().map((w) => w.id)).toEqual(['w1', 'w2']);
    expect(workers.worker('w1')!.circuit(0)).toBe('closed');
  });
});
