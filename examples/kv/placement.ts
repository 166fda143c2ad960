/**
 * Where a key lives: on `copies` replicas of a fixed list, chosen by rendezvous hashing
 * (highest random weight, Thaler and Ravishankar 1998): each replica scores the key, the
 * highest scores win. Every member computes the same set from the same list, with no
 * coordination, and the set never depends on who is alive: a replica that is down still
 * owns its keys, so a quorum of a key always means a majority of the same three replicas.
 */

/** 32-bit FNV-1a over the UTF-16 code units of `text`. */
function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** MurmurHash3's finaliser: spreads every input bit over the output, so scores of one key look independent. */
function mix32(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The score of `replica` for `key`: higher wins. */
export function rendezvousScore(key: string, replica: string): number {
  return mix32(mix32(fnv1a32(key)) ^ mix32(fnv1a32(replica)));
}

/** The `copies` replicas of `key` among `replicas`, highest score first (ties: the smaller name). */
export function replicasOf(key: string, replicas: readonly string[], copies: number): string[] {
  return replicas
    .map((name) => ({ name, score: rendezvousScore(key, name) }))
    .sort((a, b) => b.score - a.score || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .slice(0, copies)
    .map((r) => r.name);
}

/** Replies a quorum needs out of `copies`: a majority, so any two quorums of a key share a replica. */
export function majority(copies: number): number {
  return Math.floor(copies / 2) + 1;
}
