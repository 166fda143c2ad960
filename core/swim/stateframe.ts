import { Writer, stateMembersMax, wireVersion } from './codec.ts';
import type { Member, MemberVersion } from './member.ts';
import { frameHeaderBytes } from './state.ts';
import type { MemberTable, TableChanges } from './table.ts';

/**
 * A plain state frame kept for reuse at most this long: at a thousand members a frame is
 * about 25 kB, and a larger cluster keeps nothing (each member would hold a copy of the
 * whole member list, N² bytes in a simulation).
 */
export const stateFrameKeptBytesMax = 48 * 1024;

/** The entry offsets of no frame. */
const noStarts = new Int32Array(0);

/** Where the join flag sits in a plain state frame: after the length prefix and the version. */
const joinOffset = frameHeaderBytes + 1;
/** Where the entry count (a varint) begins. */
const countOffset = frameHeaderBytes + 2;

/** One member of the kept frame changed since: its entry is rewritten, or dropped. */
interface Patch {
  /** Its entry's index in the kept frame. */
  readonly at: number;
  /** Its entry now; undefined when it is no longer held. */
  readonly wire: Uint8Array | undefined;
}

/**
 * This node's push-pull state frame without application state (`encodeState` of every
 * member's entry in table order, `PushPullHost.localState`), kept between exchanges and
 * patched with what changed since (`MemberTable.takeChanges`) instead of encoded whole: a
 * periodic push-pull at a thousand members carries a thousand entries, and between two of
 * a member's exchanges its table seldom changes by more than a few members. In the
 * buffer as it is, a state change rewrites an entry where it was, a member removed moves
 * the rest left, and a member added is appended while the buffer has room (it grows by
 * half when it has none: a seed answering a join at every new member copies its frame a
 * few times, not at every join); only an entry that grows, or a count whose varint
 * changes length, makes a new buffer (one copy of the frame; no entry is re-read).
 * Byte for byte the frame `encodeState` would make now: `tests/swim/stateframe.test.ts`
 * compares the two after every kind of change.
 */
export class KeptStateFrame {
  /** The frame in its first `length` bytes, length prefix included (the join flag as last sent); undefined when none is kept. */
  private buffer: Uint8Array | undefined;
  private length = 0;
  /** The members of its entries, in order. */
  private members: Member[] = [];
  /** starts[i]: where entry i begins; starts[members.length]: the frame's end (`length`). Room for more. */
  private starts = noStarts;
  /** The local member's version when its entry was written (it changes on the record, not through the table). */
  private selfVersion: MemberVersion | undefined;

  constructor(
    private readonly table: MemberTable,
    private readonly self: Member,
    /** A member's push-pull entry now (`encodeStateEntry` of its version and state). */
    private readonly entryWire: (m: Member) => Uint8Array,
  ) {}

  /**
   * The plain frame of the table's members as of now (`encodeState` of `localState`), or
   * undefined when it would be above `bytesMax` or `stateMembersMax` entries: the caller
   * then encodes one itself, which fails with the same error. A frame above
   * `stateFrameKeptBytesMax` is made whole each time and not kept. The bytes of a kept
   * frame are this object's and change at the next call (the transport copies what it
   * sends).
   */
  frame(join: boolean, bytesMax: number): Uint8Array | undefined {
    const changes = this.table.takeChanges();
    const keptLimit = Math.min(bytesMax, stateFrameKeptBytesMax);
    let frame: Uint8Array | undefined;
    if (this.buffer !== undefined && changes !== undefined && this.patch(changes, keptLimit)) {
      frame = this.length === this.buffer.length ? this.buffer : this.buffer.subarray(0, this.length);
    } else {
      frame = this.rebuild(bytesMax, keptLimit);
      // Nothing kept (a large table): the table need not note its changes for it either.
      if (this.buffer === undefined) this.table.stopNotingChanges();
    }
    if (frame !== undefined) frame[joinOffset] = join ? 1 : 0;
    return frame;
  }

  /** Keeps nothing (the caller encodes its state itself for now): the table stops noting changes until the next `frame`. */
  drop(): void {
    this.letGo();
    this.table.stopNotingChanges();
  }

  private letGo(): void {
    this.buffer = undefined;
    this.length = 0;
    if (this.members.length > 0) this.members = [];
    this.starts = noStarts;
  }

