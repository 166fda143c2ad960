import type { Address } from '../address.ts';
import { InvalidArgumentError } from '../errors.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../env.ts';
import type { Random } from '../random.ts';
import type { ClusterClient, ClusterClientOptions, NodeRegistry, WorkerRegistry, WorkerRegistryOptions } from '../cluster/index.ts';
import type { MethodTable, RpcClient, RpcServer, ServiceDefinition } from '../rpc/index.ts';
import type { MemberView, MembershipEvent, Tags } from '../swim/index.ts';

/**
 * Apps: users' own services. An app is a module whose default export is `defineApp(...)`;
 * the same module runs in the simulator (scenario `cluster.apps`), in the dashboard and
 * on a real node (`shoal node --app`). Everything an app touches comes through its
 * `AppNode`, which is what keeps it deterministic in the simulator: no wall clock, timers,
 * randomness or I/O except through the node (the lint rule that guards `core/` guards
 * `examples/` too; `shoal run --check-determinism` checks users' apps).
 */

/** A value an app reports to its run: shown in scenario reports, the dashboard, `/status` and `/metrics`. */
export type ReportedValue = number | string | boolean;

/** Membership as an app sees it: read-only views and events, and its own tags. */
export interface AppMembership {
  /** Every member this node knows (itself included), with state, incarnation, tags and phi. */
  members(): MemberView[];
  member(name: string): MemberView | undefined;
  /** Alive and suspect members, this node included. */
  readonly liveMembers: number;
  /** Membership events in order; returns an unsubscribe function. */
  subscribe(listener: (event: MembershipEvent) => void): () => void;
  /** Replaces this member's tags (gossiped with a new incarnation). */
  setTags(tags: Tags): void;
}

/**
 * App-level gossip, as memberlist's delegates give it: a bounded broadcast channel
 * piggybacked on SWIM's packets (each member delivers each broadcast once; best effort),
 * and app state exchanged in push-pull anti-entropy.
 */
export interface AppGossip {
  /** Sends `payload` (at most `appBroadcastBytesMax` = 512 bytes) to every member. */
  broadcast(payload: Uint8Array): void;
  /** Receives other members' broadcasts of this app. One handler; a later call replaces it. */
  onBroadcast(handler: (payload: Uint8Array, origin: string) => void): void;
  /** This app's state in push-pull: `local` is sent, a peer's arrives in `merge`. */
  exchangeState(state: { local(join: boolean): Uint8Array | undefined; merge(remote: Uint8Array, join: boolean): void }): void;
}

/** What a member of a shoal cluster gives an app. */
export interface AppNode<Config = unknown> {
  readonly name: string;
  readonly address: Address;
  /** This member's tags at start (see `membership.setTags`). */
  readonly tags: Tags;
  /** The app's configuration (scenario `config`, `shoal node --app-config`), after `parseConfig`. */
  readonly config: Config;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly membership: AppMembership;
  /** The member's RPC server (shared with other apps on the member): `server.register(Service, implementation)`. */
  readonly server: RpcServer;
  /** The member's RPC client: `client.service(Service, address).method(request)`. */
  readonly client: RpcClient;
  /** Every member with health refined by observed latency. */
  readonly nodes: NodeRegistry;
  /** A registry of the members whose tags match `filter` (e.g. `role=kv`), with load and circuit state. */
  workers(filter: string, options?: Omit<WorkerRegistryOptions, 'filter'>): WorkerRegistry;
  /**
   * A cluster client for `service` over the members matching `filter`: every balancing
   * strategy, retries, hedging, circuit breakers, shedding and deadline budgets.
   */
  clusterClient<M extends MethodTable>(service: ServiceDefinition<M>, filter: string, options?: ClusterClientOptions): ClusterClient<M>;
  readonly gossip: AppGossip;
  /** Reports a named value of this app on this member (the latest value wins). */
  report(key: string, value: ReportedValue): void;
  /** Runs `callback` when the member stops (a crash in the simulator does not call it). */
  onStop(callback: () => void): void;
}

/** The request of the i-th workload call, or a method and request (`service/method`). */
export type WorkloadItem = unknown | { readonly method: string; readonly request: unknown };

export interface AppDefinition<Config = unknown> {
  /** Names the app in reports, `/status` and metrics: letters, digits, `.`, `_`, `-`. */
  readonly name: string;
  /** The RPC services the app serves (listed by `shoal node`, callable by scenario workloads). */
  readonly services: readonly ServiceDefinition[];
  /** Checks and completes the raw configuration (JSON from a scenario or a flag); throw to refuse it. @default the raw value as is */
  parseConfig?(raw: unknown): Config;
  /** Starts the app on one member; runs again on every restart. Throwing refuses the start. */
  start(node: AppNode<Config>): void;
}

/** An app, as `defineApp` returns it. */
export interface App<Config = unknown> extends AppDefinition<Config> {
  readonly kind: 'shoal.app';
}

const appNamePattern = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** Defines an app; the module's default export. */
export function defineApp<Config = unknown>(definition: AppDefinition<Config>): App<Config> {
  if (typeof definition !== 'object' || definition === null) throw new InvalidArgumentError('defineApp takes { name, services, start }');
  if (typeof definition.name !== 'string' || !appNamePattern.test(definition.name)) {
    throw new InvalidArgumentError(`app name must match ${appNamePattern}, got ${JSON.stringify(definition.name)}`);
  }
  if (!Array.isArray(definition.services)) throw new InvalidArgumentError(`app ${definition.name}: services must be an array of service definitions`);
  if (typeof definition.start !== 'function') throw new InvalidArgumentError(`app ${definition.name}: start(node) must be a function`);
  return Object.freeze({ ...definition, kind: 'shoal.app' as const });
}

/** True for a value made by `defineApp` (also across copies of the package). */
export function isApp(value: unknown): value is App {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'shoal.app'
    && typeof (value as { start?: unknown }).start === 'function';
}
