import { randomInt, type Random } from '../random.ts';
import { MessageType, type AppBroadcastMessage } from './codec.ts';
import type { Dissemination } from './dissemination.ts';
import type { Refusals } from './refusals.ts';

/**
 * What an application adds to membership (memberlist's delegates): broadcasts of its own,
 * disseminated epidemically on SWIM's packets, and state exchanged in push-pull. Each
 * callback runs inside the protocol: an exception is caught, logged and counted
 * (`stats.appDelegateErrors`), never allowed to stop the member.
 */
export interface SwimDelegate {
  /** An application broadcast arrived; each (origin, seq) is delivered once per node. */
  onBroadcast?(payload: Uint8Array, origin: string): void;
  /** State to send in a push-pull exchange (both directions). */
  localState?(join: boolean): Uint8Array | undefined;
  /** State a peer sent in a push-pull exchange. */
  mergeRemoteState?(state: Uint8Array, join: boolean): void;
}

/** Application broadcasts remembered (by origin and sequence) so each is delivered and passed on once. */
export const appBroadcastSeenMax = 4_096;

/**
 * The application's side of membership: its broadcasts (queued with SWIM's own, each
 * delivered and passed on once per node) and its push-pull state, every delegate call
 * guarded.
 */
export class AppGossip {
  private delegate: SwimDelegate | undefined;
  /** Next sequence number of this node's own application broadcasts (starts at a random value per start). */
  private seq = 0;
  /** Application broadcasts already delivered, oldest first (bounded by `appBroadcastSeenMax`). */
  private readonly seen = new Set<string>();

  constructor(private readonly name: string, private readonly dissemination: Dissemination, private readonly refusals: Refusals) {}

  setDelegate(delegate: SwimDelegate | undefined): void {
    this.delegate = delegate;
  }

  /** A new start numbers its broadcasts afresh, from a random value (no clash with a previous life's). */
  start(random: Random): void {
    this.seq = randomInt(random, 0x7fff_ffff);
  }

  broadcast(payload: Uint8Array): void {
    const m: AppBroadcastMessage = { type: MessageType.AppBroadcast, origin: this.name, seq: this.seq++, payload: payload.slice() };
    const bytes = this.dissemination.encoded(m);
    this.remember(m);
    this.dissemination.queueEncoded(appBroadcastKey(m), bytes);
  }

  /** A broadcast arrived: delivered and passed on the first time only. */
  received(m: AppBroadcastMessage): void {
    if (!this.remember(m)) return;
    this.dissemination.queueEncoded(appBroadcastKey(m), this.dissemination.encoded(m));
    const onBroadcast = this.delegate?.onBroadcast;
    if (onBroadcast !== undefined) this.call('onBroadcast', () => onBroadcast(m.payload, m.origin));
  }

  /** Whether the delegate has a push-pull state of its own (then every exchange asks it). */
  hasLocalState(): boolean {
    return this.delegate?.localState !== undefined;
  }

  /** The application's state for a push-pull exchange, if it has any. */
  localState(join: boolean): Uint8Array | undefined {
    const local = this.delegate?.localState;
    return local === undefined ? undefined : this.call('localState', () => local(join));
  }

  mergeRemoteState(state: Uint8Array | undefined, join: boolean): void {
    const mergeRemote = this.delegate?.mergeRemoteState;
    if (mergeRemote !== undefined && state !== undefined) this.call('mergeRemoteState', () => mergeRemote(state, join));
  }

  /** Remembers a broadcast; false if it was already seen. */
  private remember(m: AppBroadcastMessage): boolean {
    const key = appBroadcastKey(m);
    if (this.seen.has(key)) return false;
    if (this.seen.size >= appBroadcastSeenMax) this.seen.delete(this.seen.values().next().value!);
    this.seen.add(key);
    return true;
  }

  /** Runs application code; what it throws is logged and counted, never propagated. */
  private call<T>(callback: string, body: () => T): T | undefined {
    try {
      return body();
    } catch (error) {
      this.refusals.count('appDelegateErrors', `application delegate ${callback} threw`, { error: (error as Error)?.message ?? String(error) });
      return undefined;
    }
  }
}

function appBroadcastKey(m: AppBroadcastMessage): string {
  return `\u0000app\u0000${m.origin}\u0000${m.seq}`;
}
