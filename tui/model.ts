import { RpcWindow, type RpcWindowOptions } from './rpc-window.ts';
import type {
  CallRecord, ClusterSnapshot, ExpectationsSummary, HostCondition, LogEvent, MemberState, NetworkSummary, ObserverSnapshot, ReportedApps, RpcSummary, StatusInfo,
} from './types.ts';
import { memberStates } from './types.ts';

export interface ClusterModelOptions {
  /** Phi samples kept per member for its sparkline. @default 32 */
  phiHistoryMax?: number;
  /** Simulated time one sparkline sample covers (the highest median phi seen in it is kept). @default 1_000 */
  phiSampleMs?: number;
  /** Event log lines kept (the oldest go first). @default 1_000 */
  eventLogMax?: number;
  /** Members tracked at most; more are ignored (a guard against a runaway view). @default 10_000 */
  membersMax?: number;
  rpc?: RpcWindowOptions;
}

/** One member table row: the member as the cluster sees it. */
export interface MemberRow {
  readonly name: string;
  readonly address: string;
  /** The state most observers hold (ties go to the more alarming state); `unknown` when nobody reports it. */
  readonly state: MemberState | 'unknown';
  /** Observers holding `state`, out of `voters`. */
  readonly agreeing: number;
  readonly voters: number;
  readonly incarnation: number;
  readonly tags: Readonly<Record<string, string>>;
  /**
   * The median of the phi the other observers hold for it (see `medianPhi`): how suspicious
   * its silence looks to the cluster as a whole, not to its worst-connected peer.
   */
  readonly phi: number;
  /** `phi` over time: one sample per `phiSampleMs`, each the highest `phi` of its interval. */
  readonly phiHistory: readonly number[];
  /** Its own local health score (when it reports one). */
  readonly localHealth: number | undefined;
  readonly inFlight: number | undefined;
  readonly condition: HostCondition;
  /** What its apps reported (undefined: it runs no app that reported anything). */
  readonly apps: ReportedApps | undefined;
}

export type SortKey = 'name' | 'state' | 'phi' | 'incarnation' | 'health';
export const sortKeys: readonly SortKey[] = ['name', 'state', 'phi', 'incarnation', 'health'];

export interface MatrixRow {
  readonly observer: string;
  readonly condition: HostCondition;
  /** Full matrix: the state this observer holds for each column (undefined: not in its view). */
  readonly cells: readonly (MemberState | undefined)[];
  readonly counts: Readonly<Record<MemberState | 'unknown', number>>;
  /** Members on which this observer differs from the majority. */
  readonly disagreements: number;
}

export interface ViewMatrix {
  /** `full` shows every cell; `summary` shows per-observer counts, most disagreeing first. */
  readonly kind: 'full' | 'summary';
  readonly members: readonly string[];
  readonly rows: readonly MatrixRow[];
  readonly hiddenRows: number;
  /** Members on which at least one live observer differs from the majority. */
  readonly disagreeingMembers: number;
}

/** States by how alarming they are: ties in a vote go to the later one. */
const severity: Record<MemberState, number> = { alive: 0, left: 1, suspect: 2, dead: 3 };
const collator = new Intl.Collator('en', { numeric: true });

/**
 * The dashboard's store: everything the components render, fed by a source (the
 * simulator or a real node). Framework-free; every collection is bounded. Sources mutate
 * it and call `commit()`, which tells subscribers (the Ink app) to render once.
 */
export class ClusterModel {
  readonly phiHistoryMax: number;
  readonly eventLogMax: number;
  readonly membersMax: number;
  readonly phiSampleMs: number;
  private lastSampleAtMs = -Infinity;
  private rowsValue: MemberRow[] = [];
  private snapshotValue: ClusterSnapshot = { timeMs: 0, observers: [] };
  private readonly phiHistory = new Map<string, number[]>();
  private log: LogEvent[] = [];
  private readonly rpcWindow: RpcWindow;
  private rpcOverride: RpcSummary | undefined;
  private networkValue: NetworkSummary | undefined;
  private expectationsValue: ExpectationsSummary | undefined;
  private statusValue: StatusInfo = { mode: 'sim', timeMs: 0, speed: '×1', paused: false, connected: true };
  private readonly listeners = new Set<() => void>();
  private dirty = false;
  /** Increments on every commit that changed something (for React's external store). */
  version = 0;

  constructor(options: ClusterModelOptions = {}) {
    this.phiHistoryMax = options.phiHistoryMax ?? 32;
    this.eventLogMax = options.eventLogMax ?? 1_000;
    this.membersMax = options.membersMax ?? 10_000;
    this.phiSampleMs = options.phiSampleMs ?? 1_000;
    this.rpcWindow = new RpcWindow(options.rpc);
  }

  // ------------------------------------------------------------------ writes

