import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ConfigError } from '../../core/index.ts';
import { parseBindAddress } from '../quic-transport.ts';

/** Event-stream clients served at once (and at most half of `maxConnections`); more are refused with 503. */
export const sseClientsMax = 64;
/** A comment line every this often keeps proxies from closing an idle event stream. */
export const sseHeartbeatMs = 15_000;
/** Event-stream backlogs are compared with `eventBacklogGraceMs` this often (and on every write). */
export const sseBacklogCheckMs = 1_000;
/** Half-open requests are looked for this often at most (Node checks header and request timeouts on an interval). */
export const adminTimeoutCheckMsMax = 1_000;

/** Bounds of the admin endpoint. */
export interface AdminOptions {
  /**
   * Connections open at once: bounds the file descriptors the endpoint can hold. At the bound a
   * new connection closes the oldest one without a request in progress (idle keep-alive, or
   * half-open: its request headers incomplete), so a flood of half-open connections cannot keep
   * `/health` from answering; when every connection is busy the new one is closed at once.
   * Event streams may take at most half. At least 2. @default 128
   */
  maxConnections?: number;
  /** A request's headers must arrive within this, or the connection gets 408 and closes. @default 5_000 */
  headersTimeoutMs?: number;
  /** A whole request must arrive within this (responses, event streams included, are not bound by it). @default 10_000 */
  requestTimeoutMs?: number;
  /** A connection with no bytes either way for this long closes; above `sseHeartbeatMs` so quiet event streams stay. @default 60_000 */
  idleTimeoutMs?: number;
  /**
   * An event-stream client whose unsent backlog stays above this for `eventBacklogGraceMs` is
   * dropped. A burst lifts every backlog past it for a moment; a reader that keeps up drains
   * below it well within the grace. @default 262_144
   */
  eventBacklogBytesMax?: number;
  /** How long a backlog may stay above `eventBacklogBytesMax`. @default 10_000 */
  eventBacklogGraceMs?: number;
  /**
   * A client whose backlog would pass this is dropped at once: the memory bound per client.
   * One merge can publish an event per member (16 384 by default, each well under 1 KiB),
   * and a reader that keeps up must live through it. @default 16_777_216
   */
  eventBacklogBytesHardMax?: number;
}

export const defaultAdminOptions: Readonly<Required<AdminOptions>> = Object.freeze({
  maxConnections: 128,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  eventBacklogBytesMax: 256 * 1024,
  eventBacklogGraceMs: 10_000,
  eventBacklogBytesHardMax: 16 * 1024 * 1024,
});

/** Fills defaults and refuses values that break the bounds' relations. */
export function resolveAdminOptions(options: AdminOptions = {}): Required<AdminOptions> {
  const o = { ...defaultAdminOptions, ...options };
  for (const [field, value] of Object.entries(o)) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new ConfigError(`admin.${field}`, `must be a positive integer, got ${value}`);
  }
  if (o.maxConnections < 2) throw new ConfigError('admin.maxConnections', `must be at least 2, got ${o.maxConnections}`);
  if (o.headersTimeoutMs > o.requestTimeoutMs) throw new ConfigError('admin.headersTimeoutMs', `must not exceed requestTimeoutMs (${o.requestTimeoutMs}), got ${o.headersTimeoutMs}`);
  if (o.idleTimeoutMs <= sseHeartbeatMs) throw new ConfigError('admin.idleTimeoutMs', `must exceed the heartbeat interval (${sseHeartbeatMs}), got ${o.idleTimeoutMs}`);
  if (o.eventBacklogBytesMax > o.eventBacklogBytesHardMax) {
    throw new ConfigError('admin.eventBacklogBytesMax', `must not exceed eventBacklogBytesHardMax (${o.eventBacklogBytesHardMax}), got ${o.eventBacklogBytesMax}`);
  }
  return o;
}

