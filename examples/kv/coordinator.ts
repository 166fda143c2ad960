import { RpcError, type Address, type AppNode } from '../../core/public.ts';
import type { KvConfig } from './config.ts';
import { majority, replicasOf } from './placement.ts';
import { quorum, type Reply } from './quorum.ts';
import type { Replica } from './replica.ts';
import { KvReplica, type ReplicaEntry } from './service.ts';
import { checkKey, checkValue } from './store.ts';
import { compareVersions, isVersion, newest, writerId, type Version } from './version.ts';

/** What one replica holds of a key, as a read phase collects it. */
export interface Copy {
  readonly version: Version | null;
  readonly value: string | null;
}

/**
 * The client-facing side: any member coordinates a `put` or `get` of any key with the key's
 * replicas, in the two phases of the ABD register (Attiya, Bar-Noy and Dolev 1995; the
 * multi-writer form of Lynch and Shvartsman 1997):
 * - put: read the versions of a majority, choose a higher one, write it to a majority;
 * - get: read a majority and take the newest; in `abd` mode, unless the majority already
 *   agreed, write that value back to a majority before answering, so that no read that
 *   starts later can find a majority without it. `fast` mode skips the write-back.
 * Each replica call has a deadline; an operation that cannot hear from a majority fails
 * with UNAVAILABLE, having perhaps reached some replicas.
 */
export class Coordinator {
  /** The highest counter this coordinator has chosen or seen: two puts it runs at once never choose the same version. */
  private counter = 0;
  private readonly writer: string;
  /** Replica addresses once membership has shown them: the replica list is fixed, and so are their addresses. */
  private readonly addresses = new Map<string, Address>();

  constructor(private readonly node: AppNode<KvConfig>, private readonly local: Replica | undefined) {
    this.writer = writerId(node.name, node.random);
  }

  /** Writes `value` under `key` at a version newer than any a majority holds; resolves with that version. */
  async put(key: string, value: string, deadlineAtMs: number): Promise<Version> {
    checkKey(key);
    checkValue(value);
    const seen = await this.readPhase(key, deadlineAtMs, `put ${key}`);
    this.counter = Math.max(this.counter, newest(seen)?.version?.counter ?? 0) + 1;
    const version = { counter: this.counter, writer: this.writer };
    await this.writePhase({ key, version, value }, deadlineAtMs, `put ${key}`);
    return version;
  }

  /** Reads `key` from a majority; in `abd` mode makes the value it returns a majority's before answering. */
  async get(key: string, deadlineAtMs: number): Promise<Copy> {
    checkKey(key);
    const seen = await this.readPhase(key, deadlineAtMs, `get ${key}`);
    const best = newest(seen)!;
    this.counter = Math.max(this.counter, best.version?.counter ?? 0);
    const agreed = seen.every((copy) => compareVersions(copy.version, best.version) === 0);
    if (this.node.config.mode === 'abd' && !agreed) {
      await this.writePhase({ key, version: best.version!, value: best.value! }, deadlineAtMs, `get ${key} (write-back)`);
    }
    return { version: best.version, value: best.value };
  }

  private async readPhase(key: string, deadlineAtMs: number, what: string): Promise<Copy[]> {
    const replies = await this.onQuorum(key, what, (replica) => this.read(replica, key, deadlineAtMs));
    return replies.map((r) => r.value);
  }

  private async writePhase(entry: ReplicaEntry, deadlineAtMs: number, what: string): Promise<void> {
    await this.onQuorum(entry.key, what, (replica) => this.write(replica, entry, deadlineAtMs));
  }

  private onQuorum<T>(key: string, what: string, call: (replica: string) => Promise<T>): Promise<Reply<T>[]> {
    const { replicas, copies } = this.node.config;
    return quorum(replicasOf(key, replicas, copies), majority(copies), what, call);
  }

  private async read(replica: string, key: string, deadlineAtMs: number): Promise<Copy> {
    if (replica === this.local?.name) return this.local.read(key);
    const copy = await this.client(replica).read({ key }, { deadlineMs: this.deadline(deadlineAtMs) });
    if (copy.version !== null && !isVersion(copy.version)) throw new RpcError('DATA_LOSS', `${replica} answered a malformed version`);
    if (copy.version !== null && typeof copy.value !== 'string') throw new RpcError('DATA_LOSS', `${replica} answered a version without a value`);
    return { version: copy.version, value: copy.version === null ? null : copy.value };
  }

  private async write(replica: string, entry: ReplicaEntry, deadlineAtMs: number): Promise<void> {
    if (replica === this.local?.name) return this.local.write(entry);
    await this.client(replica).write(entry, { deadlineMs: this.deadline(deadlineAtMs) });
  }

  /** A replica call's deadline: `replicaTimeoutMs` from now, and never past the operation's own. */
  private deadline(deadlineAtMs: number): number {
    return Math.min(deadlineAtMs, this.node.clock.now() + this.node.config.replicaTimeoutMs);
  }

  private client(replica: string) {
    let address = this.addresses.get(replica);
    if (address === undefined) {
      address = this.node.membership.member(replica)?.address;
      if (address === undefined) throw new RpcError('UNAVAILABLE', `${replica} has not joined yet: its address is unknown`, { unprocessed: true });
      this.addresses.set(replica, address);
    }
    return this.node.client.service(KvReplica, address);
  }
}