  /** Replaces the cluster's state with a new snapshot and appends one phi sample per member. */
  update(snapshot: ClusterSnapshot): void {
    this.snapshotValue = snapshot;
    const newSample = snapshot.timeMs - this.lastSampleAtMs >= this.phiSampleMs || snapshot.timeMs < this.lastSampleAtMs;
    if (newSample) this.lastSampleAtMs = snapshot.timeMs;
    this.rowsValue = this.buildRows(snapshot, newSample);
    this.statusValue = { ...this.statusValue, timeMs: snapshot.timeMs };
    this.dirty = true;
  }

  pushEvent(event: LogEvent): void {
    this.log.push(event);
    if (this.log.length > this.eventLogMax * 1.25) this.log = this.log.slice(this.log.length - this.eventLogMax);
    this.dirty = true;
  }

  recordCall(call: CallRecord): void {
    this.rpcWindow.record(call);
    this.dirty = true;
  }

  /** Sets RPC figures a source aggregated itself (a real node's /status); undefined falls back to recorded calls. */
  setRpcSummary(summary: RpcSummary | undefined): void {
    this.rpcOverride = summary;
    this.dirty = true;
  }

  setNetwork(network: NetworkSummary | undefined): void {
    this.networkValue = network;
    this.dirty = true;
  }

  /** Sets the scenario's expectations with their status; undefined when the run has none to check. */
  setExpectations(expectations: ExpectationsSummary | undefined): void {
    this.expectationsValue = expectations;
    this.dirty = true;
  }

  setStatus(patch: Partial<StatusInfo>): void {
    this.statusValue = { ...this.statusValue, ...patch };
    this.dirty = true;
  }

