import { DecodeError, LimitExceededError } from '../errors.ts';
import { defaultInterner, type Interner } from '../intern.ts';
import { Reader, Writer, addressBytesMax, isKnown, type KnownAlive, nameBytesMax, noTags, readTags, skipTags, stateMembersMax, tagsBytesMax, wireVersion, writeTags, type Tags } from './codec.ts';

/**
 * Push-pull state messages: the full member list, sent over a reliable stream as one
 * frame `length (u32 big-endian) | version | join | count | members`.
 */

/** Member states on the wire. Append only. */
export const WireState = { Alive: 0, Suspect: 1, Dead: 2, Left: 3 } as const;
export type WireStateCode = (typeof WireState)[keyof typeof WireState];

export interface StateEntry {
  name: string;
  address: string;
  incarnation: number;
  state: WireStateCode;
  tags: Tags;
  /** This entry already encoded (`encodeStateEntry`): written as is. */
  wire?: Uint8Array;
}

/**
 * Says whether an Alive entry is already known to the receiver (as a gossiped Alive is):
 * such an entry changes nothing and is left out of the decoded message.
 */
export type KnownEntry = KnownAlive;

export interface StateMessage {
  /** True when the sender is joining (it asks for the full state back). */
  join: boolean;
  members: StateEntry[];
  /** The application's own state (memberlist's delegate LocalState), when it has one. */
  appState?: Uint8Array;
}

/** Member entries already encoded (`encodeStateEntry` each): written as they are. */
export interface EncodedMembers {
  readonly wires: readonly Uint8Array[];
}

/** A state message to send: its members as entries, or already encoded. */
export interface OutgoingState {
  join: boolean;
  members: readonly StateEntry[] | EncodedMembers;
  appState?: Uint8Array;
}

/**
 * State message versions: 1 carries members only; 2 appends the application's state
 * (`varint length | bytes`). A sender without app state writes version 1, so members
 * that have no app keep talking to older ones.
 */
export const stateVersionWithAppState = 2;

/** Largest encoded member entry: name and address with their lengths, incarnation, state, tags. */
export const stateEntryBytesMax = 2 + nameBytesMax + 2 + addressBytesMax + 5 + 1 + tagsBytesMax;

/** Bytes of the frame's length prefix. */
export const frameHeaderBytes = 4;

export function encodeState(message: OutgoingState, bytesMax: number): Uint8Array {
  const members = message.members;
  const count = isEncoded(members) ? members.wires.length : members.length;
  if (count > stateMembersMax) throw new LimitExceededError('stateMembers', stateMembersMax);
  // Start from an estimate (names, addresses and small tags) and grow up to the limit.
  let estimate = 64 + (message.appState?.length ?? 0);
  if (isEncoded(members)) for (const wire of members.wires) estimate += wire.length;
  else for (const m of members) estimate += m.wire !== undefined ? m.wire.length : 3 * (m.name.length + m.address.length) + 16 + (m.tags === noTags ? 1 : tagsBytesMax);
  for (let size = Math.min(bytesMax, estimate); ; size = Math.min(bytesMax, size * 4)) {
    try {
      return encodeInto(message, new Uint8Array(size));
    } catch (error) {
      if (!(error instanceof LimitExceededError) || size >= bytesMax) throw error;
    }
  }
}

function isEncoded(members: OutgoingState['members']): members is EncodedMembers {
  return !Array.isArray(members);
}

function encodeInto(message: OutgoingState, buffer: Uint8Array): Uint8Array {
  const w = new Writer(buffer);
  w.offset = frameHeaderBytes;
  const appState = message.appState;
  w.u8(appState === undefined ? wireVersion : stateVersionWithAppState);
  w.u8(message.join ? 1 : 0);
  const members = message.members;
  if (isEncoded(members)) {
    w.varint(members.wires.length);
    for (const wire of members.wires) w.bytes(wire);
  } else {
    w.varint(members.length);
    for (const m of members) {
      if (m.wire !== undefined) w.bytes(m.wire);
      else writeEntry(w, m);
    }
  }
  if (appState !== undefined) {
    w.varint(appState.length);
    w.bytes(appState);
  }
  new DataView(buffer.buffer, buffer.byteOffset).setUint32(0, w.offset - frameHeaderBytes);
  // The estimate is exact but for a few bytes when entries come encoded: no copy then.
  return buffer.length - w.offset <= 64 ? buffer.subarray(0, w.offset) : buffer.slice(0, w.offset);
}

