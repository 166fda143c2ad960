import type { Address } from '../address.ts';
import type { PhiAccrualDetector } from '../phi/index.ts';
import type { Tags } from './codec.ts';

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

/** The health signal a balancer reads: phi refines "alive" into healthy or degraded. */
export type MemberHealth = 'healthy' | 'degraded' | 'suspect' | 'dead';

/** A snapshot of one member as this node sees it. */
export interface MemberView {
  readonly name: string;
  readonly address: Address;
  readonly state: MemberState;
  readonly incarnation: number;
  readonly tags: Tags;
  /** Phi of this member's ack arrivals (0 for the local node and before the first ack). */
  readonly phi: number;
  readonly health: MemberHealth;
  /** Local clock time of the last state change. */
  readonly stateChangedAtMs: number;
}

export type MembershipEventType =
  | 'joined' | 'updated' | 'suspect' | 'alive' | 'failed' | 'left'
  | 'partition-detected' | 'partition-healed' | 'refuted';

/**
 * What a node observed. `alive` means a suspect member refuted; `refuted` is the local
 * node refuting a suspicion about itself. Partition events name the members involved.
 */
export interface MembershipEvent {
  readonly type: MembershipEventType;
  /** The member concerned (the local node for `refuted`, empty for partition events). */
  readonly name: string;
  readonly address: Address;
  readonly incarnation: number;
  /** Local clock time of the observation. */
  readonly atMs: number;
  /** For `suspect`: phi of the member when it became suspect. */
  readonly phi?: number;
  /** For `joined` and `updated`. */
  readonly tags?: Tags;
  /** For `suspect` and `failed`: who suspected it. */
  readonly from?: string;
  /** For partition events: the members that became unreachable (or came back). */
  readonly members?: readonly string[];
}

/** Counters, monotonically increasing from start. */
export interface SwimStats {
  probes: number;
  acks: number;
  nacks: number;
  indirectProbes: number;
  suspicions: number;
  refutations: number;
  /** Alive messages refused because they were older than the verdict on a reaped member (its tombstone). */
  staleAlivesRefused: number;
  /** Members this node declared failed that were later seen alive (false failures, or restarts). */
  failedThenAlive: number;
  failures: number;
  datagramsSent: number;
  datagramsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** Bytes of piggybacked broadcasts sent (gossip, excluding probe headers). */
  gossipBytesSent: number;
  decodeErrors: number;
  pushPulls: number;
  pushPullFailures: number;
  /** Exceptions thrown by the application's delegate (app gossip, push-pull state): caught, logged and counted. */
  appDelegateErrors: number;
  /** Messages refused for an incarnation no refutation could exceed (see `incarnationMax`). */
  incarnationsRejected: number;
  /** Push-pull state frames refused: not authenticated (wrong key, replayed, stale) or malformed. */
  pushPullRejected: number;
  /** Push-pull exchanges whose peer refused this node's state frame as unauthenticated: our key is not theirs. */
  pushPullRefusedByPeer: number;
  /** New members refused because the table held `membersMax`. */
  membersRefusedTotal: number;
  /** New members refused beyond `pushPullNewMembersMax` in one exchange. */
  membersRefusedPerPushPull: number;
  /** New members refused beyond `newMembersPerSecondMax`. */
  membersRefusedRate: number;
}

export function emptyStats(): SwimStats {
  return {
    probes: 0, acks: 0, nacks: 0, indirectProbes: 0, suspicions: 0, refutations: 0, staleAlivesRefused: 0, failedThenAlive: 0, failures: 0,
    datagramsSent: 0, datagramsReceived: 0, bytesSent: 0, bytesReceived: 0, gossipBytesSent: 0, decodeErrors: 0,
    pushPulls: 0, pushPullFailures: 0, appDelegateErrors: 0, incarnationsRejected: 0, pushPullRejected: 0, pushPullRefusedByPeer: 0,
    membersRefusedTotal: 0, membersRefusedPerPushPull: 0, membersRefusedRate: 0,
  };
}

/** This node's record of one member. Mutable; never handed out (see `MemberView`). */
export class Member {
  state: MemberState = 'alive';
  stateChangedAtMs: number;
  /** Position in the probe list, -1 for the local node. */
  probeIndex = -1;
  /** Created at the second ack; until then the first ack's time and the interval expected then. */
  phi: PhiAccrualDetector | undefined;
  firstHeartbeatMs = -1;
  firstIntervalMs = 0;
  /** This member's push-pull entry as last sent (encoded, shared), and the incarnation × 4 + state it shows. */
  entryWire: Uint8Array | undefined;
  entryKey = -1;

  constructor(
    readonly name: string,
    public address: Address,
    public incarnation: number,
    public tags: Tags,
    nowMs: number,
  ) {
    this.stateChangedAtMs = nowMs;
  }

  get live(): boolean {
    return this.state === 'alive' || this.state === 'suspect';
  }
}
