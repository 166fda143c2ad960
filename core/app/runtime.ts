import type { Env } from '../env.ts';
import { InvalidArgumentError } from '../errors.ts';
import { ClusterClient, NodeRegistry, WorkerRegistry } from '../cluster/index.ts';
import type { RpcClient, RpcServer } from '../rpc/index.ts';
import { Reader, Writer, appBroadcastBytesMax, nameBytesMax, type Swim } from '../swim/index.ts';
import type { App, AppGossip, AppNode, ReportedValue } from './app.ts';

/** What a member provides to the apps it runs: the environment, SWIM, and the RPC server and client on its one address. */
export interface MemberRuntime {
  readonly env: Env;
  readonly swim: Swim;
  readonly server: RpcServer;
  readonly client: RpcClient;
}

/** One app to start on a member, with its raw configuration. */
export interface AppPlacement {
  readonly app: App;
  readonly config?: unknown;
}

/** Where reported values go (the scenario run, the dashboard, `/status`). */
export type AppReporter = (app: string, key: string, value: ReportedValue) => void;

/** Apps running on one member. */
export interface RunningApps {
  readonly names: readonly string[];
  /** Reported values by app, then key (the latest value of each). */
  readonly reported: ReadonlyMap<string, ReadonlyMap<string, ReportedValue>>;
  /** Runs the apps' stop callbacks (a graceful stop; a crash does not call it). */
  stop(): void;
}

/** Bytes of app state one member sends in push-pull, all apps together. */
export const appStateBytesMax = 1024 * 1024;
/** Reported keys per app per member (the latest value of each is kept). */
export const reportedKeysMax = 256;

/** The raw configuration checked by the app's `parseConfig`; its error names the app. */
export function appConfig(app: App, raw: unknown): unknown {
  if (app.parseConfig === undefined) return raw ?? {};
  try {
    return app.parseConfig(raw ?? {});
  } catch (error) {
    throw new InvalidArgumentError(`app ${app.name}: config refused: ${(error as Error)?.message ?? String(error)}`);
  }
}

/**
 * Starts apps on a member: one `AppNode` each over the member's environment, SWIM, RPC
 * server and client, and one SWIM delegate that multiplexes the apps' gossip (each
 * broadcast and state blob is tagged with its app's name). A `start` that throws
 * propagates (the host refuses the member's start and says which app).
 */
export function startApps(member: MemberRuntime, placements: readonly AppPlacement[], reporter: AppReporter = () => undefined): RunningApps {
  const names = placements.map((p) => p.app.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined) throw new InvalidArgumentError(`app ${duplicate} placed twice on ${member.swim.name}`);
  const reported = new Map<string, Map<string, ReportedValue>>();
  const stops: (() => void)[] = [];
  const gossip = new GossipMux(member.swim);
  const nodes = new NodeRegistry(member.swim, member.env.clock);
  for (const { app, config } of placements) {
    const values = new Map<string, ReportedValue>();
    reported.set(app.name, values);
    const node = appNode(member, app, appConfig(app, config), nodes, gossip.channel(app.name), (key, value) => {
      if (!values.has(key) && values.size >= reportedKeysMax) return;
      values.set(key, value);
      reporter(app.name, key, value);
    }, stops);
    try {
      app.start(node);
    } catch (error) {
      throw new AppStartError(app.name, error);
    }
  }
  return {
    names, reported,
    stop() {
      for (const stop of stops.splice(0)) stop();
    },
  };
}

/** An app's `start` threw: the member cannot run it. */
export class AppStartError extends InvalidArgumentError {
  override readonly code: string = 'APP_START_FAILED';
  constructor(readonly app: string, cause: unknown) {
    super(`app ${app}: start failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

function appNode<Config>(
  member: MemberRuntime, app: App, config: Config, nodes: NodeRegistry, gossip: AppGossip,
  report: (key: string, value: ReportedValue) => void, stops: (() => void)[],
): AppNode<Config> {
  const { env, swim } = member;
  return {
    name: swim.name, address: swim.address, tags: swim.member(swim.name)?.tags ?? {}, config,
    clock: env.clock, random: env.random,
    logger: { log: (level, message, fields) => env.logger.log(level, message, { app: app.name, ...fields }) },
    membership: {
      members: () => swim.members(),
      member: (name) => swim.member(name),
      get liveMembers() {
        return swim.liveMembers;
      },
      subscribe: (listener) => swim.subscribe(listener),
      setTags: (tags) => swim.setTags(tags),
    },
    server: member.server, client: member.client, nodes,
    workers: (filter, options) => new WorkerRegistry(nodes, { ...options, filter }),
    clusterClient: (service, filter, options) => new ClusterClient(env, member.client, new WorkerRegistry(nodes, { filter }), service, options),
    gossip,
    report: (key, value) => {
      if (typeof key !== 'string' || key.length === 0 || key.length > 64) throw new InvalidArgumentError(`report: key must be 1..64 characters, got ${JSON.stringify(key)}`);
      if (!['number', 'string', 'boolean'].includes(typeof value)) throw new InvalidArgumentError(`report ${key}: value must be a number, string or boolean`);
      report(key, value);
    },
    onStop: (callback) => {
      stops.push(callback);
    },
  };
}

/** One SWIM delegate shared by a member's apps: payloads and state blobs carry the app's name. */
class GossipMux {
  private readonly handlers = new Map<string, (payload: Uint8Array, origin: string) => void>();
  private readonly states = new Map<string, { local(join: boolean): Uint8Array | undefined; merge(remote: Uint8Array, join: boolean): void }>();

  constructor(private readonly swim: Swim) {
    swim.setDelegate({
      onBroadcast: (payload, origin) => this.deliver(payload, origin),
      localState: (join) => this.localState(join),
      mergeRemoteState: (state, join) => this.merge(state, join),
    });
  }

  channel(app: string): AppGossip {
    return {
      broadcast: (payload) => {
        const w = new Writer(new Uint8Array(nameBytesMax + 2 + appBroadcastBytesMax));
        w.string(app, nameBytesMax);
        w.bytes(payload);
        if (w.offset > appBroadcastBytesMax) throw new InvalidArgumentError(`app ${app}: broadcast of ${payload.length} bytes exceeds ${appBroadcastBytesMax - app.length - 1}`);
        this.swim.broadcast(w.buffer.subarray(0, w.offset));
      },
      onBroadcast: (handler) => {
        this.handlers.set(app, handler);
      },
      exchangeState: (state) => {
        this.states.set(app, state);
      },
    };
  }

  private deliver(payload: Uint8Array, origin: string): void {
    const r = new Reader(payload);
    const app = r.string(nameBytesMax);
    this.handlers.get(app)?.(payload.subarray(r.offset), origin);
  }

  private localState(join: boolean): Uint8Array | undefined {
    if (this.states.size === 0) return undefined;
    const w = new Writer(new Uint8Array(appStateBytesMax));
    w.varint(this.states.size);
    for (const [app, state] of this.states) {
      const blob = state.local(join) ?? new Uint8Array(0);
      w.string(app, nameBytesMax);
      w.varint(blob.length);
      w.bytes(blob);
    }
    return w.buffer.slice(0, w.offset);
  }

  private merge(state: Uint8Array, join: boolean): void {
    const r = new Reader(state);
    const count = r.varint();
    for (let i = 0; i < count; i++) {
      const app = r.string(nameBytesMax);
      const blob = r.bytes(appStateBytesMax);
      if (blob.length > 0) this.states.get(app)?.merge(blob, join);
    }
  }
}
