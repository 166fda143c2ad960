/**
 * The formulas of SWIM and Lifeguard as pure functions (memberlist's, table-tested in
 * tests/swim/formulas.test.ts).
 */

/** Suspicion timeout bounds: min = mult × max(1, log10 n) × interval; max = maxMult × min. */
export function suspicionTimeoutBoundsMs(suspicionMult: number, suspicionMaxTimeoutMult: number, members: number, probeIntervalMs: number): { minMs: number; maxMs: number } {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, members)));
  const minMs = suspicionMult * nodeScale * probeIntervalMs;
  return { minMs, maxMs: suspicionMaxTimeoutMult * minMs };
}

/** Independent confirmations expected before the timeout reaches min: k = mult − 2, or 0 in a cluster too small to give them. */
export function expectedConfirmations(suspicionMult: number, members: number): number {
  const k = suspicionMult - 2;
  return members - 2 < k ? 0 : Math.max(0, k);
}

/**
 * Lifeguard's shrinking timeout: max − (ln(c + 1) / ln(k + 1)) × (max − min), floored at
 * min; with k < 1 it is min at once.
 */
export function suspicionTimeoutMs(confirmations: number, expected: number, minMs: number, maxMs: number): number {
  if (expected < 1) return minMs;
  const fraction = Math.log(confirmations + 1) / Math.log(expected + 1);
  return Math.max(minMs, Math.floor(maxMs - fraction * (maxMs - minMs)));
}

/** Times each broadcast is sent: mult × ⌈log10(n + 1)⌉. */
export function retransmitLimit(retransmitMult: number, members: number): number {
  return retransmitMult * Math.ceil(Math.log10(members + 1));
}

/** Lifeguard LHA-Probe: the interval grows with the awareness score, interval × (score + 1). */
export function scaleByAwareness(intervalMs: number, score: number): number {
  return intervalMs * (score + 1);
}

/** Awareness delta after a failed probe: expected − received nacks, or 1 when no nack was possible. */
export function failedProbeAwarenessDelta(expectedNacks: number, receivedNacks: number): number {
  return expectedNacks === 0 ? 1 : expectedNacks - receivedNacks;
}

/** Push-pull grows with the cluster so full syncs stay cheap: × (⌈log2 n − log2 32⌉ + 1) above 32 members. */
export const pushPullScaleThreshold = 32;
export function pushPullIntervalMs(baseMs: number, members: number): number {
  if (members <= pushPullScaleThreshold) return baseMs;
  const multiplier = Math.ceil(Math.log2(members) - Math.log2(pushPullScaleThreshold)) + 1;
  return baseMs * multiplier;
}
