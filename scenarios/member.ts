import { AppStartError, startApps, type ReportedValue, type RunningApps } from '../core/app/index.ts';
import { NodeRegistry, attachRpc } from '../core/cluster/index.ts';
import { RpcClient, type RpcServer } from '../core/rpc/index.ts';
import type { Swim } from '../core/swim/index.ts';
import type { HostContext } from '../sim/index.ts';
import { AppModuleError, moduleOfApp, placementsFor, type ScenarioApps } from './apps.ts';

/**
 * What one scenario node runs on its simulator host: its SWIM member, and, when apps are
 * placed on it, RPC on the member's one address and the apps; the node issuing the
 * workload also gets an RPC client and a node registry for its cluster clients.
 */
export interface ScenarioMember {
  readonly name: string;
  readonly swim: Swim;
  readonly env: HostContext;
  readonly server: RpcServer | undefined;
  readonly rpc: RpcClient | undefined;
  /** Membership for the workload's cluster clients (on the workload's node only). */
  readonly nodes: NodeRegistry | undefined;
  readonly apps: RunningApps | undefined;
}

/** The latest value each app reported on each member: member → app → key → value. */
export type AppValues = Map<string, Map<string, Map<string, ReportedValue>>>;

/** Name of the trace output recording each reported value, so reports are part of the run's hash. */
export const appReportOutput = 'app-report';

export interface MemberAppsOptions {
  readonly apps: ScenarioApps;
  /** This node issues the workload's calls. */
  readonly workloadClient: boolean;
  /** Where reported values go (kept across restarts: the latest value wins). */
  readonly values: AppValues;
}

/**
 * Starts what a node runs beside its (started) SWIM member: the apps placed on it by its
 * own tags, over RPC that shares the member's address. Runs in the host factory, so every
 * restart starts the apps again. An app whose start throws stops the run with an
 * `AppModuleError` naming its module.
 */
export function startMemberApps(ctx: HostContext, swim: Swim, options: MemberAppsOptions): ScenarioMember {
  const placements = placementsFor(options.apps, swim.member(swim.name)?.tags ?? {});
  const bare: ScenarioMember = { name: ctx.name, swim, env: ctx, server: undefined, rpc: undefined, nodes: undefined, apps: undefined };
  if (placements.length === 0) {
    return options.workloadClient ? { ...bare, rpc: new RpcClient(ctx), nodes: new NodeRegistry(swim, ctx.clock) } : bare;
  }
  const { server, client } = attachRpc(ctx, swim);
  let apps: RunningApps;
  try {
    apps = startApps({ env: ctx, swim, server, client }, placements, (app, key, value) => {
      record(options.values, ctx.name, app, key, value);
      ctx.emit(appReportOutput, { app, key, value });
    });
  } catch (error) {
    if (!(error instanceof AppStartError)) throw error;
    const cause = (error.cause as Error)?.message ?? String(error.cause);
    throw new AppModuleError(moduleOfApp(options.apps, error.app) ?? error.app, `app ${error.app} failed to start on ${ctx.name}: ${cause.split('\n')[0]}`, { cause: error });
  }
  return { ...bare, server, rpc: client, nodes: options.workloadClient ? new NodeRegistry(swim, ctx.clock) : undefined, apps };
}

function record(values: AppValues, member: string, app: string, key: string, value: ReportedValue): void {
  let byApp = values.get(member);
  if (byApp === undefined) values.set(member, (byApp = new Map()));
  let byKey = byApp.get(app);
  if (byKey === undefined) byApp.set(app, (byKey = new Map()));
  byKey.set(key, value);
}

/** Reported values as plain objects (for reports and JSON), members in `order`. */
export function appValuesObject(values: AppValues, order: readonly string[]): Record<string, Record<string, Record<string, ReportedValue>>> {
  const out: Record<string, Record<string, Record<string, ReportedValue>>> = {};
  for (const member of order) {
    const byApp = values.get(member);
    if (byApp === undefined) continue;
    out[member] = Object.fromEntries([...byApp].map(([app, keys]) => [app, Object.fromEntries(keys)]));
  }
  return out;
}