/**
 * Why the endpoint refused or closed something: `connections` a new connection while every
 * connection was busy, `evicted` an idle or half-open connection closed for a new one,
 * `timeout` a request that did not arrive in time, `bad_request` a malformed one,
 * `event_clients` an event stream beyond the client bound.
 */
export type AdminRefusal = 'connections' | 'evicted' | 'timeout' | 'bad_request' | 'event_clients';

/** What the admin endpoint reads from the node. */
export interface AdminHandlers {
  /** The process is up and serving. */
  health(): boolean;
  /** Joined the cluster (or is its first member). */
  /** Undefined when ready; otherwise why not (the `/ready` body). */
  notReadyReason(): string | undefined;
  status(): unknown;
  metrics(): Promise<{ contentType: string; body: string }>;
  /** More routes by path, any method (`admin-keys.ts`); each answers its requests itself. */
  routes?: ReadonlyMap<string, AdminRoute>;
}

/** A route beyond the built-in ones: it checks the method and answers (with `send`). */
export type AdminRoute = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** When an event-stream client's backlog last rose above `eventBacklogBytesMax` (undefined: it is below). */
interface EventClient {
  overSinceMs: number | undefined;
}

/**
 * The node's admin HTTP endpoint, on its own port: `/health`, `/ready`, `/status` (JSON),
 * `/metrics` (Prometheus text) and `/events` (server-sent events). Plain HTTP: bind it to
 * loopback or a management network. Connections, request times and event backlogs are bounded.
 */
export class AdminServer {
  private readonly server: Server;
  /** Open connections, oldest first, and whether a request is in progress on each. */
  private readonly sockets = new Map<Socket, { busy: boolean }>();
  private readonly clients = new Map<ServerResponse, EventClient>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly eventClientsMax: number;
  /** Event-stream clients dropped because their backlog stayed too large (see `AdminOptions`). */
  droppedSlowClients = 0;
  readonly refusals: Record<AdminRefusal, number> = { connections: 0, evicted: 0, timeout: 0, bad_request: 0, event_clients: 0 };

