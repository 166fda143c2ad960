import { Writer, wireVersion } from './codec.ts';
import type { Member, MemberVersion } from './member.ts';
import { frameHeaderBytes } from './state.ts';
import type { MemberTable } from './table.ts';

/**
 * A plain state frame kept for reuse at most this long: at a thousand members a frame is
 * about 25 kB, and a larger cluster keeps nothing (each member would hold a copy of the
 * whole member list, N² bytes in a simulation).
 */
export const stateFrameKeptBytesMax = 48 * 1024;

/** Where the join flag sits in a plain state frame: after the length prefix and the version. */
const joinOffset = frameHeaderBytes + 1;

/** One member changed since the kept frame, where it goes in the next one. */
interface Patch {
  readonly member: Member;
  /** Its entry's index in the kept frame, -1 when it is not there (added since). */
  readonly at: number;
  /** Its entry now; undefined when it is no longer held. */
  readonly wire: Uint8Array | undefined;
}

/**
 * This node's push-pull state frame without application state (`encodeState` of every
 * member's entry in table order, `PushPullHost.localState`), kept between exchanges and
 * patched with what changed since (`MemberTable.takeChanged`) instead of encoded whole: a
 * periodic push-pull at a thousand members carries a thousand entries, and between two of
 * a member's exchanges its table seldom changes by more than a few members (a state
 * change rewrites an entry in place; an added or removed member moves the rest by a copy
 * of the whole frame, no entry re-read). Byte for byte the frame `encodeState` would make
 * now: `tests/swim/stateframe.test.ts` compares the two after every kind of change.
 */
export class KeptStateFrame {
  /** The frame, length prefix included (the join flag as last sent); undefined when none is kept. */
  private plain: Uint8Array | undefined;
  /** The members of its entries, in order. */
  private members: Member[] = [];
  /** starts[i]: where entry i begins in `plain`; starts[members.length]: the frame's end. */
  private starts = new Int32Array(0);
  /** The local member's version when its entry was written (it changes on the record, not through the table). */
  private selfVersion: MemberVersion | undefined;

  constructor(
    private readonly table: MemberTable,
    private readonly self: Member,
    /** A member's push-pull entry now (`encodeStateEntry` of its version and state). */
    private readonly entryWire: (m: Member) => Uint8Array,
  ) {}

  /**
   * The plain frame of the table's members as of now, or undefined when no frame is kept
   * for this table (above `bytesMax` or `stateFrameKeptBytesMax`; a kept frame is far
   * below `stateMembersMax` entries, of 5 bytes at least each):
   * the caller then encodes one as before, with the same errors. The array is this
   * object's and changes at the next call (the transport copies what it sends).
   */
  frame(join: boolean, bytesMax: number): Uint8Array | undefined {
    const changed = this.table.takeChanged();
    const limit = Math.min(bytesMax, stateFrameKeptBytesMax);
    if (this.plain === undefined || changed === undefined || !this.patch(changed, limit)) this.rebuild(limit);
    const plain = this.plain;
    if (plain !== undefined) plain[joinOffset] = join ? 1 : 0;
    return plain;
  }

  /** Encodes the whole frame from the table, or keeps none when it would be above `limit` bytes. */
  private rebuild(limit: number): void {
    this.plain = undefined;
    this.members = [];
    this.starts = new Int32Array(0);
    const count = this.table.size;
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
    const plain = this.allocate(count, bytes, limit);
    if (plain === undefined) return;
    const starts = new Int32Array(count + 1);
    let offset = plain.length - bytes;
    for (let i = 0; i < count; i++) {
      starts[i] = offset;
      plain.set(wires[i]!, offset);
      offset += wires[i]!.length;
    }
    starts[count] = offset;
    this.plain = plain;
    this.members = members;
    this.starts = starts;
  }

