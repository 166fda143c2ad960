import { ConfigError, InvalidArgumentError } from '../core/index.ts';
import { latencyMeanMs, latencySampler, type LatencySampler, type LatencySpec } from './latency.ts';

/** The state of one direction of a link. */
export type LinkState = 'healthy' | 'partitioned' | 'held';

/** How one direction of a link treats messages. Probabilities are in [0, 1]. */
export interface LinkModel {
  /** One-way delay of every message. @default uniform 1–3 ms */
  latency: LatencySpec;
  /** Probability that a datagram is dropped; on streams it costs a retransmission delay instead. @default 0 */
  loss: number;
  /** Probability that a datagram is delivered twice (the copy with its own delay). @default 0 */
  duplicate: number;
  /** Probability that a datagram gets an extra delay (`reorderDelay`) and so overtakes or is overtaken. @default 0 */
  reorder: number;
  /** The extra delay of a reordered datagram. @default uniform 0–10 ms */
  reorderDelay: LatencySpec;
}

export const defaultLinkModel: Readonly<LinkModel> = Object.freeze<LinkModel>({
  latency: { kind: 'uniform', minMs: 1, maxMs: 3 },
  loss: 0,
  duplicate: 0,
  reorder: 0,
  reorderDelay: { kind: 'uniform', minMs: 0, maxMs: 10 },
});

/** A link model validated and compiled for the hot path. */
export class CompiledLinkModel {
  readonly sampleLatency: LatencySampler;
  readonly sampleReorderDelay: LatencySampler;
  /** Retransmission delay charged to a stream segment each time it is "lost". */
  readonly retransmitMs: number;

  constructor(readonly model: LinkModel) {
    for (const field of ['loss', 'duplicate', 'reorder'] as const) {
      const p = model[field];
      if (!(p >= 0 && p <= 1)) throw new ConfigError(`link.${field}`, `must be a probability in [0, 1], got ${p}`);
    }
    this.sampleLatency = latencySampler(model.latency);
    this.sampleReorderDelay = latencySampler(model.reorderDelay);
    this.retransmitMs = 3 * latencyMeanMs(model.latency) + 10;
  }
}

/** A rule that cuts every message from a host in `from` to a host in `to`; null stands for every host not in the other set (so `{from: {h}, to: null}` cuts h from everyone). */
interface CutRule {
  readonly from: ReadonlySet<number> | null;
  readonly to: ReadonlySet<number> | null;
  readonly sinceMs: number;
}

/** An explicit setting for one direction of one pair of hosts. */
export interface PairOverride {
  state: LinkState | undefined;
  sinceMs: number;
  model: CompiledLinkModel | undefined;
}

/**
 * The network model. Each direction of every link has an explicit state, decided by (in
 * order): a per-pair override (set by hold, release, repair of a pair, or a per-link
 * model), then the cut rules made by partitions, then healthy. Rules keep big partitions
 * cheap: cutting 10 000 hosts in two is one rule, not 50 million links.
 */
export class Network {
  private readonly rules: CutRule[] = [];
  private readonly pairs = new Map<number, PairOverride>();
  private defaultModel: CompiledLinkModel;

  constructor(model: Partial<LinkModel> = {}) {
    this.defaultModel = new CompiledLinkModel({ ...defaultLinkModel, ...model });
  }

  /** True when any partition, hold or per-pair setting exists (the hot path skips lookups otherwise). */
  get hasOverrides(): boolean {
    return this.rules.length > 0 || this.pairs.size > 0;
  }

  get defaults(): LinkModel {
    return this.defaultModel.model;
  }

  setDefaultModel(model: Partial<LinkModel>): void {
    this.defaultModel = new CompiledLinkModel({ ...this.defaultModel.model, ...model });
  }

  setPairModel(from: number, to: number, model: Partial<LinkModel>): void {
    const pair = this.pair(from, to, true)!;
    pair.model = new CompiledLinkModel({ ...(pair.model ?? this.defaultModel).model, ...model });
  }

