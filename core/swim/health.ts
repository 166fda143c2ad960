import { PhiAccrualDetector } from '../phi/index.ts';
import type { SwimConfig } from './config.ts';
import type { Member, MemberHealth, MemberView } from './member.ts';

/**
 * Feeds a member's phi detector with an ack that arrived at `nowMs`. The detector is
 * created at the second ack (replaying the first): round-robin probing acks each member
 * about once per n periods (`liveCount`), so most members of a large cluster never get a
 * second one, and a detector costs far more than two numbers.
 */
export function heartbeat(m: Member, nowMs: number, config: Readonly<SwimConfig>, liveCount: number): void {
  if (m.phi !== undefined) return m.phi.heartbeat(nowMs);
  if (m.firstHeartbeatMs < 0) {
    m.firstHeartbeatMs = nowMs;
    // Round-robin probing reaches each member about once per n periods.
    m.firstIntervalMs = config.probeIntervalMs * Math.max(1, liveCount - 1);
    return;
  }
  m.phi = detector(m, config);
  m.phi.heartbeat(nowMs);
}

/** Phi of a member's acks at `nowMs` (0 before its first ack). */
export function phiOf(m: Member, nowMs: number, config: Readonly<SwimConfig>): number {
  if (m.phi !== undefined) return m.phi.phi(nowMs);
  return m.firstHeartbeatMs < 0 ? 0 : detector(m, config).phi(nowMs);
}

/** A snapshot of `m` for the application. */
export function viewOf(m: Member, nowMs: number, config: Readonly<SwimConfig>): MemberView {
  const phi = phiOf(m, nowMs, config);
  return {
    name: m.name, address: m.address, state: m.state, incarnation: m.incarnation, tags: m.tags, phi,
    health: healthOf(m.state, phi, config.phiDegradedThreshold), stateChangedAtMs: m.stateChangedAtMs,
  };
}

export function healthOf(state: Member['state'], phi: number, degradedThreshold: number): MemberHealth {
  if (state === 'suspect') return 'suspect';
  if (state === 'dead' || state === 'left') return 'dead';
  return phi >= degradedThreshold ? 'degraded' : 'healthy';
}

/** A detector that has seen the member's first heartbeat. */
function detector(m: Member, config: Readonly<SwimConfig>): PhiAccrualDetector {
  const phi = new PhiAccrualDetector({ model: config.phiModel, windowSize: config.phiWindowSize, firstIntervalMs: m.firstIntervalMs, minStdDevMs: config.probeIntervalMs });
  phi.heartbeat(m.firstHeartbeatMs);
  return phi;
}
