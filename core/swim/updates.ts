import type { Clock } from '../clock.ts';
import type { Admission } from './admission.ts';
import { MessageType, type AliveMessage, type DeadMessage, type SuspectMessage } from './codec.ts';
import type { SwimConfig } from './config.ts';
import type { Dissemination } from './dissemination.ts';
import type { MembershipEvents } from './events.ts';
import { phiOf } from './health.ts';
import type { LocalMember } from './local.ts';
import { Member, sameTags, type SwimStats } from './member.ts';
import { PartitionDetector } from './partition.ts';
import type { Reaper } from './reaper.ts';
import type { Suspects } from './suspects.ts';
import type { MemberTable } from './table.ts';

/**
 * SWIM's state machine: what an Alive, Suspect or Dead (from gossip, a probe or a push-pull
 * entry) does to the table. Incarnations order the updates; each change is gossiped on,
 * announced as an event, and fed to partition detection.
 */
export class MemberUpdates {
  private readonly partition: PartitionDetector;

  constructor(
    private readonly name: string,
    private readonly clock: Clock,
    private readonly config: Readonly<SwimConfig>,
    private readonly stats: SwimStats,
    private readonly table: MemberTable,
    private readonly local: LocalMember,
    private readonly admission: Admission,
    private readonly suspects: Suspects,
    private readonly reaper: Reaper,
    private readonly dissemination: Dissemination,
    private readonly events: MembershipEvents,
  ) {
    this.partition = new PartitionDetector(config.partitionWindowMs, config.partitionFraction, config.partitionMembersMin);
  }

  onAlive(a: AliveMessage): void {
    if (a.name === this.name) return this.local.aliveSeen(a.incarnation);
    const m = this.table.get(a.name);
    if (m === undefined) return this.newMember(a);
    if (a.incarnation <= m.incarnation) return;
    const previous = m.state;
    const tagsChanged = !sameTags(m.tags, a.tags);
    this.table.seen(m, a.address, a.incarnation, a.tags);
    this.suspects.clear(m);
    this.table.setState(m, 'alive', this.clock.now());
    this.dissemination.queueAlive(m.version);
    if (previous === 'suspect') this.events.emit('alive', m);
    else if (previous === 'dead' || previous === 'left') {
      if (previous === 'dead') this.stats.failedThenAlive++;
      this.events.emit('joined', m, { tags: m.tags });
    } else if (tagsChanged) this.events.emit('updated', m, { tags: m.tags });
    if (previous !== 'alive') this.partitionReturn(m);
  }

  onSuspect(s: SuspectMessage): void {
    if (s.name === this.name) return this.local.accused(s.incarnation, s.from);
    const m = this.table.get(s.name);
    if (m === undefined || s.incarnation < m.incarnation || !m.live) return;
    const suspicion = this.suspects.of(m);
    if (m.state === 'suspect' && suspicion !== undefined && s.incarnation === m.incarnation) {
      // An independent confirmation shortens the timeout and is gossiped on.
      if (suspicion.confirm(s.from)) {
        this.dissemination.queueBroadcast(s);
        this.suspects.arm();
      }
      return;
    }
    this.table.setIncarnation(m, s.incarnation);
    this.suspects.clear(m);
    const now = this.clock.now();
    this.table.setState(m, 'suspect', now);
    this.suspects.start(m, s.incarnation, s.from, now, this.table.liveCount);
    this.stats.suspicions++;
    this.dissemination.queueBroadcast(s);
    this.events.emit('suspect', m, { phi: phiOf(this.table, m, now, this.config), from: s.from });
    this.unreachable(m);
  }

  onDead(d: DeadMessage): void {
    if (d.name === this.name) return this.local.accused(d.incarnation, d.from);
    const m = this.table.get(d.name);
    if (m === undefined || d.incarnation < m.incarnation || !m.live) return;
    const left = d.from === d.name;
    this.table.setIncarnation(m, d.incarnation);
    this.suspects.clear(m);
    this.table.setState(m, left ? 'left' : 'dead', this.clock.now());
    this.dissemination.queueBroadcast(d);
    if (!left) this.stats.failures++;
    this.events.emit(left ? 'left' : 'failed', m, left ? {} : { from: d.from });
    if (!left) this.unreachable(m);
    this.reaper.declared(m);
  }

  /** Declares dead every suspect whose suspicion timed out by `nowMs`. */
  suspicionTick(nowMs: number): void {
    for (const m of this.suspects.snapshot()) {
      const suspicion = this.suspects.of(m);
      if (suspicion !== undefined && suspicion.deadlineMs <= nowMs) {
        this.onDead({ type: MessageType.Dead, name: m.name, incarnation: m.incarnation, from: this.name });
      }
    }
    this.suspects.arm();
  }

  private newMember(a: AliveMessage): void {
    const now = this.clock.now();
    if (this.reaper.refusedByTombstone(a, now) || !this.admission.admit(a.name, this.table.size, now)) return;
    const m = new Member(a.name, a.address, a.incarnation, a.tags);
    this.table.add(m, now);
    // The members a joining node pulls from its seeds were gossiped when they joined:
    // passing every one on again would make each join cost O(n log n) messages per
    // member already there (a storm of n² log n while a cluster starts).
    if (!this.admission.ownJoin) this.dissemination.queueAlive(m.version);
    this.events.emit('joined', m, { tags: m.tags });
  }

  /**
   * A member became suspect or was declared failed: both are evidence that it cannot be
   * reached. Counting failures too matters when probing slows (Lifeguard) and the members
   * behind a cut become suspect one by one further apart than the detection window.
   */
  private unreachable(m: Member): void {
    const detected = this.partition.suspected(m.name, this.clock.now(), this.table.size - 1);
    if (detected !== undefined) this.events.emitPartition('partition-detected', detected);
  }

  private partitionReturn(m: Member): void {
    const healed = this.partition.returned(m.name);
    if (healed !== undefined) this.events.emitPartition('partition-healed', healed);
  }
}
