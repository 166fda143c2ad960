/**
 * The shapes the dashboard reads. They mirror the SWIM node's public view (`Swim.members()`,
 * its events) and the admin endpoint of a real node, so a simulated cluster and a real one
 * feed the same model. Sources translate whatever they read into these types.
 */

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

export const memberStates: readonly MemberState[] = ['alive', 'suspect', 'dead', 'left'];

/** One member as one observer sees it (the shape of `Swim.members()` entries). */
export interface MemberView {
  readonly name: string;
  readonly address: string;
  readonly state: MemberState;
  readonly incarnation: number;
  readonly tags: Readonly<Record<string, string>>;
  /** The observer's phi for this member (0 for itself or when unknown). */
  readonly phi: number;
  /** The observer's health verdict for this member (e.g. `healthy`, `degraded`). */
  readonly health: string | number;
  readonly stateChangedAtMs: number;
}

/** Membership event kinds, as the SWIM node emits them. */
export type MemberEventKind =
  | 'joined' | 'updated' | 'suspect' | 'alive' | 'failed' | 'left' | 'partition-detected' | 'partition-healed';

export const memberEventKinds: readonly MemberEventKind[] = [
  'joined', 'updated', 'suspect', 'alive', 'failed', 'left', 'partition-detected', 'partition-healed',
];

/** Where a host stands in the simulator (a real cluster only knows `up` or `unknown`). */
export type HostCondition = 'up' | 'down' | 'paused' | 'unknown';

/** What apps reported on one member (`node.report`): app → key → the latest value. */
export type ReportedApps = Readonly<Record<string, Readonly<Record<string, number | string | boolean>>>>;

/** What one observer (a node) reports at one instant. */
export interface ObserverSnapshot {
  readonly name: string;
  readonly address?: string;
  readonly condition: HostCondition;
  /** The node's own local health (Lifeguard awareness) score. */
  readonly localHealth?: number;
  /** RPC calls this node has in flight. */
  readonly inFlight?: number;
  /** The node's member list; undefined when the node cannot be read (crashed, not attached). */
  readonly view?: readonly MemberView[];
  /** Its apps' reported values (the latest ones, also while it is down). */
  readonly apps?: ReportedApps;
}

export interface ClusterSnapshot {
  readonly timeMs: number;
  readonly observers: readonly ObserverSnapshot[];
}

/** One line of the event log. */
export interface LogEvent {
  readonly timeMs: number;
  /** A membership event kind, or `fault` / `action` / `info` for what the dashboard itself did. */
  readonly kind: MemberEventKind | 'fault' | 'action' | 'info';
  /** The node that reported it. */
  readonly observer?: string;
  /** The member it is about. */
  readonly member?: string;
  readonly text: string;
}

/** One finished RPC call, for the RPC panel. */
export interface CallRecord {
  readonly atMs: number;
  readonly worker: string;
  readonly ok: boolean;
  readonly latencyMs: number;
}

/** RPC figures already aggregated by the source (a real node's /status). */
export interface RpcSummary {
  readonly callsPerSec: number;
  readonly successRatio: number;
  readonly latencyMsP50: number;
  readonly latencyMsP99: number;
  readonly perWorker: Readonly<Record<string, number>>;
}

export interface NetworkSummary {
  readonly partitions: readonly { from: readonly string[] | 'all'; to: readonly string[] | 'all'; sinceMs: number }[];
  readonly held: readonly { from: string; to: string }[];
  /** Links with their own model (loss or latency differing from the default). */
  readonly linkOverrides: number;
  readonly loss: number;
  readonly latency: string;
}

/** Keyboard actions a source may or may not support. */
export type ActionName = 'pause' | 'step' | 'speed' | 'crash' | 'restart' | 'partition' | 'heal' | 'pauseMember' | 'loss' | 'save' | 'continue';

/**
 * Where a run stands against its scenario's end: still before it, stopped at it (the
 * scenario's verdict is final), or continued past it by the person at the keyboard.
 */
export type RunPhase = 'before-end' | 'ended' | 'past-end';

/** An expectation's verdict so far: `pending` until what happened can no longer change it. */
export type ExpectationStatus = 'pending' | 'passed' | 'failed';

/** One scenario expectation as the dashboard shows it. */
export interface LiveExpectation {
  /** What is expected, in words (the scenario runner's name for it). */
  readonly name: string;
  readonly status: ExpectationStatus;
  /** The evidence: the runner's detail, `so far: …` while pending. */
  readonly detail: string;
}

/** The scenario's expectations with their status; `final` once the run reached the scenario's end. */
export interface ExpectationsSummary {
  readonly results: readonly LiveExpectation[];
  readonly final: boolean;
  /** The simulated time they were checked at. */
  readonly checkedAtMs: number;
}

export interface StatusInfo {
  readonly mode: 'sim' | 'attach';
  readonly timeMs: number;
  readonly speed: string;
  readonly paused: boolean;
  readonly seed?: string;
  /** The node attached to (`host:port`), in attach mode. */
  readonly target?: string;
  readonly reproduce?: string;
  /** A short message (the result of the last action, a connection error). */
  readonly message?: string;
  readonly connected: boolean;
  /** The scenario's end (its `duration`), when the run has one. */
  readonly endMs?: number;
  /** @default 'before-end' */
  readonly phase?: RunPhase;
}
