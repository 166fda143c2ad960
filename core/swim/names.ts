import { hashOf, internedMax } from '../intern.ts';

/**
 * Member names as small dense numbers, the same for every node of the process, so a node
 * can index what it holds by name in an array instead of a map (see `MemberTable`), and
 * recognise a name from its UTF-8 bytes without decoding it. Bounded: when `nameIdsMax`
 * names have ids they start again from 0 and `nameIdsEpoch` moves on (an index built on
 * the old ids must be rebuilt). Ids are never part of a result.
 */

/** Names given an id before the ids start again from 0 (bounded like the interner). */
export const nameIdsMax = internedMax;

/**
 * Slots a lookup by bytes probes at most. The hash is not keyed, so a peer could craft
 * names that collide: a name that finds no free slot within this many is found by its
 * string only (`nameIdIfAny`), more slowly.
 */
export const nameProbeMax = 16;

const ids = new Map<string, number>();
let epoch = 0;
const utf8 = new TextEncoder();

// By UTF-8 bytes: an open-addressing table of id + 1 (0: free), and per id its hash and
// where its bytes lie in one arena. Typed arrays, no object per name: a lookup touches a
// slot, two numbers and the bytes.
let slots: Int32Array = new Int32Array(1024);
let hashes: Int32Array = new Int32Array(256);
let starts: Int32Array = new Int32Array(256);
let lengths: Int32Array = new Int32Array(256);
let arena: Uint8Array = new Uint8Array(4096);
let arenaUsed = 0;
/** Ids in the table by bytes (those that found a slot). */
let slotted = 0;

/** `name`'s id, given now if it has none. */
export function nameId(name: string): number {
  let id = ids.get(name);
  if (id === undefined) {
    if (ids.size >= nameIdsMax) restartNameIds();
    id = ids.size;
    ids.set(name, id);
    slot(id, utf8.encode(name));
  }
  return id;
}

/** `name`'s id if it has one (nothing is given: a lookup of a name no node holds costs nothing). */
export function nameIdIfAny(name: string): number | undefined {
  return ids.get(name);
}

/** The id of the name whose UTF-8 encoding is `bytes[start, end)`, if it has one and is found this way (nothing is decoded). */
export function nameIdOfUtf8(bytes: Uint8Array, start: number, end: number): number | undefined {
  const hash = hashOf(bytes, start, end);
  const length = end - start;
  const mask = slots.length - 1;
  for (let i = 0, at = hash & mask; i < nameProbeMax; i++, at = (at + 1) & mask) {
    const held = slots[at]!;
    if (held === 0) return undefined;
    const id = held - 1;
    if (hashes[id] !== hash || lengths[id] !== length) continue;
    const from = starts[id]!;
    let j = 0;
    while (j < length && arena[from + j] === bytes[start + j]) j++;
    if (j === length) return id;
  }
  return undefined;
}

export function nameIdsEpoch(): number {
  return epoch;
}

/** Starts the ids again now, as reaching `nameIdsMax` does (for tests of what follows). */
export function restartNameIds(): void {
  ids.clear();
  slots.fill(0);
  arenaUsed = 0;
  slotted = 0;
  epoch++;
}

/**
 * Keeps `id`'s bytes and puts it in the table by bytes (unless its probe run is full, or
 * it starts with a byte order mark: the decoder drops a leading U+FEFF, so the bytes
 * `EF BB BF 78` are the name "x" on the wire, not "\uFEFFx"; such names are found by
 * their string only).
 */
function slot(id: number, bytes: Uint8Array): void {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return;
  if (id >= hashes.length) {
    hashes = grown(hashes, id + 1);
    starts = grown(starts, id + 1);
    lengths = grown(lengths, id + 1);
  }
  if (arenaUsed + bytes.length > arena.length) {
    const next = new Uint8Array(Math.max(arena.length * 2, arenaUsed + bytes.length));
    next.set(arena.subarray(0, arenaUsed));
    arena = next;
  }
  arena.set(bytes, arenaUsed);
  starts[id] = arenaUsed;
  lengths[id] = bytes.length;
  hashes[id] = hashOf(bytes, 0, bytes.length);
  arenaUsed += bytes.length;
  if (2 * (slotted + 1) > slots.length) rehash(slots.length * 2);
  if (place(id)) slotted++;
}

/** Puts `id` in the first free slot of its probe run; false when the run is full. */
function place(id: number): boolean {
  const mask = slots.length - 1;
  for (let i = 0, at = hashes[id]! & mask; i < nameProbeMax; i++, at = (at + 1) & mask) {
    if (slots[at] === 0) {
      slots[at] = id + 1;
      return true;
    }
  }
  return false;
}

function rehash(size: number): void {
  const old = slots;
  slots = new Int32Array(size);
  slotted = 0;
  for (const held of old) if (held !== 0 && place(held - 1)) slotted++;
}

function grown(a: Int32Array, atLeast: number): Int32Array {
  const next = new Int32Array(Math.max(a.length * 2, atLeast));
  next.set(a);
  return next;
}
