import type { Address, Env } from '../../core/index.ts';
import { startApps, type AppPlacement, type ReportedValue, type RunningApps } from '../../core/app/index.ts';
import { parseTagFilter } from '../../core/balance/index.ts';
import { attachRpc } from '../../core/cluster/index.ts';
import type { RpcClient, RpcClientOptions, RpcServer } from '../../core/rpc/index.ts';
import { Swim, type SwimConfigInput, type Tags } from '../../core/swim/index.ts';
import type { HostFactory, Simulation } from '../simulation.ts';

/** One value an app reported on a host, as the host saw it. */
export interface AppReport {
  readonly host: string;
  readonly app: string;
  readonly key: string;
  readonly value: ReportedValue;
}

export interface AppHostOptions {
  /** The apps this host runs, with their raw configuration. */
  apps: readonly AppPlacement[];
  tags?: Tags;
  /** Addresses to join through (the host's own is skipped). @default [] */
  seeds?: readonly Address[];
  /** SWIM configuration. @default preset 'local' */
  swim?: SwimConfigInput;
  rpc?: RpcClientOptions;
  /** Told of every value the apps report (each is also an `app-report` output in the trace). */
  onReport?: (report: AppReport) => void;
}

/** What an app host runs: one SWIM member, an RPC server and client on its address, and the apps. */
export interface AppMember {
  readonly name: string;
  readonly env: Env;
  readonly swim: Swim;
  readonly server: RpcServer;
  readonly client: RpcClient;
  readonly apps: RunningApps;
}

/**
 * A simulator host running apps as a cluster member does: a started SWIM member, an RPC
 * server and client on the host's one address beside SWIM push-pull (`attachRpc`), and
 * the apps started on them through `startApps`.
 * A restart runs it again: fresh member, fresh apps, same address. An app whose `start`
 * throws makes the host's start throw (`AppStartError` names the app).
 */
export function appHost(options: AppHostOptions): HostFactory<AppMember> {
  return (ctx) => {
    const swim = new Swim(ctx, { name: ctx.name, tags: options.tags, config: options.swim ?? { preset: 'local' }, seeds: options.seeds });
    swim.start();
    const { server, client } = attachRpc(ctx, swim, { client: options.rpc });
    const apps = startApps({ env: ctx, swim, server, client }, options.apps, (app, key, value) => {
      ctx.emit('app-report', { app, key, value });
      options.onReport?.({ host: ctx.name, app, key, value });
    });
    return { name: ctx.name, env: ctx, swim, server, client, apps };
  };
}

/** One node of an app cluster: a name and its tags. */
export interface AppClusterNode {
  readonly name: string;
  readonly tags?: Tags;
}

/** An app placed on the nodes whose tags match `on` (a tag filter such as `role=kv`). */
export interface AppClusterPlacement extends AppPlacement {
  /** @default every node */
  readonly on?: string;
}

export interface AppClusterOptions {
  /** Node names, or names with tags. */
  nodes: readonly (string | AppClusterNode)[];
  apps: readonly AppClusterPlacement[];
  /** Nodes every member joins through. @default every node (so any restarted node finds the cluster) */
  seeds?: readonly string[];
  swim?: SwimConfigInput;
  rpc?: RpcClientOptions;
  onReport?: (report: AppReport) => void;
}

export interface AppCluster {
  readonly names: readonly string[];
  /** The running member on `name`, or undefined while it is down. */
  member(name: string): AppMember | undefined;
  /** The latest values `app` reported on `name` since its last start, or undefined while it is down. */
  reported(name: string, app: string): ReadonlyMap<string, ReportedValue> | undefined;
}

/** Starts one app host per node in `sim`, every app placed on the nodes its `on` filter matches. */
export function buildAppCluster(sim: Simulation, options: AppClusterOptions): AppCluster {
  const nodes = options.nodes.map((n) => (typeof n === 'string' ? { name: n } : n));
  const names = nodes.map((n) => n.name);
  const seeds = (options.seeds ?? names).map((n) => `${n}:${sim.options.port}`);
  const placements = options.apps.map((p) => ({ ...p, filter: parseTagFilter(p.on ?? '') }));
  for (const node of nodes) {
    const apps = placements.filter((p) => p.filter.matches(node.tags ?? {})).map(({ app, config }) => ({ app, config }));
    sim.host(node.name, appHost({ apps, tags: node.tags, seeds, swim: options.swim, rpc: options.rpc, onReport: options.onReport }));
  }
  const member = (name: string) => sim.app<AppMember>(name);
  return { names, member, reported: (name, app) => member(name)?.apps.reported.get(app) };
}