  /**
   * Encodes the whole frame from the table and keeps it when at most `keptLimit` bytes;
   * undefined (nothing kept) when above `bytesMax` or `stateMembersMax` entries.
   */
  private rebuild(bytesMax: number, keptLimit: number): Uint8Array | undefined {
    this.letGo();
    const count = this.table.size;
    if (count > stateMembersMax) return undefined;
    const members: Member[] = [];
    const wires: Uint8Array[] = [];
    let bytes = 0;
    for (const m of this.table.values()) {
      const wire = this.entryWire(m);
      members.push(m);
      wires.push(wire);
      bytes += wire.length;
    }
    this.selfVersion = this.self.version;
    const length = headerBytes(count) + bytes;
    if (length > bytesMax) return undefined;
    const buffer = this.allocate(count, length, length);
    const kept = length <= keptLimit;
    const starts = kept ? new Int32Array(count + 1) : noStarts;
    let offset = headerBytes(count);
    for (let i = 0; i < count; i++) {
      if (kept) starts[i] = offset;
      buffer.set(wires[i]!, offset);
      offset += wires[i]!.length;
    }
    if (!kept) return buffer;
    starts[count] = offset;
    this.buffer = buffer;
    this.length = length;
    this.members = members;
    this.starts = starts;
    return buffer;
  }

  /**
   * Applies the changes to the kept frame; false when the frame would be above `limit`:
   * the caller rebuilds, which keeps none.
   */
  private patch(changes: TableChanges, limit: number): boolean {
    const patches: Patch[] = [];
    const self = this.self;
    const changed = changes.changed;
    let selfChanged = self.version !== this.selfVersion;
    for (let i = 0; i < changed.length; i++) {
      const m = changed[i]!;
      if (changed.indexOf(m) < i) continue;
      if (m === self) selfChanged = false;
      this.patchFor(m, patches);
    }
    if (selfChanged) this.patchFor(self, patches);
    this.selfVersion = self.version;
    // Members added since (and still held), at the end in the order they were added, as they are now.
    const added: Member[] = [];
    const addedWires: Uint8Array[] = [];
    let addedBytes = 0;
    for (const m of changes.added) {
      if (!this.table.holds(m)) continue;
      const wire = this.entryWire(m);
      added.push(m);
      addedWires.push(wire);
      addedBytes += wire.length;
    }
    if (patches.length === 0 && added.length === 0) return true;
    patches.sort((a, b) => a.at - b.at);
    const starts = this.starts;
    const oldCount = this.members.length;
    // In place unless an entry grows (the rest would move right), the count's varint
    // changes length, or the buffer has no room for the members added.
    let inPlace = true;
    let count = oldCount + added.length;
    let bytes = this.length - starts[0]! + addedBytes;
    for (const p of patches) {
      const old = starts[p.at + 1]! - starts[p.at]!;
      if (p.wire === undefined) count--;
      const now = p.wire === undefined ? 0 : p.wire.length;
      if (now > old) inPlace = false;
      bytes += now - old;
    }
    const length = headerBytes(count) + bytes;
    if (length > limit) return false;
    if (inPlace && headerBytes(count) === headerBytes(oldCount) && length <= this.buffer!.length) {
      this.patchInPlace(patches, added, addedWires, length);
      return true;
    }
    this.splice(patches, added, addedWires, count, length, limit);
    return true;
  }

  /** What `m`'s change does to the kept frame (nothing for a member added since: it is appended as it is now). */
  private patchFor(m: Member, patches: Patch[]): void {
    const at = this.members.indexOf(m);
    if (at < 0) return;
    patches.push({ at, wire: this.table.holds(m) ? this.entryWire(m) : undefined });
  }

