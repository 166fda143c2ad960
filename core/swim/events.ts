import type { Clock } from '../clock.ts';
import type { Member, MembershipEvent, MembershipEventType } from './member.ts';

/** The application's subscriptions to membership events; nothing is built when no one listens. */
export class MembershipEvents {
  private readonly listeners = new Set<(e: MembershipEvent) => void>();

  constructor(private readonly clock: Clock) {}

  subscribe(listener: (e: MembershipEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** An event about `m`, as it is now. */
  emit(type: MembershipEventType, m: Member, extra: Partial<MembershipEvent> = {}): void {
    if (this.listeners.size === 0) return;
    this.deliver({ type, name: m.name, address: m.address, incarnation: m.incarnation, atMs: this.clock.now(), ...extra });
  }

  emitPartition(type: 'partition-detected' | 'partition-healed', members: readonly string[]): void {
    if (this.listeners.size === 0) return;
    this.deliver({ type, name: '', address: '', incarnation: 0, atMs: this.clock.now(), members });
  }

  private deliver(event: MembershipEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
