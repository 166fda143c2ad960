import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseBindAddress } from '../quic-transport.ts';

/** Bytes an event-stream client may have unsent before it is dropped as too slow. */
export const sseClientBufferBytesMax = 256 * 1024;
/** Event-stream clients served at once; more are refused with 503. */
export const sseClientsMax = 64;
/** A comment line every this often keeps proxies from closing an idle event stream. */
export const sseHeartbeatMs = 15_000;

/** What the admin endpoint reads from the node. */
export interface AdminHandlers {
  /** The process is up and serving. */
  health(): boolean;
  /** Joined the cluster (or is its first member). */
  ready(): boolean;
  status(): unknown;
  metrics(): Promise<{ contentType: string; body: string }>;
}

/**
 * The node's admin HTTP endpoint, on its own port: `/health`, `/ready`, `/status` (JSON),
 * `/metrics` (Prometheus text) and `/events` (server-sent events). Plain HTTP: bind it to
 * loopback or a management network.
 */
export class AdminServer {
  private readonly server: Server;
  private readonly clients = new Set<ServerResponse>();
  private heartbeat: NodeJS.Timeout | undefined;
  /** Event-stream clients dropped because they fell more than `sseClientBufferBytesMax` behind. */
  droppedSlowClients = 0;

  private constructor(private readonly handlers: AdminHandlers) {
    this.server = createServer((req, res) => void this.route(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`internal error: ${(error as Error).message}\n`);
    }));
  }

  static async start(bind: string, handlers: AdminHandlers): Promise<AdminServer> {
    const { host, port } = parseBindAddress(bind);
    const admin = new AdminServer(handlers);
    await new Promise<void>((resolve, reject) => {
      admin.server.once('error', reject);
      admin.server.listen(port, host, () => {
        admin.server.off('error', reject);
        resolve();
      });
    });
    admin.heartbeat = setInterval(() => admin.writeAll(': heartbeat\n\n'), sseHeartbeatMs);
    admin.heartbeat.unref();
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

  /** Sends one server-sent event to every attached client. */
  publish(event: string, data: unknown): void {
    this.writeAll(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  async close(): Promise<void> {
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    for (const client of this.clients) client.end();
    this.clients.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private writeAll(text: string): void {
    for (const client of this.clients) {
      // A client that does not read fills its socket buffer; past the bound it is dropped
      // rather than letting its backlog grow without limit.
      if (client.writableLength + text.length > sseClientBufferBytesMax) {
        this.droppedSlowClients++;
        this.clients.delete(client);
        client.destroy();
        continue;
      }
      client.write(text);
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') return send(res, 405, 'text/plain', 'only GET\n');
    switch (path) {
      case '/health':
        return this.handlers.health() ? send(res, 200, 'text/plain', 'ok\n') : send(res, 503, 'text/plain', 'unhealthy\n');
      case '/ready':
        return this.handlers.ready() ? send(res, 200, 'text/plain', 'ready\n') : send(res, 503, 'text/plain', 'not joined\n');
      case '/status':
        return send(res, 200, 'application/json', JSON.stringify(this.handlers.status()));
      case '/metrics': {
        const { contentType, body } = await this.handlers.metrics();
        return send(res, 200, contentType, body);
      }
      case '/events':
        return this.attach(res);
      default:
        return send(res, 404, 'text/plain', 'endpoints: /health /ready /status /metrics /events\n');
    }
  }

  private attach(res: ServerResponse): void {
    if (this.clients.size >= sseClientsMax) return send(res, 503, 'text/plain', 'too many event-stream clients\n');
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(': attached\n\n');
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
  }
}

function send(res: ServerResponse, code: number, contentType: string, body: string): void {
  res.writeHead(code, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
