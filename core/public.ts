/**
 * `shoal`: what a user's app is written against. An app is a module whose default export
 * is `defineApp({ name, services, start })`; `start(node)` receives an `AppNode` with the
 * member's clock, random, logger, membership, RPC server and client, registries, cluster
 * client and gossip. The same module runs in a scenario (`shoal run`, `cluster.apps`),
 * in the dashboard and on a real node (`shoal node --app`).
 *
 * This entry point holds the app API, RPC service definitions (`defineService`, the
 * method kinds, codecs, `Status`, `RpcError`), the error classes, the membership types and
 * the cluster types and balancing strategy names. It is pure: importing it starts
 * nothing and touches no I/O. The simulator is `shoal/sim`, the real network
 * `shoal/real`, property testing of apps under faults `shoal/testing`.
 *
 * @example
 * ```ts
 * import { defineApp, defineService, unary } from 'shoal';
 *
 * const Echo = defineService('echo.v1', { echo: unary<{ text: string }, { text: string }>() });
 * export default defineApp({
 *   name: 'echo',
 *   services: [Echo],
 *   start(node) {
 *     node.server.register(Echo, { echo: async ({ text }) => ({ text }) });
 *   },
 * });
 * ```
 */

// Apps.
export { defineApp, isApp } from './app/app.ts';
export type { App, AppDefinition, AppGossip, AppMembership, AppNode, ReportedValue, WorkloadItem } from './app/app.ts';
export { AppStartError, appConfig, appStateBytesMax, reportedKeysMax, startApps } from './app/runtime.ts';
export type { AppPlacement, AppReporter, MemberRuntime, RunningApps } from './app/runtime.ts';

// RPC: service definitions, codecs, status codes, client and server.
export { bidi, clientStream, defineService, serverStream, unary } from './rpc/service.ts';
export type {
  AnyMethod, CallKind, MethodDescriptor, MethodSchemas, MethodTable, RequestOf, ResponseOf, Schema, ServiceDefinition, ServiceOptions,
} from './rpc/service.ts';
export { jsonCodec, msgpackCodec } from './rpc/codec.ts';
export type { Codec } from './rpc/codec.ts';
export { RpcError, Status, statusName, toRpcError } from './rpc/status.ts';
export type { RpcErrorOptions, StatusCode, StatusName } from './rpc/status.ts';
export type { Metadata } from './rpc/metadata.ts';
export { RpcClient } from './rpc/client.ts';
export type { CallEndInfo, ClientCallInfo, ClientInterceptor, ClientMethod, ConnectionInfo, RpcClientOptions, ServiceClient } from './rpc/client.ts';
export type { CallOptions, ResponseStream } from './rpc/client-call.ts';
export { RpcServer } from './rpc/server.ts';
export type { RpcServerOptions, ServerHandler, ServiceImplementation, ShutdownOptions, UnservedCall } from './rpc/server.ts';
export type { ServerCallContext, ServerInterceptor } from './rpc/server-call.ts';

// Errors: one class per failure, each with its own `name` and a stable `code`.
export {
  AssertionError, ConfigError, ConnectionClosedError, ConnectionLostError, ConnectionRefusedError, ConnectionResetError,
  ConnectTimeoutError, DatagramTooLargeError, DecodeError, InvalidArgumentError, LimitExceededError, ShoalError,
  StreamClosedError, StreamLimitError, StreamResetError, TransportError,
} from './errors.ts';
export { AllCircuitsOpenError, NoWorkerError, ShedError, WorkerLostError } from './cluster/errors.ts';

// The environment an app runs against (the simulator's or the real network's).
export type { Address } from './address.ts';
export type { Clock, TimerHandle } from './clock.ts';
export type { Random } from './random.ts';
export type { Env, Logger, LogLevel } from './env.ts';
export type { Connection, ConnectionState, DatagramService, Stream, StreamService, Transport } from './transport.ts';

// Membership.
export type { MemberHealth, MemberState, MembershipEvent, MembershipEventType, MemberView } from './swim/member.ts';
export type { Tags } from './swim/codec.ts';
export type { SwimConfig, SwimConfigInput, SwimPreset } from './swim/config.ts';
export { swimPresets } from './swim/config.ts';
export { Swim } from './swim/swim.ts';
export type { SwimDelegate, SwimOptions } from './swim/swim.ts';
export type { SwimStats } from './swim/member.ts';

// Cluster: registries, the cluster client and balancing strategies.
export { attachRpc } from './cluster/member-rpc.ts';
export type { MemberRpc, MemberRpcOptions } from './cluster/member-rpc.ts';
export { ClusterClient } from './cluster/cluster-client.ts';
export type { ClusterCallOptions, ClusterClientOptions, ClusterClientStats, ClusterStreamOptions } from './cluster/cluster-client.ts';
export { NodeRegistry } from './cluster/node-registry.ts';
export type { NodeEvent, NodeInfo, NodeRegistryOptions } from './cluster/node-registry.ts';
export { WorkerRegistry } from './cluster/worker-registry.ts';
export type { Worker, WorkerRegistryOptions } from './cluster/worker-registry.ts';
export { STRATEGY_NAMES, createStrategy, isStrategyName } from './balance/index.ts';
export type { Candidate, SelectContext, Strategy, StrategyName } from './balance/index.ts';
export { parseTagFilter } from './balance/filter.ts';
export type { TagFilter } from './balance/filter.ts';