  /**
   * Applies `patches` (sorted; none grows its entry) in the buffer as it is: entries
   * rewritten where they were, entries dropped, the rest moved left over the bytes freed
   * (one copy per run of unchanged entries), then the added members appended (the buffer
   * has room for them).
   */
  private patchInPlace(patches: readonly Patch[], added: readonly Member[], addedWires: readonly Uint8Array[], length: number): void {
    const buffer = this.buffer!;
    const members = this.members;
    const oldCount = members.length;
    // Entries are written at index `written` ≤ the old index being read, and moved by
    // `shift` ≤ 0: nothing is overwritten before it was read.
    let starts = this.starts;
    let written = 0;
    let shift = 0;
    let from = 0;
    const keep = (to: number): void => {
      if (to <= from) return;
      // Nothing dropped or shrunk yet: the entries stay where they are.
      if (shift === 0 && written === from) {
        written = to;
        return;
      }
      if (shift !== 0) buffer.copyWithin(starts[from]! + shift, starts[from]!, starts[to]!);
      for (let i = from; i < to; i++) {
        members[written] = members[i]!;
        starts[written++] = starts[i]! + shift;
      }
    };
    for (const p of patches) {
      keep(p.at);
      const oldStart = starts[p.at]!;
      const oldLength = starts[p.at + 1]! - oldStart;
      from = p.at + 1;
      if (p.wire === undefined) {
        shift -= oldLength;
        continue;
      }
      buffer.set(p.wire, oldStart + shift);
      members[written] = members[p.at]!;
      starts[written++] = oldStart + shift;
      shift += p.wire.length - oldLength;
    }
    const end = starts[oldCount]! + shift;
    keep(oldCount);
    members.length = written;
    const count = written + added.length;
    if (count + 1 > starts.length) {
      const grown = new Int32Array(Math.max(count + 1, starts.length + (starts.length >> 1)));
      grown.set(starts.subarray(0, written));
      starts = this.starts = grown;
    }
    let offset = end;
    for (let i = 0; i < added.length; i++) {
      starts[members.length] = offset;
      members.push(added[i]!);
      buffer.set(addedWires[i]!, offset);
      offset += addedWires[i]!.length;
    }
    starts[count] = offset;
    this.length = length;
    writeHeader(buffer, count, length);
  }

  /**
   * Writes the kept frame with `patches` (sorted) and the added members into a new buffer
   * of `length` bytes (room for half as many again when members were added, within `limit`).
   */
  private splice(patches: readonly Patch[], added: readonly Member[], addedWires: readonly Uint8Array[], count: number, length: number, limit: number): void {
    const capacity = added.length > 0 ? Math.max(length, Math.min(limit, length + (length >> 1))) : length;
    const next = this.allocate(count, length, capacity);
    const oldMembers = this.members;
    const members: Member[] = new Array<Member>(count);
    const starts = new Int32Array(added.length > 0 ? count + 1 + (count >> 1) : count + 1);
    let offset = headerBytes(count);
    let written = 0;
    let from = 0;
    for (const p of patches) {
      // The entries before this one, unchanged: one copy, their starts shifted.
      offset = this.copyRun(next, offset, from, p.at, members, starts, written);
      written += p.at - from;
      from = p.at + 1;
      if (p.wire === undefined) continue;
      members[written] = oldMembers[p.at]!;
      starts[written++] = offset;
      next.set(p.wire, offset);
      offset += p.wire.length;
    }
    offset = this.copyRun(next, offset, from, oldMembers.length, members, starts, written);
    written += oldMembers.length - from;
    for (let i = 0; i < added.length; i++) {
      members[written] = added[i]!;
      starts[written++] = offset;
      next.set(addedWires[i]!, offset);
      offset += addedWires[i]!.length;
    }
    starts[written] = offset;
    this.buffer = next;
    this.length = length;
    this.members = members;
    this.starts = starts;
  }

  /** Copies the kept frame's entries `from` … `to` − 1 to `next` at `offset`, with their members and starts (at `written` on); returns the offset after them. */
  private copyRun(next: Uint8Array, offset: number, from: number, to: number, members: Member[], starts: Int32Array, written: number): number {
    if (to <= from) return offset;
    const oldStarts = this.starts;
    const shift = offset - oldStarts[from]!;
    for (let i = from; i < to; i++) {
      members[written + i - from] = this.members[i]!;
      starts[written + i - from] = oldStarts[i]! + shift;
    }
    next.set(this.buffer!.subarray(oldStarts[from]!, oldStarts[to]!), offset);
    return offset + oldStarts[to]! - oldStarts[from]!;
  }

  /** A buffer of `capacity` bytes holding the header of a frame of `count` entries and `length` bytes (join flag clear). */
  private allocate(count: number, length: number, capacity: number): Uint8Array {
    const buffer = new Uint8Array(capacity);
    buffer[frameHeaderBytes] = wireVersion;
    writeHeader(buffer, count, length);
    return buffer;
  }
}

/** Writes a frame's length prefix and entry count (the version and join flag stay). */
function writeHeader(buffer: Uint8Array, count: number, length: number): void {
  new DataView(buffer.buffer, buffer.byteOffset).setUint32(0, length - frameHeaderBytes);
  const w = new Writer(buffer);
  w.offset = countOffset;
  w.varint(count);
}

/** The bytes before a frame's first entry: length prefix, version, join flag, entry count. */
function headerBytes(count: number): number {
  let varint = 1;
  for (let v = count; v >= 0x80; v = Math.floor(v / 0x80)) varint++;
  return countOffset + varint;
}
