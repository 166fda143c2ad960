import { ConfigError } from '../errors.ts';
import type { PhiModel } from '../phi/index.ts';

/**
 * SWIM configuration. Defaults come from memberlist's presets; every field says which
 * formula it feeds (see `formulas.ts`).
 */
export interface SwimConfig {
  /** Time between probes of one member (the protocol period). Scaled by awareness: interval × (score + 1). */
  probeIntervalMs: number;
  /** Wait for a direct ack before asking `indirectChecks` members to probe; relays wait this long before they nack. */
  probeTimeoutMs: number;
  /** Members asked to probe indirectly (ping-req) when the direct probe times out (k in SWIM). */
  indirectChecks: number;
  /** Suspicion timeout min = suspicionMult × max(1, log10 n) × probeInterval; k = suspicionMult − 2 confirmations expected. */
  suspicionMult: number;
  /** Suspicion timeout max = suspicionMaxTimeoutMult × min (Lifeguard starts here and shrinks with confirmations). */
  suspicionMaxTimeoutMult: number;
  /** Broadcast retransmit limit = retransmitMult × ⌈log10(n + 1)⌉. */
  retransmitMult: number;
  /** Time between gossip rounds (piggybacked broadcasts sent to `gossipNodes` random members). */
  gossipIntervalMs: number;
  /** Members gossiped to per round (the fanout). */
  gossipNodes: number;
  /** Dead members still gossiped to (and picked for push-pull) for this long, so a healed partition finds its way back. */
  gossipToTheDeadMs: number;
  /**
   * Every this long, one dead member not yet reaped (`deadReapMs`) is pinged with the
   * verdict attached: if it is alive after all (a partition healed) it refutes in its ack,
   * and whoever holds it dead learns of it without waiting for a push-pull. Kept by the
   * probe periods: the first period at least this long after the last dead probe runs the
   * next, so a member whose probing slows dead-probes as slowly. 0 disables.
   */
  deadProbeIntervalMs: number;
  /** Push-pull base interval; scaled by ⌈log2 n − log2 32⌉ + 1 above 32 members. 0 disables periodic push-pull. */
  pushPullIntervalMs: number;
  /** Local health awareness score bound: scores lie in [0, awarenessMax). */
  awarenessMax: number;
  /** Lifeguard LHA-Probe: scale the probe interval by local health, and use nacks. */
  awarenessEnabled: boolean;
  /** Lifeguard LHA-Suspicion: start at max timeout and shrink with confirmations; off: fixed min timeout (classic SWIM). */
  dynamicSuspicionEnabled: boolean;
  /** Lifeguard buddy system: a probe of a suspect member carries the suspicion so it can refute at once. */
  buddySystemEnabled: boolean;
  /** Dead and left members are forgotten (reaped) this long after they were declared. */
  deadReapMs: number;
  /** Largest datagram this node builds; min with the transport's own limit. */
  packetBytesMax: number;
  /** Push-pull exchanges that may run at once (inbound and outbound together). */
  pushPullConcurrentMax: number;
  /** Largest push-pull state message accepted or sent, in bytes. */
  pushPullBytesMax: number;
  /** A push-pull exchange that has not completed within this long is abandoned. */
  pushPullTimeoutMs: number;
  /** Retry joining through the seeds this often while no other member is known. */
  joinRetryIntervalMs: number;
  /** Broadcasts queued at most; beyond it the most-transmitted are dropped. */
  broadcastQueueMax: number;
  /**
   * Members held at most (the local node, alive, suspect, dead and left members until
   * reaped). A member beyond it is refused and counted (`stats.membersRefusedTotal`):
   * every member costs memory and a probe slot, and an authenticated peer could otherwise
   * inject any number of phantoms through one push-pull.
   */
  membersMax: number;
  /**
   * New members one push-pull exchange may add, unless it is this node's own join (which
   * asks its seed for the whole cluster). Beyond it, refused and counted
   * (`stats.membersRefusedPerPushPull`); a legitimate peer's other members arrive through
   * later exchanges and gossip.
   */
  pushPullNewMembersMax: number;
  /**
   * New members admitted per second (a token bucket holding two seconds' worth), this
   * node's own join excepted. Beyond it, refused and counted (`stats.membersRefusedRate`).
   * Bounds how fast phantoms can dilute probing; a real cluster grows far slower.
   */
  newMembersPerSecondMax: number;
  /** Phi model for ack arrivals (see core/phi). */
  phiModel: PhiModel;
  /** Ack inter-arrival samples kept per member for phi. */
  phiWindowSize: number;
  /** Phi at or above which an alive member's health is reported `degraded`. */
  phiDegradedThreshold: number;
  /** Partition detection: this fraction of known members became suspect within `partitionWindowMs`. */
  partitionFraction: number;
  /** Partition detection window. */
  partitionWindowMs: number;
  /** Partition detection ignores fewer than this many members. */
  partitionMembersMin: number;
}

export type SwimPreset = 'lan' | 'wan' | 'local';

const common = {
  awarenessEnabled: true,
  dynamicSuspicionEnabled: true,
  buddySystemEnabled: true,
  // Large enough for 10 000 members of ~60 bytes each.
  pushPullBytesMax: 4 * 1024 * 1024,
  pushPullConcurrentMax: 128,
  joinRetryIntervalMs: 2_000,
  broadcastQueueMax: 4_096,
  membersMax: 16_384,
  pushPullNewMembersMax: 512,
  newMembersPerSecondMax: 512,
  phiModel: 'normal' as PhiModel,
  phiWindowSize: 16,
  phiDegradedThreshold: 3,
  partitionFraction: 0.2,
  partitionMembersMin: 3,
} as const;

