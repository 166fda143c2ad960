import { RpcError, type ServiceImplementation } from '../../core/public.ts';
import type { KvConfig } from './config.ts';
import { replicasOf } from './placement.ts';
import type { KvReplica, ReplicaEntry } from './service.ts';
import { Store, checkEntry, checkKey } from './store.ts';
import type { Version } from './version.ts';

/**
 * One member's replica: its copies of the keys placed on it, and what it knows since this
 * start. State lives in memory only, so a replica that crashes and restarts comes back
 * empty, having forgotten writes it acknowledged. Answering reads then could break a
 * quorum's promise (a write on a majority that included this replica would now be on one
 * replica only, and a read from this one and the third would miss it). So a restarted
 * replica answers no read of a key until it has merged the entries of every other replica
 * of that key, fetched after it restarted: each write acknowledged before the crash is on
 * at least one of them. Writes it accepts meanwhile, since storing more never hurts.
 *
 * Every start is treated so, the first one included: at a cluster's first start the peers
 * answer at once with nothing, and the replica is ready as soon as they have. The guarantee
 * survives one replica of a key losing its state at a time; with two of three gone (the
 * only copies of a write may be lost) nothing can restore it.
 */
export class Replica {
  readonly store = new Store();
  /** Peers whose entries this replica has merged since it started. */
  private readonly heard = new Set<string>();

  /** `onChange` hears of every new key and every peer caught up from (what the app reports). */
  constructor(readonly name: string, private readonly config: KvConfig, private readonly onChange: () => void = () => undefined) {
    if (!config.replicas.includes(name)) throw new RangeError(`${name} is not in the replica list`);
  }

  /** The other replicas: where a restarted replica fetches the entries it shares with each. */
  get peers(): string[] {
    return this.config.replicas.filter((r) => r !== this.name);
  }

  /** Peers whose entries this replica has not merged yet. */
  get waitingFor(): string[] {
    return this.peers.filter((p) => !this.heard.has(p));
  }

  /** The replicas of `key` under the configuration's placement. */
  replicasOf(key: string): string[] {
    return replicasOf(key, this.config.replicas, this.config.copies);
  }

  owns(key: string): boolean {
    return this.replicasOf(key).includes(this.name);
  }

  /** Whether reads of `key` may be answered: every other replica of the key has sent its entries since this start. */
  readyFor(key: string): boolean {
    return this.replicasOf(key).every((r) => r === this.name || this.heard.has(r));
  }

  /**
   * Merges what `peer` sent in answer to `catchUp`; malformed entries and keys this replica
   * does not hold are dropped. False when an entry did not fit (`keysMax`): the peer does not
   * count as caught up from, since answering reads without that key could be wrong.
   */
  merge(peer: string, entries: readonly unknown[]): boolean {
    let complete = true;
    for (const entry of entries) {
      try {
        checkEntry(entry);
        if (this.owns(entry.key)) this.store.write(entry);
      } catch (error) {
        // A malformed entry is dropped, as from a coordinator; a full store is not caught up.
        if (error instanceof RpcError && error.code === 'RESOURCE_EXHAUSTED') complete = false;
      }
    }
    if (complete) this.heard.add(peer);
    this.onChange();
    return complete;
  }

  /** This replica's copy of `key`; refused (UNAVAILABLE) until the replica has caught up on it. */
  read(key: string): { version: Version | null; value: string | null } {
    this.checkOwned(key);
    if (!this.readyFor(key)) throw new RpcError('UNAVAILABLE', `${this.name} is catching up after its start (waiting for ${this.waitingFor.join(', ')})`);
    return this.store.read(key);
  }

  /** Stores `entry` unless this replica holds a newer version of its key. */
  write(entry: ReplicaEntry): void {
    checkEntry(entry);
    this.checkOwned(entry.key);
    const size = this.store.size;
    this.store.write(entry);
    if (this.store.size !== size) this.onChange();
  }

  /** The entries of the keys that `replica` replicates too: what it fetches after a restart. */
  entriesFor(replica: string): ReplicaEntry[] {
    if (typeof replica !== 'string' || replica === this.name || !this.config.replicas.includes(replica)) {
      throw new RpcError('INVALID_ARGUMENT', `${JSON.stringify(replica)} is not another replica of the list`);
    }
    return this.store.list((key) => this.replicasOf(key).includes(replica));
  }

  /** The replica service: what coordinators and restarted peers call. */
  implementation(): ServiceImplementation<typeof KvReplica.methods> {
    return {
      read: ({ key }) => this.read(key),
      write: (entry) => {
        this.write(entry);
        return {};
      },
      catchUp: ({ replica }) => ({ entries: this.entriesFor(replica) }),
    };
  }

  private checkOwned(key: unknown): void {
    checkKey(key);
    if (!this.owns(key)) throw new RpcError('FAILED_PRECONDITION', `${this.name} does not replicate ${key} (its replicas: ${this.replicasOf(key).join(', ')})`);
  }
}
