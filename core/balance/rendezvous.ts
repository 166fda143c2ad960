import { InvalidArgumentError } from '../errors.ts';
import type { Candidate, SelectContext, Strategy } from './candidate.ts';

/**
 * 32-bit FNV-1a over the UTF-16 code units of `text`, continuing from `seed`. Hashing
 * code units (not UTF-8 bytes) needs no encoder and no allocation; it is stable across
 * processes, which is all affinity needs.
 */
export function fnv1a32(text: string, seed = 0x811c9dc5): number {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** MurmurHash3's finaliser: FNV-1a alone mixes the last characters poorly into the high bits. */
export function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The rendezvous score of worker `id` for a key already hashed to `keyHash`. */
export function rendezvousScore(keyHash: number, id: string): number {
  return mix32(fnv1a32(id, keyHash));
}

/**
 * Rendezvous (highest random weight) hashing: every worker gets a pseudo-random score
 * for the key and the highest score wins. The same key goes to the same worker while the
 * pool is unchanged; when a worker joins it takes only the keys it now wins (about 1/n),
 * and when one leaves only its own keys move. Unlike a hash ring it needs no virtual nodes
 * and no shared state, at the price of O(n) hashing per call. Requires `context.key`.
 */
export class RendezvousStrategy implements Strategy {
  readonly name = 'rendezvous' as const;

  select<C extends Candidate>(candidates: readonly C[], context: SelectContext): C | undefined {
    const n = candidates.length;
    if (n === 0) return undefined;
    if (context.key === undefined) {
      throw new InvalidArgumentError('the rendezvous strategy needs an affinity key (call option `key`)');
    }
    const keyHash = fnv1a32(context.key);
    let best = candidates[0]!;
    let bestScore = rendezvousScore(keyHash, best.id);
    for (let i = 1; i < n; i++) {
      const candidate = candidates[i]!;
      const score = rendezvousScore(keyHash, candidate.id);
      // Equal scores are broken by id so the answer never depends on list order.
      if (score > bestScore || (score === bestScore && candidate.id < best.id)) {
        best = candidate;
        bestScore = score;
      }
    }
    return best;
  }
}