/** memberlist's presets (probe interval / timeout / k / suspicion mults / retransmit / gossip / push-pull / awareness). */
export const swimPresets: Readonly<Record<SwimPreset, Readonly<SwimConfig>>> = Object.freeze({
  lan: Object.freeze({
    ...common,
    probeIntervalMs: 1_000, probeTimeoutMs: 500, indirectChecks: 3, suspicionMult: 4, suspicionMaxTimeoutMult: 6,
    retransmitMult: 4, gossipIntervalMs: 200, gossipNodes: 3, gossipToTheDeadMs: 30_000, deadProbeIntervalMs: 2_000, pushPullIntervalMs: 30_000,
    awarenessMax: 8, deadReapMs: 60_000, packetBytesMax: 1_400, pushPullTimeoutMs: 10_000, partitionWindowMs: 10_000,
  }),
  wan: Object.freeze({
    ...common,
    probeIntervalMs: 5_000, probeTimeoutMs: 3_000, indirectChecks: 3, suspicionMult: 6, suspicionMaxTimeoutMult: 6,
    retransmitMult: 4, gossipIntervalMs: 500, gossipNodes: 4, gossipToTheDeadMs: 60_000, deadProbeIntervalMs: 10_000, pushPullIntervalMs: 60_000,
    awarenessMax: 8, deadReapMs: 120_000, packetBytesMax: 1_400, pushPullTimeoutMs: 30_000, partitionWindowMs: 60_000,
  }),
  local: Object.freeze({
    ...common,
    probeIntervalMs: 1_000, probeTimeoutMs: 200, indirectChecks: 1, suspicionMult: 3, suspicionMaxTimeoutMult: 6,
    retransmitMult: 2, gossipIntervalMs: 100, gossipNodes: 3, gossipToTheDeadMs: 15_000, deadProbeIntervalMs: 2_000, pushPullIntervalMs: 15_000,
    awarenessMax: 8, deadReapMs: 30_000, packetBytesMax: 1_400, pushPullTimeoutMs: 5_000, partitionWindowMs: 10_000,
  }),
});

/** A partial configuration on top of a preset. */
export type SwimConfigInput = Partial<SwimConfig> & { preset?: SwimPreset };

/** The smallest packet that can still carry a ping plus one broadcast. */
export const packetBytesMin = 512;

export function resolveSwimConfig(input: SwimConfigInput = {}): SwimConfig {
  const { preset = 'lan', ...fields } = input;
  const base = swimPresets[preset];
  if (base === undefined) throw new ConfigError('preset', `must be lan, wan or local, got ${String(preset)}`);
  const config: SwimConfig = { ...base };
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) (config as unknown as Record<string, unknown>)[key] = value;
  validate(config);
  return config;
}

function validate(c: SwimConfig): void {
  const positive = ['probeIntervalMs', 'probeTimeoutMs', 'gossipIntervalMs', 'gossipToTheDeadMs', 'deadReapMs',
    'pushPullTimeoutMs', 'joinRetryIntervalMs', 'partitionWindowMs', 'phiDegradedThreshold'] as const;
  for (const f of positive) if (!(c[f] > 0) || !Number.isFinite(c[f])) throw new ConfigError(f, `must be a finite number > 0, got ${c[f]}`);
  const counts = ['indirectChecks', 'gossipNodes', 'awarenessMax', 'retransmitMult', 'suspicionMult', 'suspicionMaxTimeoutMult',
    'pushPullConcurrentMax', 'pushPullBytesMax', 'broadcastQueueMax', 'phiWindowSize', 'partitionMembersMin',
    'pushPullNewMembersMax', 'newMembersPerSecondMax'] as const;
  for (const f of counts) if (!Number.isSafeInteger(c[f]) || c[f] < 1) throw new ConfigError(f, `must be an integer ≥ 1, got ${c[f]}`);
  for (const f of ['pushPullIntervalMs', 'deadProbeIntervalMs'] as const) {
    if (!(c[f] >= 0) || !Number.isFinite(c[f])) throw new ConfigError(f, `must be ≥ 0 (0 disables), got ${c[f]}`);
  }
  if (!Number.isSafeInteger(c.membersMax) || c.membersMax < 2) throw new ConfigError('membersMax', `must be an integer ≥ 2 (this node and one other), got ${c.membersMax}`);
  if (c.probeTimeoutMs >= c.probeIntervalMs) throw new ConfigError('probeTimeoutMs', `must be below probeIntervalMs (${c.probeIntervalMs}), got ${c.probeTimeoutMs}`);
  if (!Number.isSafeInteger(c.packetBytesMax) || c.packetBytesMax < packetBytesMin || c.packetBytesMax > 65_507) {
    throw new ConfigError('packetBytesMax', `must be an integer in ${packetBytesMin}..65507, got ${c.packetBytesMax}`);
  }
  if (!(c.partitionFraction > 0 && c.partitionFraction <= 1)) throw new ConfigError('partitionFraction', `must be in (0, 1], got ${c.partitionFraction}`);
  if (c.phiModel !== 'normal' && c.phiModel !== 'exponential') throw new ConfigError('phiModel', `must be normal or exponential, got ${String(c.phiModel)}`);
  for (const f of ['awarenessEnabled', 'dynamicSuspicionEnabled', 'buddySystemEnabled'] as const) {
    if (typeof c[f] !== 'boolean') throw new ConfigError(f, 'must be a boolean');
  }
}