  model(from: number, to: number): CompiledLinkModel {
    if (this.pairs.size === 0) return this.defaultModel;
    return this.pairs.get(key(from, to))?.model ?? this.defaultModel;
  }

  state(from: number, to: number): LinkState {
    if (!this.hasOverrides) return 'healthy';
    const pair = this.pairs.get(key(from, to));
    if (pair?.state !== undefined) return pair.state;
    for (const rule of this.rules) if (matches(rule, from, to)) return 'partitioned';
    return 'healthy';
  }

  /** When this direction stopped being healthy (it has been broken ever since), or undefined if healthy. */
  brokenSinceMs(from: number, to: number): number | undefined {
    if (!this.hasOverrides) return undefined;
    const pair = this.pairs.get(key(from, to));
    if (pair?.state === 'healthy') return undefined;
    if (pair?.state !== undefined) return pair.sinceMs;
    let since: number | undefined;
    for (const rule of this.rules) {
      if (matches(rule, from, to) && (since === undefined || rule.sinceMs < since)) since = rule.sinceMs;
    }
    return since;
  }

  /** Cuts every message from a host of `from` to a host of `to` (null means every host). */
  cut(from: ReadonlySet<number> | null, to: ReadonlySet<number> | null, nowMs: number): void {
    this.rules.push({ from, to, sinceMs: nowMs });
  }

  /** Sets one direction of one pair explicitly. */
  setPairState(from: number, to: number, state: LinkState | undefined, nowMs: number): void {
    if (from === to) throw new InvalidArgumentError('a host has no link to itself');
    const pair = this.pair(from, to, state !== undefined)!;
    if (pair === undefined) return;
    if (pair.state !== state) pair.sinceMs = nowMs;
    pair.state = state;
    if (pair.state === undefined && pair.model === undefined) this.pairs.delete(key(from, to));
  }

  /** Removes every partition and pair state (hold included); per-link models stay. */
  healAll(): void {
    this.rules.length = 0;
    for (const [k, pair] of this.pairs) {
      pair.state = undefined;
      if (pair.model === undefined) this.pairs.delete(k);
    }
  }

  /** The pairs whose direction is held, as [from, to]. */
  heldPairs(): [number, number][] {
    const out: [number, number][] = [];
    for (const [k, pair] of this.pairs) if (pair.state === 'held') out.push(unkey(k));
    return out;
  }

  /** A summary for reports and the dashboard. */
  describe(name: (index: number) => string): { partitions: { from: string[] | 'all'; to: string[] | 'all'; sinceMs: number }[]; pairs: { from: string; to: string; state: LinkState | undefined; model?: LinkModel }[] } {
    const names = (set: ReadonlySet<number> | null) => (set === null ? 'all' as const : [...set].map(name));
    return {
      partitions: this.rules.map((rule) => ({ from: names(rule.from), to: names(rule.to), sinceMs: rule.sinceMs })),
      pairs: [...this.pairs].map(([k, pair]) => {
        const [from, to] = unkey(k);
        return { from: name(from), to: name(to), state: pair.state, ...(pair.model ? { model: pair.model.model } : {}) };
      }),
    };
  }

  private pair(from: number, to: number, create: boolean): PairOverride | undefined {
    const k = key(from, to);
    let pair = this.pairs.get(k);
    if (pair === undefined && create) {
      pair = { state: undefined, sinceMs: 0, model: undefined };
      this.pairs.set(k, pair);
    }
    return pair;
  }
}

/** Host indices stay below 2^20, so a pair fits exactly in a double. */
export const hostIndexMax = 1 << 20;

function key(from: number, to: number): number {
  return from * hostIndexMax + to;
}

function unkey(k: number): [number, number] {
  return [Math.floor(k / hostIndexMax), k % hostIndexMax];
}

function matches(rule: CutRule, from: number, to: number): boolean {
  return (rule.from === null ? !rule.to!.has(from) : rule.from.has(from)) &&
    (rule.to === null ? !rule.from!.has(to) : rule.to.has(to));
}