  private constructor(private readonly handlers: AdminHandlers, private readonly options: Required<AdminOptions>) {
    this.eventClientsMax = Math.min(sseClientsMax, Math.floor(options.maxConnections / 2));
    this.server = createServer({
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(adminTimeoutCheckMsMax, Math.ceil(options.headersTimeoutMs / 2)),
    }, (req, res) => this.serve(req, res));
    this.server.timeout = options.idleTimeoutMs;
    this.server.on('connection', (socket: Socket) => this.admit(socket));
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => this.onClientError(error, socket));
  }

  static async start(bind: string, handlers: AdminHandlers, options: AdminOptions = {}): Promise<AdminServer> {
    const { host, port } = parseBindAddress(bind);
    const admin = new AdminServer(handlers, resolveAdminOptions(options));
    await new Promise<void>((resolve, reject) => {
      admin.server.once('error', reject);
      admin.server.listen(port, host, () => {
        admin.server.off('error', reject);
        resolve();
      });
    });
    admin.every(sseHeartbeatMs, () => admin.writeAll(': heartbeat\n\n'));
    admin.every(sseBacklogCheckMs, () => admin.checkBacklogs());
    return admin;
  }

  /** `host:port` the endpoint listens on. */
  get address(): string {
    const a = this.server.address() as AddressInfo;
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  get eventClients(): number {
    return this.clients.size;
  }

  /** Connections open now. */
  get connections(): number {
    return this.sockets.size;
  }

  /** Sends one server-sent event to every attached client. */
  publish(event: string, data: unknown): void {
    this.writeAll(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  async close(): Promise<void> {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    for (const client of this.clients.keys()) client.end();
    this.clients.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private every(periodMs: number, fn: () => void): void {
    const timer = setInterval(fn, periodMs);
    timer.unref();
    this.timers.push(timer);
  }

  private admit(socket: Socket): void {
    if (this.sockets.size >= this.options.maxConnections && !this.evictIdle()) {
      this.refusals.connections++;
      socket.destroy();
      return;
    }
    this.sockets.set(socket, { busy: false });
    socket.once('close', () => this.sockets.delete(socket));
  }

  /** Closes the oldest connection without a request in progress; false when every one is busy. */
  private evictIdle(): boolean {
    for (const [socket, state] of this.sockets) {
      if (state.busy) continue;
      this.refusals.evicted++;
      this.sockets.delete(socket);
      socket.destroy();
      return true;
    }
    return false;
  }

  /** Node's timeouts and parse errors land here; the connection is answered (when it can be) and closed. */
  private onClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
    const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    if (timedOut) this.refusals.timeout++;
    else if (error.code !== 'ECONNRESET') this.refusals.bad_request++;
    if (socket.writable && (socket as Socket).bytesWritten === 0) {
      socket.write(timedOut ? 'HTTP/1.1 408 Request Timeout\r\nconnection: close\r\n\r\n' : 'HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    }
    socket.destroy();
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const state = this.sockets.get(req.socket);
    if (state !== undefined) {
      state.busy = true;
      res.once('close', () => (state.busy = false));
    }
    this.route(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`internal error: ${(error as Error).message}\n`);
    });
  }

  private writeAll(text: string): void {
    const bytes = Buffer.byteLength(text);
    const nowMs = performance.now();
    for (const [client, state] of this.clients) {
      if (client.writableLength + bytes > this.options.eventBacklogBytesHardMax) {
        this.dropSlow(client);
        continue;
      }
      client.write(text);
      this.checkBacklog(client, state, nowMs);
    }
  }

  private checkBacklogs(): void {
    const nowMs = performance.now();
    for (const [client, state] of this.clients) this.checkBacklog(client, state, nowMs);
  }

  /** The slow-client rule: a backlog over the bound for longer than the grace, not one burst. */
  private checkBacklog(client: ServerResponse, state: EventClient, nowMs: number): void {
    if (client.writableLength <= this.options.eventBacklogBytesMax) {
      state.overSinceMs = undefined;
      return;
    }
    state.overSinceMs ??= nowMs;
    if (nowMs - state.overSinceMs > this.options.eventBacklogGraceMs) this.dropSlow(client);
  }

  private dropSlow(client: ServerResponse): void {
    this.droppedSlowClients++;
    this.clients.delete(client);
    client.destroy();
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const extra = this.handlers.routes?.get(path);
    if (extra !== undefined) return extra(req, res);
    if (req.method !== 'GET') return send(res, 405, 'text/plain', 'only GET\n');
    switch (path) {
      case '/health':
        return this.handlers.health() ? send(res, 200, 'text/plain', 'ok\n') : send(res, 503, 'text/plain', 'unhealthy\n');
      case '/ready':
      {
        const reason = this.handlers.notReadyReason();
        return reason === undefined ? send(res, 200, 'text/plain', 'ready\n') : send(res, 503, 'text/plain', `${reason}\n`);
      }
      case '/status':
        return send(res, 200, 'application/json', JSON.stringify(this.handlers.status()));
      case '/metrics': {
        const { contentType, body } = await this.handlers.metrics();
        return send(res, 200, contentType, body);
      }
      case '/events':
        return this.attach(res);
      default:
        return send(res, 404, 'text/plain', `endpoints: ${['/health', '/ready', '/status', '/metrics', '/events', ...this.handlers.routes?.keys() ?? []].join(' ')}\n`);
    }
  }

  private attach(res: ServerResponse): void {
    if (this.clients.size >= this.eventClientsMax) {
      this.refusals.event_clients++;
      return send(res, 503, 'text/plain', 'too many event-stream clients\n');
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(': attached\n\n');
    this.clients.set(res, { overSinceMs: undefined });
    res.on('close', () => this.clients.delete(res));
  }
}

export function send(res: ServerResponse, code: number, contentType: string, body: string): void {
  res.writeHead(code, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
