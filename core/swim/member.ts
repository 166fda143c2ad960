import type { Address } from '../address.ts';
import type { PhiAccrualDetector } from '../phi/index.ts';
import { internedMax } from '../intern.ts';
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

/**
 * Who a member is and the incarnation it was seen at: its name, address, incarnation and
 * tags. The same for every node that holds the same four values, so one object serves them
 * all (see `memberVersion`): in a simulation every node holds every other member, and what
 * every node holds the same should cost bytes once, not at every node. Immutable.
 */
export class MemberVersion {
  /** Encoded push-pull entries of this version, by wire state (alive, suspect, dead, left), made when first needed. */
  private wires: (Uint8Array | undefined)[] | undefined;

  constructor(
    readonly name: string,
    readonly address: Address,
    readonly incarnation: number,
    readonly tags: Tags,
  ) {}

  /** This version's Alive message, encoded (shared by every node that gossips it), once made. */
  alive: Uint8Array | undefined;

  /** This version's push-pull entry in `state` (a wire state, 0–3), if encoded before. */
  wire(state: number): Uint8Array | undefined {
    return this.wires?.[state];
  }

  /** Keeps `wire` as this version's entry in `state`, and returns it. */
  keepWire(state: number, wire: Uint8Array): Uint8Array {
    (this.wires ??= [undefined, undefined, undefined, undefined])[state] = wire;
    return wire;
  }
}

/** Versions the registry keeps (the latest one of each name) before it starts again from empty. */
export const memberVersionsMax = internedMax;

/**
 * The latest version of each member name seen in this process: a node that moves a member
 * to a version identical to it (see `identicalTags`) takes the shared object. Sharing
 * changes no result (versions are immutable, and no reader can tell identical ones apart),
 * only what they cost; bounded like the interner, and what it handed out stays valid when
 * it starts again.
 */
const latestVersions = new Map<string, MemberVersion>();

/** The shared version with these values (made and kept as the latest of `name` when none matches). */
export function memberVersion(name: string, address: Address, incarnation: number, tags: Tags): MemberVersion {
  const v = latestVersions.get(name);
  if (v !== undefined && v.incarnation === incarnation && v.address === address && identicalTags(v.tags, tags)) return v;
  if (latestVersions.size >= memberVersionsMax) latestVersions.clear();
  const made = new MemberVersion(name, address, incarnation, Object.isFrozen(tags) ? tags : Object.freeze(tags));
  latestVersions.set(name, made);
  return made;
}

/**
 * Tags no reader could tell apart: the same keys in the same order (the order they are
 * encoded and listed in), the same values, the same prototype (decoded tags have none).
 * Only such tags may share a version; `sameTags` is the looser test of a change.
 */
function identicalTags(a: Tags, b: Tags): boolean {
  if (a === b) return true;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i] || a[ka[i]!] !== b[ka[i]!]) return false;
  return true;
}

/** The same tags, whatever the order of their keys. */
export function sameTags(a: Tags, b: Tags): boolean {
  if (a === b) return true;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}

/**
 * This node's record of one member. Mutable; never handed out (see `MemberView`). It holds
 * only what is this node's own (the state it gives the member, the member's place in the
 * probe order, its acks); who the member is lives in its shared `version`, and since when
 * it is in its state in the table (`MemberTable.changedAtMs`).
 */
export class Member {
  state: MemberState = 'alive';
  /** Position in the probe list (also of its time in the table), -1 for the local node and once removed. */
  probeIndex = -1;
  /**
   * Undefined before the first ack, then where the table keeps the first ack (a slot of
   * `MemberTable.noteFirstAck`: a small integer, no object), then (from the second) the
   * phi detector.
   */
  acks: PhiAccrualDetector | number | undefined;
  version: MemberVersion;

  constructor(name: string, address: Address, incarnation: number, tags: Tags) {
    this.version = memberVersion(name, address, incarnation, tags);
  }

  get name(): string {
    return this.version.name;
  }

  get address(): Address {
    return this.version.address;
  }

  get incarnation(): number {
    return this.version.incarnation;
  }

  get tags(): Tags {
    return this.version.tags;
  }

  /** Moves to the version with these values (an Alive at a newer incarnation may bring a new address and tags). */
  seen(address: Address, incarnation: number, tags: Tags): void {
    const v = this.version;
    if (v.address !== address || v.incarnation !== incarnation || v.tags !== tags) this.version = memberVersion(v.name, address, incarnation, tags);
  }

  /** Moves to the same version at another incarnation (a Suspect or Dead names only that). */
  setIncarnation(incarnation: number): void {
    const v = this.version;
    if (v.incarnation !== incarnation) this.version = memberVersion(v.name, v.address, incarnation, v.tags);
  }

  get live(): boolean {
    return this.state === 'alive' || this.state === 'suspect';
  }
}
