import { LimitExceededError } from '../errors.ts';
import type { Clock } from '../clock.ts';
import { PeakEwma } from '../resilience/index.ts';
import type { MemberHealth, MemberView, MembershipEvent, Tags } from '../swim/index.ts';

/** What the registry needs from a membership layer: `Swim` satisfies it. */
export interface MembershipSource {
  members(): MemberView[];
  subscribe(listener: (event: MembershipEvent) => void): () => void;
}

/** Listeners held at most: registries are shared by a few components, never by thousands. */
export const NODE_LISTENERS_MAX = 64;

export interface NodeRegistryOptions {
  /**
   * Phi at or above which an alive member reads as degraded (slow to answer probes, not yet
   * suspected).
   * @default 3
   */
  degradedPhi?: number;
  /**
   * Observed call latency (peak EWMA, ms) at or above which an alive member reads as
   * degraded: a load balancer's "slow" state, fed by `observeLatency`. Infinity disables it.
   * @default Infinity
   */
  degradedLatencyMs?: number;
  /** Decay of the latency EWMA. @default 10_000 */
  latencyDecayMs?: number;
}

/** One member as the registry shows it. */
export interface NodeInfo {
  readonly name: string;
  readonly address: string;
  readonly state: MemberView['state'];
  readonly incarnation: number;
  readonly tags: Tags;
  readonly phi: number;
  readonly health: MemberHealth;
  /** Peak-EWMA latency of calls to this member, if any were observed. */
  readonly latencyMs: number | undefined;
}

export type NodeEvent = MembershipEvent;

/**
 * Every member of the cluster with its address, tags, state, incarnation, phi and health.
 * Health refines SWIM's: "degraded" comes from phi or from the latency the local callers
 * observed (`observeLatency`), so a member that answers probes but serves slowly is
 * flagged too. Events are SWIM's, forwarded in order.
 */
export class NodeRegistry {
  readonly degradedPhi: number;
  readonly degradedLatencyMs: number;
  private readonly latencyDecayMs: number;
  private readonly latency = new Map<string, PeakEwma>();
  private readonly listeners = new Set<(event: NodeEvent) => void>();

  constructor(private readonly source: MembershipSource, private readonly clock: Clock, options: NodeRegistryOptions = {}) {
    this.degradedPhi = options.degradedPhi ?? 3;
    this.degradedLatencyMs = options.degradedLatencyMs ?? Infinity;
    this.latencyDecayMs = options.latencyDecayMs ?? 10_000;
    source.subscribe((event) => {
      for (const listener of this.listeners) listener(event);
    });
  }

  /** Every known member as of now. */
  nodes(): NodeInfo[] {
    return this.source.members().map((member) => this.info(member));
  }

  node(name: string): NodeInfo | undefined {
    const member = this.source.members().find((m) => m.name === name);
    return member === undefined ? undefined : this.info(member);
  }

  /** Records one call's latency to `name`; feeds the latency-based "degraded". */
  observeLatency(name: string, latencyMs: number): void {
    let ewma = this.latency.get(name);
    if (ewma === undefined) {
      ewma = new PeakEwma({ decayMs: this.latencyDecayMs });
      this.latency.set(name, ewma);
    }
    ewma.observe(latencyMs, this.clock.now());
  }

  subscribe(listener: (event: NodeEvent) => void): () => void {
    if (this.listeners.size >= NODE_LISTENERS_MAX) throw new LimitExceededError('node registry listeners', NODE_LISTENERS_MAX);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private info(member: MemberView): NodeInfo {
    const latencyMs = this.latency.get(member.name)?.valueAt(this.clock.now());
    return {
      name: member.name, address: member.address, state: member.state, incarnation: member.incarnation,
      tags: member.tags, phi: member.phi, health: this.health(member, latencyMs), latencyMs,
    };
  }

  private health(member: MemberView, latencyMs: number | undefined): MemberHealth {
    if (member.health !== 'healthy' && member.health !== 'degraded') return member.health;
    if (member.phi >= this.degradedPhi) return 'degraded';
    if (latencyMs !== undefined && latencyMs >= this.degradedLatencyMs) return 'degraded';
    return member.health;
  }
}
