import type { Env } from '../env.ts';
import { DecodeError } from '../errors.ts';
import type { ClientCall, CallHost } from './client-call.ts';
import type { GoawayPayload } from './frame.ts';
import { u32Max, type RpcLimits } from './limits.ts';
import { RpcSession, type SessionHandler } from './session.ts';
import { RpcError } from './status.ts';

export interface ClientConnectionOptions {
  limits: RpcLimits;
  pingIntervalMs: number;
  /** Calls that may wait for the handshake before new ones fail with RESOURCE_EXHAUSTED. */
  pendingCallsMax: number;
  /** The highest protocol version offered to the server. */
  protocolVersionMax: number;
}

/**
 * The client's one connection to a peer: all calls to that address are multiplexed on it.
 * Calls started before the server's preamble wait (bounded) so they can respect its limits.
 */
export class ClientConnection implements SessionHandler, CallHost {
  readonly session: RpcSession;
  readonly calls = new Map<number, ClientCall>();
  private readonly pending: ClientCall[] = [];
  private nextCallId = 1;
  /** GOAWAY received: finish what runs, start nothing new here. */
  draining = false;
  /** Frames for calls this side already finished (ignored; they raced with a cancel). */
  lateFrames = 0;

  constructor(
    env: Env,
    readonly address: string,
    private readonly options: ClientConnectionOptions,
    private readonly onGone: (connection: ClientConnection) => void,
  ) {
    const connection = env.transport.streams.connect(address);
    this.session = new RpcSession(env, connection, { limits: options.limits, pingIntervalMs: options.pingIntervalMs, versionMax: options.protocolVersionMax }, this);
    try {
      this.session.attach(connection.openStream());
    } catch (error) {
      this.session.close('UNAVAILABLE', `cannot open a stream to ${address}: ${(error as Error).message}`, error);
    }
  }

  get usable(): boolean {
    return this.session.state !== 'closed' && !this.draining;
  }

  /** Calls running or waiting on this connection. */
  get inFlight(): number {
    let waiting = 0;
    for (const call of this.pending) if (call.state === 'pending') waiting++;
    return this.calls.size + waiting;
  }

  start(call: ClientCall): void {
    if (call.state !== 'pending') return;
    if (this.session.state === 'ready') return this.open(call);
    if (this.pending.length >= this.options.pendingCallsMax) {
      return call.fail(new RpcError('RESOURCE_EXHAUSTED', `${this.pending.length} calls already wait for the connection to ${this.address}`, { unprocessed: true }), false);
    }
    call.waits();
    this.pending.push(call);
  }

  forget(call: ClientCall): void {
    this.calls.delete(call.id);
    if (this.draining && this.calls.size === 0 && this.pending.length === 0) this.session.close('UNAVAILABLE', `connection to ${this.address} drained after GOAWAY`);
  }

  highestCallId(): number {
    return this.nextCallId - 1;
  }

  onReady(): void {
    for (const call of this.pending.splice(0)) this.open(call);
  }

  onFrame(type: number, flags: number, callId: number, payload: Uint8Array): void {
    const call = this.calls.get(callId);
    if (call !== undefined) return call.onFrame(type, flags, payload);
    if (callId < this.nextCallId) {
      this.lateFrames++;
      return;
    }
    throw new DecodeError(`frame type ${type} for call ${callId}, which this client never started`);
  }

  onGoaway(goaway: GoawayPayload): void {
    this.draining = true;
    this.onGone(this);
    const refused = new RpcError('UNAVAILABLE', `${this.address} is going away: ${goaway.message}`, { unprocessed: true });
    for (const call of this.pending.splice(0)) call.fail(refused, false);
    for (const [id, call] of [...this.calls]) if (id > goaway.lastCallId) call.fail(refused, false);
    if (this.calls.size === 0) this.session.close('UNAVAILABLE', `connection to ${this.address} drained after GOAWAY`);
  }

  onClosed(error: RpcError): void {
    this.onGone(this);
    for (const call of this.pending.splice(0)) call.fail(error.asUnprocessed(), false);
    for (const call of [...this.calls.values()]) call.fail(error, false);
  }

  private open(call: ClientCall): void {
    if (call.state !== 'pending') return;
    const peer = this.session.peerLimits!;
    if (this.calls.size >= peer.maxConcurrentCalls) {
      return call.fail(new RpcError('RESOURCE_EXHAUSTED', `${this.address} allows ${peer.maxConcurrentCalls} concurrent calls per connection`, { unprocessed: true }), false);
    }
    if (this.nextCallId > u32Max) {
      // Call ids are never reused on a connection: a fresh one takes over.
      this.draining = true;
      this.onGone(this);
      return call.fail(new RpcError('UNAVAILABLE', `call ids exhausted on the connection to ${this.address}`, { unprocessed: true }), false);
    }
    const id = this.nextCallId++;
    this.calls.set(id, call);
    call.begin(id, this);
  }
}