  /**
   * Applies the changed members to the kept frame; false when the frame would be above
   * `limit`: the caller rebuilds, which keeps none.
   */
  private patch(changed: readonly Member[], limit: number): boolean {
    const patches: Patch[] = [];
    const self = this.self;
    let selfChanged = self.version !== this.selfVersion;
    for (let i = 0; i < changed.length; i++) {
      const m = changed[i]!;
      if (changed.indexOf(m) < i) continue;
      if (m === self) selfChanged = false;
      this.patchFor(m, patches);
    }
    if (selfChanged) this.patchFor(self, patches);
    this.selfVersion = self.version;
    if (patches.length === 0) return true;
    patches.sort((a, b) => a.at - b.at);
    const plain = this.plain!;
    const starts = this.starts;
    let inPlace = true;
    let count = this.members.length;
    let bytes = plain.length - starts[0]!;
    for (const p of patches) {
      const old = p.at < 0 ? 0 : starts[p.at + 1]! - starts[p.at]!;
      const now = p.wire === undefined ? 0 : p.wire.length;
      if (p.at < 0 || p.wire === undefined || now !== old) inPlace = false;
      if (p.at < 0) count++;
      else if (p.wire === undefined) count--;
      bytes += now - old;
    }
    if (inPlace) {
      for (const p of patches) plain.set(p.wire!, starts[p.at]!);
      return true;
    }
    const next = this.allocate(count, bytes, limit);
    if (next === undefined) return false;
    this.splice(patches, next, count);
    return true;
  }

  /** What `m`'s change does to the kept frame (nothing for a member added and removed since). */
  private patchFor(m: Member, patches: Patch[]): void {
    const at = this.members.indexOf(m);
    const held = this.table.get(m.name) === m;
    if (at < 0 && !held) return;
    patches.push({ member: m, at, wire: held ? this.entryWire(m) : undefined });
  }

  /**
   * Writes the kept frame with `patches` (sorted, added members last: their index is -1
   * only in order of addition, which the sort keeps) into `next` (its header written).
   */
  private splice(patches: readonly Patch[], next: Uint8Array, count: number): void {
    const oldMembers = this.members;
    const members: Member[] = new Array<Member>(count);
    const starts = new Int32Array(count + 1);
    let offset = headerBytes(count);
    let written = 0;
    let from = 0;
    const added: Patch[] = [];
    for (const p of patches) {
      if (p.at < 0) {
        added.push(p);
        continue;
      }
      // The entries before this one, unchanged: one copy, their starts shifted.
      offset = this.copyRun(next, offset, from, p.at, members, starts, written);
      written += p.at - from;
      from = p.at + 1;
      if (p.wire === undefined) continue;
      members[written] = p.member;
      starts[written++] = offset;
      next.set(p.wire, offset);
      offset += p.wire.length;
    }
    offset = this.copyRun(next, offset, from, oldMembers.length, members, starts, written);
    written += oldMembers.length - from;
    for (const p of added) {
      members[written] = p.member;
      starts[written++] = offset;
      next.set(p.wire!, offset);
      offset += p.wire!.length;
    }
    starts[written] = offset;
    this.plain = next;
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
    next.set(this.plain!.subarray(oldStarts[from]!, oldStarts[to]!), offset);
    return offset + oldStarts[to]! - oldStarts[from]!;
  }

  /** A frame of `count` entries of `bytes` in all, its header written (join flag clear), or undefined above `limit`. */
  private allocate(count: number, bytes: number, limit: number): Uint8Array | undefined {
    const header = headerBytes(count);
    if (header + bytes > limit) return undefined;
    const plain = new Uint8Array(header + bytes);
    const w = new Writer(plain);
    w.offset = frameHeaderBytes;
    w.u8(wireVersion);
    w.u8(0);
    w.varint(count);
    new DataView(plain.buffer, plain.byteOffset).setUint32(0, plain.length - frameHeaderBytes);
    return plain;
  }
}

/** The bytes before a frame's first entry: length prefix, version, join flag, entry count. */
function headerBytes(count: number): number {
  let varint = 1;
  for (let v = count; v >= 0x80; v = Math.floor(v / 0x80)) varint++;
  return frameHeaderBytes + 2 + varint;
}
