import { InvalidArgumentError } from '../errors.ts';
import type { Candidate, SelectContext, Strategy } from './candidate.ts';

/**
 * 32-bit FNV-1a over the UTF-16 code units of `text`. Hashing code units (not UTF-8
 * bytes) needs no encoder and no allocation; it is stable across processes, which is all
 * affinity needs.
 */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** MurmurHash3's finaliser: every input bit flips about half the output bits. */
export function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A string's 32-bit hash as rendezvous uses it for keys and worker ids. */
export function hashId(text: string): number {
  return mix32(fnv1a32(text));
}

/**
 * The rendezvous score of a worker for a key, from their hashes. Mixing the combination
 * again makes scores of one key over many workers look independent, which is what gives
 * each worker an equal share of keys and moves only ~1/n of them on a change.
 */
export function rendezvousScore(keyHash: number, idHash: number): number {
  return mix32(keyHash ^ idHash);
}

/**
 * Rendezvous (highest random weight) hashing: every worker gets a pseudo-random score
 * for the key and the highest score wins. The same key goes to the same worker while the
 * pool is unchanged; when a worker joins it takes only the keys it now wins (about 1/n),
 * and when one leaves only its own keys move. Unlike a hash ring it needs no virtual nodes
 * and no shared state, at the price of O(n) per call. Requires `context.key`.
 *
 * Worker id hashes are cached by list position and checked by id (a pointer comparison
 * for the registry's unchanged strings), so a steady pool hashes only the key per call.
 */
export class RendezvousStrategy implements Strategy {
  readonly name = 'rendezvous' as const;
  private readonly ids: string[] = [];
  private readonly idHashes: number[] = [];

  select<C extends Candidate>(candidates: readonly C[], context: SelectContext): C | undefined {
    const n = candidates.length;
    if (n === 0) return undefined;
    if (context.key === undefined) {
      throw new InvalidArgumentError('the rendezvous strategy needs an affinity key (call option `key`)');
    }
    if (this.ids.length > n) {
      this.ids.length = n;
      this.idHashes.length = n;
    }
    const keyHash = hashId(context.key);
    let best = candidates[0]!;
    let bestScore = -1;
    for (let i = 0; i < n; i++) {
      const candidate = candidates[i]!;
      if (this.ids[i] !== candidate.id) {
        this.ids[i] = candidate.id;
        this.idHashes[i] = hashId(candidate.id);
      }
      const score = rendezvousScore(keyHash, this.idHashes[i]!);
      // Equal scores are broken by id so the answer never depends on list order.
      if (score > bestScore || (score === bestScore && candidate.id < best.id)) {
        best = candidate;
        bestScore = score;
      }
    }
    return best;
  }
}
