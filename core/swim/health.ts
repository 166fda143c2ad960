import { PhiAccrualDetector } from '../phi/index.ts';
import type { SwimConfig } from './config.ts';
import { FirstAck, type Member, type MemberHealth, type MemberView } from './member.ts';

/**
 * Feeds a member's phi detector with an ack that arrived at `nowMs`. The detector is
 * created at the second ack (replaying the first): round-robin probing acks each member
 * about once per n periods (`liveCount`), so most members of a large cluster never get a
 * second one, and a detector costs far more than two numbers.
 */
export function heartbeat(m: Member, nowMs: number, config: Readonly<SwimConfig>, liveCount: number): void {
  const acks = m.acks;
  if (acks instanceof PhiAccrualDetector) return acks.heartbeat(nowMs);
  if (acks === undefined) {
    // Round-robin probing reaches each member about once per n periods.
    m.acks = new FirstAck(nowMs, config.probeIntervalMs * Math.max(1, liveCount - 1));
    return;
  }
  const phi = m.acks = detector(acks, config);
  phi.heartbeat(nowMs);
}

/** Phi of a member's acks at `nowMs` (0 before its first ack). */
export function phiOf(m: Member, nowMs: number, config: Readonly<SwimConfig>): number {
  const acks = m.acks;
  if (acks instanceof PhiAccrualDetector) return acks.phi(nowMs);
  return acks === undefined ? 0 : detector(acks, config).phi(nowMs);
}

/** A snapshot of `m` (in its state since `stateChangedAtMs`) for the application. */
export function viewOf(m: Member, stateChangedAtMs: number, nowMs: number, config: Readonly<SwimConfig>): MemberView {
  const phi = phiOf(m, nowMs, config);
  return {
    name: m.name, address: m.address, state: m.state, incarnation: m.incarnation, tags: m.tags, phi,
    health: healthOf(m.state, phi, config.phiDegradedThreshold), stateChangedAtMs,
  };
}

export function healthOf(state: Member['state'], phi: number, degradedThreshold: number): MemberHealth {
  if (state === 'suspect') return 'suspect';
  if (state === 'dead' || state === 'left') return 'dead';
  return phi >= degradedThreshold ? 'degraded' : 'healthy';
}

/** A detector that has seen the member's first heartbeat. */
function detector(first: FirstAck, config: Readonly<SwimConfig>): PhiAccrualDetector {
  const phi = new PhiAccrualDetector({ model: config.phiModel, windowSize: config.phiWindowSize, firstIntervalMs: first.intervalMs, minStdDevMs: config.probeIntervalMs });
  phi.heartbeat(first.atMs);
  return phi;
}
