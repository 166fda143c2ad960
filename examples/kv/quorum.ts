import { RpcError, toRpcError } from '../../core/public.ts';

/** One replica's answer in a quorum. */
export interface Reply<T> {
  readonly replica: string;
  readonly value: T;
}

/**
 * Calls `call` on every replica at once and resolves with the first `needed` replies, in
 * the order they came. It rejects with UNAVAILABLE as soon as so many replicas failed that
 * `needed` replies cannot come any more, naming each failure; every call carries its own
 * deadline, so that moment always comes. Calls still running when the quorum is decided
 * go on: a write that lands on the third replica later is welcome, and nothing waits for it.
 */
export function quorum<T>(replicas: readonly string[], needed: number, what: string, call: (replica: string) => Promise<T>): Promise<Reply<T>[]> {
  if (needed < 1 || needed > replicas.length) throw new RangeError(`a quorum of ${needed} out of ${replicas.length} replicas`);
  return new Promise((resolve, reject) => {
    const replies: Reply<T>[] = [];
    const failures: string[] = [];
    let decided = false;
    for (const replica of replicas) {
      call(replica).then((value) => {
        if (decided) return;
        replies.push({ replica, value });
        if (replies.length < needed) return;
        decided = true;
        resolve(replies);
      }, (error: unknown) => {
        if (decided) return;
        failures.push(`${replica}: ${toRpcError(error).code}`);
        if (failures.length <= replicas.length - needed) return;
        decided = true;
        reject(new RpcError('UNAVAILABLE', `${what}: ${replies.length} of ${replicas.length} replicas answered, ${needed} needed (${failures.join(', ')})`));
      });
    }
  });
}
