import { MessageType, type AliveMessage } from './codec.ts';
import type { SwimConfig } from './config.ts';
import type { Dissemination } from './dissemination.ts';
import type { Member, SwimStats } from './member.ts';
import type { Suspects } from './suspects.ts';
import type { MemberTable } from './table.ts';
import type { SwimTimers } from './timers.ts';
import { Tombstones } from './tombstones.ts';

/** Reaped entries the dead queue keeps before it is compacted (when they are also most of it). */
export const deadQueueCompactAfter = 1024;

/**
 * Dead and left members: forgotten `deadReapMs` after they were declared, oldest first,
 * then remembered as tombstones for as long again so that stale gossip cannot bring them
 * back.
 */
export class Reaper {
  /** Members declared dead or left, in declaration order; `head` is the next to check. */
  private readonly queue: Member[] = [];
  private head = 0;
  private readonly tombstones: Tombstones;

  constructor(
    private readonly name: string,
    private readonly config: Readonly<SwimConfig>,
    private readonly stats: SwimStats,
    private readonly timers: SwimTimers,
    private readonly table: MemberTable,
    private readonly suspects: Suspects,
    private readonly dissemination: Dissemination,
  ) {
    this.tombstones = new Tombstones(config.deadReapMs);
  }

  /** `m` was just declared dead or left. */
  declared(m: Member): void {
    this.queue.push(m);
    this.arm();
  }

  /** Forgets the members declared `deadReapMs` ago or earlier that are still gone. */
  tick(nowMs: number): void {
    const q = this.queue;
    while (this.head < q.length) {
      const m = q[this.head]!;
      const stillGone = !m.live && this.table.get(m.name) === m;
      if (stillGone && this.table.changedAtMs(m) + this.config.deadReapMs > nowMs) break;
      this.head++;
      if (stillGone) {
        this.table.remove(m);
        this.dissemination.forget(m.name);
        this.suspects.clear(m);
        this.tombstones.bury(m.name, m.incarnation, m.state === 'left', nowMs);
      }
    }
    if (this.head > deadQueueCompactAfter && this.head * 2 > q.length) {
      q.splice(0, this.head);
      this.head = 0;
    }
    this.arm();
  }

  /**
   * An Alive of a reaped member no newer than its verdict: refused, and the member is told
   * (at most once per probe interval), so one that restarted refutes with a higher incarnation.
   */
  refusedByTombstone(a: AliveMessage, nowMs: number): boolean {
    const t = this.tombstones.refusing(a.name, a.incarnation, nowMs);
    if (t === undefined) return false;
    this.stats.staleAlivesRefused++;
    if (nowMs - t.toldAtMs >= this.config.probeIntervalMs) {
      t.toldAtMs = nowMs;
      this.dissemination.sendMessage(a.address, { type: MessageType.Dead, name: a.name, incarnation: t.incarnation, from: t.left ? a.name : this.name });
    }
    return true;
  }

  private arm(): void {
    const head = this.queue[this.head];
    if (head === undefined) this.timers.clear('reap');
    else if (!this.timers.has('reap')) this.timers.set('reap', this.table.changedAtMs(head) + this.config.deadReapMs);
  }
}
