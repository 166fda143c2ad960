import type { Clock } from '../clock.ts';
import { InvalidArgumentError, LimitExceededError } from '../errors.ts';
import type { Awareness } from './awareness.ts';
import { MessageType, type AliveMessage, type Tags } from './codec.ts';
import type { Dissemination } from './dissemination.ts';
import type { MembershipEvents } from './events.ts';
import type { Member, SwimStats } from './member.ts';
import type { MemberTable } from './table.ts';

/**
 * The local member's own record: its incarnation, its tags, refuting what others say of
 * it (SWIM's suspicion with incarnation numbers), and leaving.
 */
export class LocalMember {
  /** Set by `leave`: a member that announced its departure no longer refutes. */
  private leaving = false;

  constructor(
    private readonly self: Member,
    private readonly clock: Clock,
    private readonly awareness: Awareness,
    private readonly stats: SwimStats,
    private readonly table: MemberTable,
    private readonly dissemination: Dissemination,
    private readonly events: MembershipEvents,
  ) {}

  get incarnation(): number {
    return this.self.incarnation;
  }

  get hasLeft(): boolean {
    return this.leaving;
  }

  aliveMessage(tags = this.self.tags): AliveMessage {
    const m = this.self;
    return { type: MessageType.Alive, name: m.name, address: m.address, incarnation: m.incarnation, tags };
  }

  /**
   * Replaces the tags (a copy: the caller's object may change later); gossiped with a new
   * incarnation. Tags that could never be gossiped are refused and the old ones kept, so
   * this member's tags change only together with its incarnation.
   */
  setTags(tags: Tags): void {
    const copy = { ...tags };
    this.checkTags(copy);
    this.self.seen(this.self.address, this.self.incarnation + 1, copy);
    this.dissemination.queueBroadcast(this.aliveMessage());
  }

  /** Refuses tags that could never be gossiped (too many, too large). */
  checkTags(tags = this.self.tags): void {
    try {
      this.dissemination.checkEncodable(this.aliveMessage(tags));
    } catch (error) {
      if (error instanceof LimitExceededError) throw new InvalidArgumentError(`tags of ${this.self.name} too large to gossip: ${error.message}`);
      throw error;
    }
  }

  /** Marks the member left and queues the announcement (the caller tells a few members directly). */
  leave(): void {
    this.leaving = true;
    this.table.setState(this.self, 'left', this.clock.now());
    this.dissemination.queueBroadcast({ type: MessageType.Dead, name: this.self.name, incarnation: this.self.incarnation, from: this.self.name });
  }

  /** An Alive about us with a higher incarnation than ours (a previous life of this member): refute it. */
  aliveSeen(incarnation: number): void {
    if (incarnation > this.self.incarnation && !this.leaving) this.refute(incarnation);
  }

  /** Someone (`from`) suspects us or holds us dead: refute unless already past it, and tell them. */
  accused(incarnation: number, from: string): void {
    if (this.leaving) return;
    if (incarnation >= this.self.incarnation) this.refute(incarnation);
    this.tellAlive(from);
  }

  private refute(seenIncarnation: number): void {
    this.self.setIncarnation(Math.max(this.self.incarnation, seenIncarnation) + 1);
    this.awareness.apply(1);
    this.stats.refutations++;
    this.dissemination.queueBroadcast(this.aliveMessage());
    this.events.emit('refuted', this.self);
  }

  /**
   * `name` suspects us or holds us dead. Whether we just refuted or had refuted before
   * (and our refutation missed it: its gossip was spent, or lost across a cut that has
   * since healed), tell it directly rather than hope gossip reaches it: it holds the
   * suspicion timer. Once per notice, so this stays bounded by gossip and probes.
   */
  private tellAlive(name: string): void {
    const m = name === this.self.name ? undefined : this.table.get(name);
    if (m !== undefined) this.dissemination.sendMessage(m.address, this.aliveMessage());
  }
}
