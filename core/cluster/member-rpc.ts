import type { Env } from '../env.ts';
import { assert } from '../errors.ts';
import { RpcClient, RpcServer, type RpcClientOptions, type RpcServerOptions } from '../rpc/index.ts';
import type { Swim } from '../swim/index.ts';
import { routeIncomingStreams, type StreamRouteOptions } from './stream-mux.ts';

export interface MemberRpcOptions {
  server?: RpcServerOptions;
  client?: RpcClientOptions;
  /** How incoming connections are routed to RPC or push-pull (route timeout, refusal counter). */
  routing?: StreamRouteOptions;
}

/** A member's RPC server and client, on its one address beside SWIM. */
export interface MemberRpc {
  readonly server: RpcServer;
  readonly client: RpcClient;
}

/**
 * Gives a member RPC on the address its SWIM node already uses, the same way in the
 * simulator and on a real node: an RPC server and client, and a router in front of the
 * transport's incoming connections that sends those opening with the RPC preamble to the
 * server and the rest to SWIM push-pull (`routeIncomingStreams`). SWIM takes the incoming
 * connections when it starts, so call this after `swim.start()` (and again after a
 * restart); the result is what `startApps` needs besides the environment and SWIM.
 */
export function attachRpc(env: Env, swim: Swim, options: MemberRpcOptions = {}): MemberRpc {
  assert(swim.isRunning, `attachRpc: start ${swim.name}'s SWIM node first, so push-pull has a route`);
  const server = new RpcServer(env, options.server);
  const client = new RpcClient(env, options.client);
  const swimAccept = env.transport.streams.onConnection;
  routeIncomingStreams(env.transport, env.clock, { rpc: (connection) => server.accept(connection), other: swimAccept }, options.routing);
  return { server, client };
}
