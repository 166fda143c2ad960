import { PhiAccrualDetector } from '../phi/index.ts';
import type { SwimConfig } from './config.ts';
import type { Member, MemberHealth, MemberView } from './member.ts';
import type { MemberTable } from './table.ts';

/**
 * Feeds a member's phi detector with an ack that arrived at `nowMs`. The detector is
 * created at the second ack (replaying the first, which the table keeps until then as two
 * numbers): round-robin probing acks each member about once per n periods (the table's
 * live count), so most members of a large cluster never get a second one, and a detector
 * costs far more than two numbers.
 */
export function heartbeat(table: MemberTable, m: Member, nowMs: number, config: Readonly<SwimConfig>): void {
  const acks = m.acks;
  if (acks instanceof PhiAccrualDetector) return acks.heartbeat(nowMs);
  if (acks === undefined) {
    // Round-robin probing reaches each member about once per n periods.
    table.noteFirstAck(m, nowMs, config.probeIntervalMs * Math.max(1, table.liveCount - 1));
    return;
  }
  const phi = detector(table, acks, config);
  table.dropFirstAck(m);
  m.acks = phi;
  phi.heartbeat(nowMs);
}

/** Phi of a member's acks at `nowMs` (0 before its first ack). */
export function phiOf(table: MemberTable, m: Member, nowMs: number, config: Readonly<SwimConfig>): number {
  const acks = m.acks;
  if (acks instanceof PhiAccrualDetector) return acks.phi(nowMs);
  return acks === undefined ? 0 : detector(table, acks, config).phi(nowMs);
}

/** A snapshot of `m` (in its state since `stateChangedAtMs`) for the application. */
export function viewOf(table: MemberTable, m: Member, stateChangedAtMs: number, nowMs: number, config: Readonly<SwimConfig>): MemberView {
  const phi = phiOf(table, m, nowMs, config);
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

/** A detector that has seen the member's first heartbeat (kept by `table` in slot `firstAck`). */
function detector(table: MemberTable, firstAck: number, config: Readonly<SwimConfig>): PhiAccrualDetector {
  const phi = new PhiAccrualDetector({ model: config.phiModel, windowSize: config.phiWindowSize, firstIntervalMs: table.firstAckIntervalMs(firstAck), minStdDevMs: config.probeIntervalMs });
  phi.heartbeat(table.firstAckAtMs(firstAck));
  return phi;
}