function writeEntry(w: Writer, m: StateEntry): void {
  w.string(m.name, nameBytesMax);
  w.string(m.address, addressBytesMax);
  w.varint(m.incarnation);
  w.u8(m.state);
  writeTags(w, m.tags);
}

/** One member's entry as `encodeState` writes it (a member's entry changes only with its incarnation or state). */
export function encodeStateEntry(entry: StateEntry, scratch: Uint8Array): Uint8Array {
  const w = new Writer(scratch);
  writeEntry(w, entry);
  return scratch.subarray(0, w.offset);
}

/**
 * Decodes a frame's body (without the length prefix). Alive entries `known` recognises are
 * read only up to their name, incarnation and state, and left out (a push-pull repeats
 * mostly what the receiver knows).
 */
export function decodeState(body: Uint8Array, interner: Interner = defaultInterner, known?: KnownEntry): StateMessage {
  const r = new Reader(body, 0, body.length, interner);
  const version = r.u8();
  if (version !== wireVersion && version !== stateVersionWithAppState) throw new DecodeError(`unsupported state version ${version}`);
  const join = r.bool();
  const count = r.varint();
  if (count > stateMembersMax) throw new DecodeError(`${count} members exceed ${stateMembersMax}`);
  // Each entry takes at least 5 bytes: refuse counts the bytes cannot hold before allocating.
  if (count * 5 > r.remaining) throw new DecodeError('member count exceeds the message');
  const members: StateEntry[] = [];
  for (let i = 0; i < count; i++) {
    const nameStart = r.skipString(nameBytesMax);
    const nameEnd = r.offset;
    r.skipString(addressBytesMax);
    const incarnation = r.incarnation();
    const state = r.u8();
    if (state > WireState.Left) throw new DecodeError(`unknown member state ${state}`);
    if (state === WireState.Alive && known !== undefined && isKnown(known, r, nameStart, nameEnd, incarnation)) {
      skipTags(r);
      continue;
    }
    const end = r.offset;
    const name = r.stringAt(nameStart, nameEnd);
    r.offset = nameEnd;
    const address = r.string(addressBytesMax);
    r.offset = end;
    members.push({ name, address, incarnation, state: state as WireStateCode, tags: readTags(r) });
  }
  const appState = version === stateVersionWithAppState ? r.bytes(r.remaining) : undefined;
  if (r.remaining !== 0) throw new DecodeError('trailing bytes in state message');
  return appState === undefined ? { join, members } : { join, members, appState };
}

/**
 * Reassembles one length-prefixed frame from a byte stream (writes may be split or joined
 * on delivery). Refuses frames above `bytesMax` before buffering them.
 */
export class FrameReader {
  private chunks: Uint8Array[] = [];
  private received = 0;
  private expected = -1;

  constructor(private readonly bytesMax: number) {}

  /** Adds bytes; returns the frame body once complete, else undefined. Throws `DecodeError`. */
  push(data: Uint8Array): Uint8Array | undefined {
    this.chunks.push(data);
    this.received += data.length;
    if (this.expected < 0 && this.received >= frameHeaderBytes) {
      const head = this.concat();
      this.expected = new DataView(head.buffer, head.byteOffset).getUint32(0);
      if (this.expected > this.bytesMax) throw new DecodeError(`state frame of ${this.expected} bytes exceeds ${this.bytesMax}`);
    }
    if (this.expected < 0) return undefined;
    if (this.received > frameHeaderBytes + this.expected) throw new DecodeError('bytes after the state frame');
    if (this.received < frameHeaderBytes + this.expected) return undefined;
    return this.concat().subarray(frameHeaderBytes);
  }

  private concat(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0]!;
    const all = new Uint8Array(this.received);
    let offset = 0;
    for (const chunk of this.chunks) {
      all.set(chunk, offset);
      offset += chunk.length;
    }
    this.chunks = [all];
    return all;
  }
}
