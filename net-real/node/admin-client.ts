import { request as httpRequest, type IncomingMessage } from 'node:http';
import { parseAddress } from '../../core/index.ts';

/**
 * The client side of a node's admin endpoint (`admin.ts`), for the operator verbs
 * (`shoal members`, `monitor`, `keys`) and the dashboard: one-line errors that say what
 * to check, bounded bodies and timeouts.
 */

/** A `/status` or `/keys` answer larger than this is refused: 16 384 members fit in a fraction of it. */
export const adminBodyBytesMax = 64 * 1024 * 1024;
/** One server-sent event (its `event:` and `data:` lines) larger than this ends the stream. */
export const sseEventBytesMax = 1024 * 1024;
/** A request that has no answer within this fails. @default 5_000 */
export const adminRequestTimeoutMs = 5_000;

/** The admin endpoint could not be reached, or answered something else than asked for. */
export class AdminRequestError extends Error {
  override name = 'AdminRequestError';
  /** The HTTP status when the endpoint answered (a refusal), undefined when it could not be reached. */
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

/** `http://HOST:PORT` of an admin address given on the command line; throws `AdminRequestError` on a malformed one. */
export function adminBase(target: string): string {
  try {
    parseAddress(target);
  } catch (error) {
    throw new AdminRequestError(`${(error as Error).message} (the node's admin address, as given to --admin)`);
  }
  return `http://${target}`;
}

/** Why a request to `target` failed, in words an operator can act on. */
function unreachable(target: string, error: unknown, timedOut: boolean): AdminRequestError {
  if (timedOut) return new AdminRequestError(`${target}: no answer within ${adminRequestTimeoutMs} ms`);
  const code = (error as NodeJS.ErrnoException).code;
  const reason = code === 'ECONNREFUSED' ? 'connection refused' : code ?? (error as Error).message;
  return new AdminRequestError(`cannot reach the admin endpoint at ${target}: ${reason} (is it the node's --admin address, not its QUIC port?)`);
}

interface AdminRequest {
  readonly method?: 'GET' | 'POST';
  /** A JSON body. */
  readonly body?: string;
  /** Ends the exchange (an event stream) when it aborts. */
  readonly signal?: AbortSignal;
  /** Only the headers must arrive within `adminRequestTimeoutMs`; the body then runs until `signal`. @default false */
  readonly streaming?: boolean;
}

/**
 * One exchange with the endpoint (node's `http`, not `fetch`, which refuses ports such as
 * 6000 or 10080 an admin endpoint may well use): the response goes to `read` within
 * `adminRequestTimeoutMs`; a non-2xx answer throws with its body's first line.
 */
async function exchange<T>(target: string, path: string, request: AdminRequest, read: (response: IncomingMessage) => Promise<T>): Promise<T> {
  adminBase(target);
  const { host, port } = parseAddress(target);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), adminRequestTimeoutMs);
  const signal = request.signal === undefined ? deadline.signal : AbortSignal.any([request.signal, deadline.signal]);
  try {
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const headers = request.body === undefined ? { accept: request.streaming ? 'text/event-stream' : 'application/json' } : { 'content-type': 'application/json' };
      const outgoing = httpRequest({ host, port, path, method: request.method ?? 'GET', headers, signal }, resolve);
      outgoing.on('error', reject);
      outgoing.end(request.body);
    }).catch((error: unknown) => {
      throw unreachable(target, error, deadline.signal.aborted);
    });
    const status = response.statusCode ?? 0;
    if (status < 200 || status > 299) {
      const text = (await boundedText(response, 4_096).catch(() => '')).split('\n')[0]!.trim();
      throw new AdminRequestError(`${target}${path} answered ${status}${text === '' ? '' : `: ${text}`}`, status);
    }
    if (request.streaming) clearTimeout(timer);
    return await read(response).catch((error: unknown) => {
      throw error instanceof AdminRequestError ? error : unreachable(target, error, deadline.signal.aborted);
    });
  } finally {
    clearTimeout(timer);
  }
}

/** The body as text, refused past `maxBytes`. */
async function boundedText(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.byteLength;
    if (bytes > maxBytes) throw new AdminRequestError(`the answer exceeds ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function json(target: string, path: string, response: IncomingMessage): Promise<unknown> {
  const text = await boundedText(response, adminBodyBytesMax);
  try {
    return JSON.parse(text);
  } catch {
    throw new AdminRequestError(`${target}${path} did not answer JSON: is it a shoal node's admin endpoint?`);
  }
}

/** `GET path` as JSON. */
export function getAdminJson(target: string, path: string): Promise<unknown> {
  return exchange(target, path, {}, (response) => json(target, path, response));
}

/** `POST path` with a JSON body, answered with JSON. */
export function postAdminJson(target: string, path: string, body: unknown): Promise<unknown> {
  return exchange(target, path, { method: 'POST', body: JSON.stringify(body) }, (response) => json(target, path, response));
}

/** One server-sent event: its name (`message` when the block names none) and its data lines joined. */
export interface ServerSentEvent {
  readonly event: string;
  readonly data: string;
}

/** Parses one block of an event stream; comments (`: heartbeat`) and blocks without data give undefined. */
function parseServerSentEvent(block: string): ServerSentEvent | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
  }
  return data.length === 0 ? undefined : { event, data: data.join('\n') };
}

/**
 * The events of a `text/event-stream` body, in order, as the chunks that carried them
 * arrive (a burst comes as one batch, so a reader can act once per batch); an event over
 * `sseEventBytesMax` throws.
 */
export async function* serverSentEventBatches(body: AsyncIterable<Uint8Array>): AsyncGenerator<ServerSentEvent[]> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n/g, '\n');
    const batch: ServerSentEvent[] = [];
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = parseServerSentEvent(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (event !== undefined) batch.push(event);
    }
    if (buffer.length > sseEventBytesMax) throw new AdminRequestError(`an event exceeds ${sseEventBytesMax} bytes`);
    yield batch;
  }
}

/** The events of a `text/event-stream` body, one at a time. */
export async function* serverSentEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  for await (const batch of serverSentEventBatches(body)) yield* batch;
}

/**
 * Opens `GET /events` of a node: its headers must arrive within `adminRequestTimeoutMs`;
 * the stream then runs until the node ends it or `signal` aborts.
 */
export function openAdminEvents(target: string, signal: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
  return exchange(target, '/events', { signal, streaming: true }, async (response) => response);
}
