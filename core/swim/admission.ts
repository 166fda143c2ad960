import type { SwimConfig } from './config.ts';
import type { Refusals } from './refusals.ts';

/** How a new member reached this node, for the admission bounds. */
export type AdmissionRoute = 'gossip' | 'push-pull' | 'own-join';

/**
 * Whether a member this node has never seen may be added (the `membersMax` family of
 * bounds): the table has room, one push-pull exchange adds at most
 * `pushPullNewMembersMax`, and new members arrive at most `newMembersPerSecondMax` a
 * second (a token bucket of twice that), except in this node's own join.
 */
export class Admission {
  /** How the messages being handled now arrived, and how many new members this exchange may still add. */
  private route: AdmissionRoute = 'gossip';
  private left = Infinity;
  /** Token bucket of `newMembersPerSecondMax`. */
  private tokens: number;
  private tokensAtMs: number;

  constructor(private readonly config: Readonly<SwimConfig>, private readonly refusals: Refusals, nowMs: number) {
    this.tokens = 2 * config.newMembersPerSecondMax;
    this.tokensAtMs = nowMs;
  }

  /** True while merging the state this node pulled to join (its members were gossiped when they joined). */
  get ownJoin(): boolean {
    return this.route === 'own-join';
  }

  /** Members handled until `endExchange` arrived in a push-pull exchange (`ownJoin`: this node's join). */
  beginExchange(ownJoin: boolean): void {
    this.route = ownJoin ? 'own-join' : 'push-pull';
    this.left = this.config.pushPullNewMembersMax;
  }

  endExchange(): void {
    this.route = 'gossip';
    this.left = Infinity;
  }

  /** Whether `name`, never seen, may be added now to a table of `tableSize` members; a refusal is counted. */
  admit(name: string, tableSize: number, nowMs: number): boolean {
    const c = this.config;
    if (tableSize >= c.membersMax) {
      this.refusals.count('membersRefusedTotal', 'refused a new member: the member table is full', { member: name, membersMax: c.membersMax });
      return false;
    }
    if (this.route === 'own-join') return true;
    if (this.left <= 0) {
      this.refusals.count('membersRefusedPerPushPull', 'refused a new member: too many in one push-pull', { member: name, pushPullNewMembersMax: c.pushPullNewMembersMax });
      return false;
    }
    const capacity = 2 * c.newMembersPerSecondMax;
    this.tokens = Math.min(capacity, this.tokens + (nowMs - this.tokensAtMs) * c.newMembersPerSecondMax / 1000);
    this.tokensAtMs = nowMs;
    if (this.tokens < 1) {
      this.refusals.count('membersRefusedRate', 'refused a new member: new members arrive faster than allowed', { member: name, newMembersPerSecondMax: c.newMembersPerSecondMax });
      return false;
    }
    this.tokens--;
    this.left--;
    return true;
  }
}