  /** Tells subscribers once about everything written since the last commit. */
  commit(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.version++;
    for (const listener of this.listeners) listener();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ------------------------------------------------------------------ reads

  get snapshot(): ClusterSnapshot {
    return this.snapshotValue;
  }

  get status(): StatusInfo {
    return this.statusValue;
  }

  get network(): NetworkSummary | undefined {
    return this.networkValue;
  }

  get expectations(): ExpectationsSummary | undefined {
    return this.expectationsValue;
  }

  rpc(): RpcSummary | undefined {
    return this.rpcOverride ?? this.rpcWindow.summary(this.statusValue.timeMs);
  }

  /**
   * Member rows, filtered by a case-insensitive substring of name, address, state or a
   * `key=value` tag, then sorted: ascending by the key (names naturally, states from alive
   * to dead, the lowest phi, incarnation or health first), or descending; ties by name.
   */
  members(options: { sort?: SortKey; descending?: boolean; filter?: string } = {}): MemberRow[] {
    const needle = (options.filter ?? '').trim().toLowerCase();
    const rows = needle === '' ? [...this.rowsValue] : this.rowsValue.filter((row) => matchesFilter(row, needle));
    const compare = comparator(options.sort ?? 'name');
    rows.sort((a, b) => (options.descending ? -compare(a, b) : compare(a, b)) || collator.compare(a.name, b.name));
    return rows;
  }

  member(name: string): MemberRow | undefined {
    return this.rowsValue.find((row) => row.name === name);
  }

  /** Events, oldest first, matching a kind and a case-insensitive text filter; at most `limit` of the newest. */
  events(options: { kind?: string; filter?: string; limit?: number } = {}): LogEvent[] {
    const needle = (options.filter ?? '').toLowerCase();
    const matching = this.log.filter((e) =>
      (options.kind === undefined || e.kind === options.kind) && (needle === '' || e.text.toLowerCase().includes(needle)));
    return matching.slice(Math.max(0, matching.length - (options.limit ?? this.eventLogMax)));
  }

  /** The observer × member view matrix: full when it fits, otherwise summarised per observer. */
  matrix(options: { columnsMax: number; rowsMax: number }): ViewMatrix {
    const members = this.rowsValue.map((row) => row.name);
    const majority = new Map(this.rowsValue.map((row) => [row.name, row.state]));
    const disagreeing = new Set<string>();
    const rows: MatrixRow[] = this.snapshotValue.observers.map((observer) => {
      const held = new Map((observer.view ?? []).map((m) => [m.name, m.state]));
      const counts = { alive: 0, suspect: 0, dead: 0, left: 0, unknown: 0 };
      let disagreements = 0;
      const cells = members.map((name) => {
        const state = held.get(name);
        if (observer.view !== undefined) {
          counts[state ?? 'unknown']++;
          if (state !== undefined && state !== majority.get(name) && name !== observer.name) {
            disagreements++;
            disagreeing.add(name);
          }
        }
        return state;
      });
      return { observer: observer.name, condition: observer.condition, cells, counts, disagreements };
    });
    const full = members.length <= options.columnsMax && rows.length <= options.rowsMax;
    const shown = full ? rows : [...rows].sort((a, b) => b.disagreements - a.disagreements || collator.compare(a.observer, b.observer));
    const kept = shown.slice(0, options.rowsMax);
    return {
      kind: full ? 'full' : 'summary',
      members: full ? members : [],
      rows: full ? kept : kept.map((row) => ({ ...row, cells: [] })),
      hiddenRows: shown.length - kept.length,
      disagreeingMembers: disagreeing.size,
    };
  }

  // ------------------------------------------------------------------ internals

  private buildRows(snapshot: ClusterSnapshot, newSample: boolean): MemberRow[] {
    const byName = new Map<string, { views: { observer: string; state: MemberState; incarnation: number; tags: Readonly<Record<string, string>>; phi: number; address: string }[] }>();
    const observers = new Map<string, ObserverSnapshot>(snapshot.observers.map((o) => [o.name, o]));
    const entry = (name: string) => {
      let e = byName.get(name);
      if (e === undefined && byName.size < this.membersMax) {
        e = { views: [] };
        byName.set(name, e);
      }
      return e;
    };
    for (const observer of snapshot.observers) {
      entry(observer.name);
      if (observer.condition === 'down' || observer.view === undefined) continue;
      for (const m of observer.view) {
        entry(m.name)?.views.push({ observer: observer.name, state: m.state, incarnation: m.incarnation, tags: m.tags, phi: m.phi, address: m.address });
      }
    }
    const rows: MemberRow[] = [];
    for (const [name, { views }] of byName) {
      const others = views.filter((v) => v.observer !== name);
      const voters = others.length > 0 ? others : views;
      const { state, agreeing } = vote(voters.map((v) => v.state));
      const freshest = views.reduce<(typeof views)[number] | undefined>((best, v) => (best === undefined || v.incarnation > best.incarnation ? v : best), undefined);
      const phi = medianPhi(others.map((v) => v.phi));
      const self = observers.get(name);
      rows.push({
        name,
        address: self?.address ?? freshest?.address ?? '',
        state,
        agreeing,
        voters: voters.length,
        incarnation: freshest?.incarnation ?? 0,
        tags: freshest?.tags ?? {},
        phi,
        phiHistory: this.samplePhi(name, phi, newSample),
        localHealth: self?.condition === 'down' ? undefined : self?.localHealth,
        inFlight: self?.condition === 'down' ? undefined : self?.inFlight,
        condition: self?.condition ?? 'unknown',
        apps: self?.apps !== undefined && Object.keys(self.apps).length > 0 ? self.apps : undefined,
      });
    }
    for (const name of this.phiHistory.keys()) if (!byName.has(name)) this.phiHistory.delete(name);
    return rows.sort((a, b) => collator.compare(a.name, b.name));
  }

  /** Starts a new sample, or raises the current one: a sample shows the worst phi of its interval. */
  private samplePhi(name: string, phi: number, newSample: boolean): readonly number[] {
    let history = this.phiHistory.get(name);
    if (history === undefined) {
      history = [];
      this.phiHistory.set(name, history);
    }
    if (newSample || history.length === 0) history.push(phi);
    else history[history.length - 1] = Math.max(history[history.length - 1]!, phi);
    if (history.length > this.phiHistoryMax) history.splice(0, history.length - this.phiHistoryMax);
    return [...history];
  }
}

/** The most common state; ties go to the more alarming state, so trouble is never hidden by a draw. */
export function vote(states: readonly MemberState[]): { state: MemberState | 'unknown'; agreeing: number } {
  if (states.length === 0) return { state: 'unknown', agreeing: 0 };
  let best: MemberState = 'alive';
  let bestCount = -1;
  for (const candidate of memberStates) {
    const count = states.filter((s) => s === candidate).length;
    if (count > bestCount || (count === bestCount && count > 0 && severity[candidate] > severity[best])) {
      best = candidate;
      bestCount = count;
    }
  }
  return { state: best, agreeing: bestCount };
}

/**
 * The median of the phi values observers hold for one member (the mean of the middle two
 * for an even count; 0 when nobody reports one). One observer with a bad link cannot move
 * it, and a member the whole cluster has stopped hearing from shows its true conviction.
 * Infinity (no heartbeat expected yet) is a valid reading and sorts above every number;
 * NaN counts as 0.
 */
export function medianPhi(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = values.map((v) => (Number.isNaN(v) ? 0 : v)).sort((a, b) => compareNumbers(a, b));
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Ascending order of two numbers, Infinity included (subtraction gives NaN for two infinities). */
function compareNumbers(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function matchesFilter(row: MemberRow, needle: string): boolean {
  if (row.name.toLowerCase().includes(needle) || row.address.toLowerCase().includes(needle) || row.state === needle) return true;
  return Object.entries(row.tags).some(([k, v]) => `${k}=${v}`.toLowerCase().includes(needle));
}

function comparator(key: SortKey): (a: MemberRow, b: MemberRow) => number {
  switch (key) {
    case 'name': return (a, b) => collator.compare(a.name, b.name);
    case 'state': return (a, b) => stateRank(a.state) - stateRank(b.state);
    case 'phi': return (a, b) => compareNumbers(a.phi, b.phi);
    case 'incarnation': return (a, b) => a.incarnation - b.incarnation;
    case 'health': return (a, b) => (a.localHealth ?? -1) - (b.localHealth ?? -1);
  }
}

function stateRank(state: MemberState | 'unknown'): number {
  return state === 'unknown' ? -1 : severity[state];
}
