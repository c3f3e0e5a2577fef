/**
 * The compact `--json` change list written straight from git's raw bytes.
 *
 * At 500,000 files `diffship diff --json` spent most of its own time turning
 * each record into strings, an object and back into UTF-8 JSON text. Here a
 * record's bytes go to the output as they are: modes and ids are copied, a
 * path is copied with JSON's escapes, and nothing becomes a string (but the
 * paths an include/exclude filter must see, and submodule names for the warning).
 *
 * Only the plain case is done here: well-formed records, UTF-8 names, paths in
 * byte order. Anything else sets `ok` to false and stops: the caller then
 * formats git's whole output the general way (diff-json.ts), which throws the
 * error, or sorts, exactly as before. The text is the same either way.
 */
import { isUtf8 } from 'node:buffer';
import type { ClassifyOptions, PathFilter } from './classify.js';
import { IGNORE_FILE, notIgnoreFile } from './ignore.js';
import { wholeRecords } from './raw.js';
import type { ChangeCounts } from './types.js';

const COLON = 0x3a;
const SPACE = 0x20;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const IGNORE_BYTES = Buffer.from(IGNORE_FILE, 'latin1');
const SUBMODULE = Buffer.from('160000', 'latin1');
const HEX = '0123456789abcdef';
/** Output pieces grow to about this size before a new one starts. */
const PIECE = 1 << 16;

// The text between fields, in JSON.stringify's key order for each kind of change (SPEC §1).
const TEXT = Object.fromEntries(
  Object.entries({
    added: '{"status":"added","path":"',
    updated: '{"status":"updated","path":"',
    deleted: '{"status":"deleted","path":"',
    renamed: '{"status":"renamed","path":"',
    oldPath: '","oldPath":"',
    similarity: '","similarity":',
    modeAfterNumber: ',"mode":"',
    mode: '","mode":"',
    blob: '","blob":"',
    oldMode: '","oldMode":"',
    oldBlob: '","oldBlob":"',
    end: '"}',
  }).map(([key, text]) => [key, Buffer.from(text, 'latin1')]),
) as Record<string, Buffer>;

/** Where one record's fields sit in the input. */
interface Fields {
  /** Offsets of the header's first byte and of each id's first byte; id length. */
  header: number;
  oldOid: number;
  newOid: number;
  oidLength: number;
  status: number;
  score: number;
  /** Source-relative path (start, end), and the old one for a rename. */
  path: number;
  pathEnd: number;
  oldPath: number;
  oldPathEnd: number;
}

/**
 * Takes git's `diff-tree -r -z --raw` output chunk by chunk (as RawStream
 * does) and keeps the JSON array's inside (elements joined by commas) as bytes.
 */
export class CompactJson {
  /** False once a record needs the general path; nothing more is done then. */
  ok = true;
  readonly counts: ChangeCounts = { added: 0, updated: 0, deleted: 0, renamed: 0 };
  readonly submodules: string[] = [];
  shipsAFile = false;
  /** The array's inside, in pieces. */
  readonly body: Buffer[] = [];
  private readonly prefix: Buffer;
  /** null: no include/exclude, only the ignore file is left out (compared as bytes). */
  private readonly filter: PathFilter | null;
  private carry: Buffer | null = null;
  private out: Buffer = Buffer.allocUnsafe(PIECE);
  private pos = 0;
  private prev: Buffer = Buffer.allocUnsafe(256);
  private prevLength = -1;
  private readonly f: Fields = {
    header: 0,
    oldOid: 0,
    newOid: 0,
    oidLength: 0,
    status: 0,
    score: 0,
    path: 0,
    pathEnd: 0,
    oldPath: 0,
    oldPathEnd: 0,
  };

  constructor({ prefix, filter }: ClassifyOptions) {
    this.prefix = Buffer.from(prefix, 'utf8');
    this.filter = filter === notIgnoreFile ? null : filter;
  }

  push(chunk: Buffer): void {
    if (!this.ok) return;
    const data = this.carry === null ? chunk : Buffer.concat([this.carry, chunk]);
    const cut = wholeRecords(data);
    let at = 0;
    while (at < cut && this.ok) at = this.record(data, at);
    this.carry = cut < data.length ? Buffer.from(data.subarray(cut)) : null;
  }

  /** The last piece goes to `body`; false when the general path must take over. */
  end(): boolean {
    if (this.carry !== null) this.ok = false; // a record cut short: malformed
    if (this.ok && this.pos > 0) this.body.push(this.out.subarray(0, this.pos));
    return this.ok;
  }

  /** One record at `at`: classify, filter, write. Returns where the next one starts. */
  private record(data: Buffer, at: number): number {
    const f = this.f;
    const next = this.fields(data, at);
    if (next < 0) return ((this.ok = false), at);
    if (f.status === 0x52) {
      const keepNew = this.keep(data, f.path, f.pathEnd);
      const keepOld = this.keep(data, f.oldPath, f.oldPathEnd);
      if (keepNew && keepOld) this.renamed(data);
      else if (keepNew) this.added(data, f.path, f.pathEnd);
      else if (keepOld) this.deleted(data, f.oldPath, f.oldPathEnd);
    } else if (this.keep(data, f.path, f.pathEnd)) {
      if (f.status === 0x41) this.added(data, f.path, f.pathEnd);
      else if (f.status === 0x44) this.deleted(data, f.path, f.pathEnd);
      else this.updated(data);
    }
    return next;
  }

  /**
   * Read the record at `at` into `this.f` (paths without the source prefix).
   * Returns the next record's offset, or -1 for anything but a plain record.
   */
  private fields(data: Buffer, at: number): number {
    const f = this.f;
    const end = data.indexOf(0, at);
    // ":<6> <6> <id> <id> <letter>[3 digits]": ids of 40 or 64 hex digits.
    const length = data[at + 55] === SPACE ? 40 : data[at + 79] === SPACE ? 64 : 0;
    const s2 = at + 16 + 2 * length;
    if (length === 0 || data[at] !== COLON || data[at + 7] !== SPACE || data[at + 14] !== SPACE) return -1;
    if (data[s2 - 1 - length] !== SPACE || data[s2] !== SPACE) return -1;
    f.header = at;
    f.oldOid = at + 15;
    f.newOid = s2 - length;
    f.oidLength = length;
    f.status = data[s2 + 1]!;
    let fieldEnd = s2 + 2;
    if (f.status === 0x52) {
      f.score = score(data, s2 + 2);
      if (f.score < 0) return -1;
      fieldEnd += 3;
    } else if (f.status !== 0x41 && f.status !== 0x44 && f.status !== 0x4d && f.status !== 0x54) return -1;
    if (end !== fieldEnd) return -1;
    let pathStart = end + 1;
    let pathEnd = data.indexOf(0, pathStart);
    if (f.status === 0x52) {
      f.oldPath = this.strip(data, pathStart, pathEnd);
      f.oldPathEnd = pathEnd;
      pathStart = pathEnd + 1;
      pathEnd = data.indexOf(0, pathStart);
    }
    f.path = this.strip(data, pathStart, pathEnd);
    f.pathEnd = pathEnd;
    if (f.path < 0 || (f.status === 0x52 && f.oldPath < 0)) return -1;
    return pathEnd + 1;
  }

  /** Offset of the path without the source prefix; -1 when it lacks the prefix (or is empty). */
  private strip(data: Buffer, start: number, end: number): number {
    const prefix = this.prefix;
    if (end - start <= prefix.length) return -1;
    for (let i = 0; i < prefix.length; i++) if (data[start + i] !== prefix[i]) return -1;
    return start + prefix.length;
  }

  /** Whether the path takes part (as classify's `keep`); a kept name that is not UTF-8 stops. */
  private keep(data: Buffer, start: number, end: number): boolean {
    if (this.filter === null) {
      if (equalBytes(data, start, end, IGNORE_BYTES)) return false;
    } else if (!this.filter(data.toString('utf8', start, end))) return false;
    if (!isAscii(data, start, end) && !isUtf8(data.subarray(start, end))) this.ok = false;
    return true;
  }

  private added(data: Buffer, path: number, pathEnd: number): void {
    const f = this.f;
    if (!this.begin(data, path, pathEnd, TEXT.added!, false, true)) return;
    this.counts.added += 1;
    this.put(TEXT.mode!);
    this.copy(data, f.header + 8, 6);
    this.put(TEXT.blob!);
    this.copy(data, f.newOid, f.oidLength);
    this.put(TEXT.end!);
  }

  private deleted(data: Buffer, path: number, pathEnd: number): void {
    const f = this.f;
    if (!this.begin(data, path, pathEnd, TEXT.deleted!, true, false)) return;
    this.counts.deleted += 1;
    this.put(TEXT.oldMode!);
    this.copy(data, f.header + 1, 6);
    this.put(TEXT.oldBlob!);
    this.copy(data, f.oldOid, f.oidLength);
    this.put(TEXT.end!);
  }

  private updated(data: Buffer): void {
    const f = this.f;
    if (!this.begin(data, f.path, f.pathEnd, TEXT.updated!, true, true)) return;
    this.counts.updated += 1;
    this.tail(data, TEXT.mode!);
  }

  private renamed(data: Buffer): void {
    const f = this.f;
    if (!this.begin(data, f.path, f.pathEnd, TEXT.renamed!, true, true)) return;
    this.counts.renamed += 1;
    this.put(TEXT.oldPath!);
    this.escape(data, f.oldPath, f.oldPathEnd);
    this.put(TEXT.similarity!);
    this.number(f.score);
    this.tail(data, TEXT.modeAfterNumber!);
  }

  /** mode, blob, oldMode, oldBlob: the end of an updated or renamed change. */
  private tail(data: Buffer, modeText: Buffer): void {
    const f = this.f;
    this.put(modeText);
    this.copy(data, f.header + 8, 6);
    this.put(TEXT.blob!);
    this.copy(data, f.newOid, f.oidLength);
    this.put(TEXT.oldMode!);
    this.copy(data, f.header + 1, 6);
    this.put(TEXT.oldBlob!);
    this.copy(data, f.oldOid, f.oidLength);
    this.put(TEXT.end!);
  }

  /**
   * Start an element: check byte order against the last path, note submodules
   * (by the old mode, the new one, or both, as diff-json's `take`) and files of
   * the release, write the opening and the path. False when the general path must take over.
   */
  private begin(
    data: Buffer,
    path: number,
    pathEnd: number,
    open: Buffer,
    hasOld: boolean,
    hasNew: boolean,
  ): boolean {
    if (!this.ok || !this.inOrder(data, path, pathEnd)) return (this.ok = false);
    const f = this.f;
    const submodule =
      (hasOld && equalBytes(data, f.header + 1, f.header + 7, SUBMODULE)) ||
      (hasNew && equalBytes(data, f.header + 8, f.header + 14, SUBMODULE));
    if (submodule) this.submodules.push(data.toString('utf8', path, pathEnd));
    else if (hasNew) this.shipsAFile = true;
    // Room for the longest element: every path byte escaped as \u00XX, the rest fixed.
    this.room(300 + 6 * (pathEnd - path + (f.status === 0x52 ? f.oldPathEnd - f.oldPath : 0)));
    if (this.body.length > 0 || this.pos > 0) this.out[this.pos++] = 0x2c; // ","
    this.put(open);
    this.escape(data, path, pathEnd);
    return true;
  }

  /** Byte order of the emitted paths: strictly rising, as git writes them. */
  private inOrder(data: Buffer, start: number, end: number): boolean {
    const length = end - start;
    if (this.prevLength >= 0) {
      const prev = this.prev;
      const common = Math.min(length, this.prevLength);
      let i = 0;
      while (i < common && prev[i] === data[start + i]) i++;
      const rising = i < common ? prev[i]! < data[start + i]! : this.prevLength < length;
      if (!rising) return false;
    }
    if (this.prev.length < length) this.prev = Buffer.allocUnsafe(2 * length);
    data.copy(this.prev, 0, start, end);
    this.prevLength = length;
    return true;
  }

  /** Make room for `bytes` more output, starting a new piece when the current one is full. */
  private room(bytes: number): void {
    if (this.pos + bytes <= this.out.length) return;
    if (this.pos > 0) this.body.push(this.out.subarray(0, this.pos));
    this.out = Buffer.allocUnsafe(Math.max(PIECE, bytes));
    this.pos = 0;
  }

  private put(text: Buffer): void {
    const out = this.out;
    let pos = this.pos;
    for (let i = 0; i < text.length; i++) out[pos++] = text[i]!;
    this.pos = pos;
  }

  /** Copy a mode or an id; a byte JSON would escape (never in git's output) stops the fast path. */
  private copy(data: Buffer, start: number, length: number): void {
    const out = this.out;
    let pos = this.pos;
    for (let i = start; i < start + length; i++) {
      const b = data[i]!;
      if (b <= SPACE || b >= 0x7f || b === QUOTE || b === BACKSLASH) this.ok = false;
      out[pos++] = b;
    }
    this.pos = pos;
  }

  /** A path's bytes with JSON.stringify's escapes (valid UTF-8 is written as is). */
  private escape(data: Buffer, start: number, end: number): void {
    const out = this.out;
    let pos = this.pos;
    for (let i = start; i < end; i++) {
      const b = data[i]!;
      if (b >= SPACE && b !== QUOTE && b !== BACKSLASH) {
        out[pos++] = b;
        continue;
      }
      out[pos++] = BACKSLASH;
      const named = b === QUOTE || b === BACKSLASH ? b : NAMED[b];
      if (named !== undefined) {
        out[pos++] = named;
      } else {
        out[pos++] = 0x75; // \u00XX, lower-case hex as JSON.stringify writes it
        out[pos++] = 0x30;
        out[pos++] = 0x30;
        out[pos++] = HEX.charCodeAt(b >> 4);
        out[pos++] = HEX.charCodeAt(b & 15);
      }
    }
    this.pos = pos;
  }

  private number(n: number): void {
    const text = String(n);
    for (let i = 0; i < text.length; i++) this.out[this.pos++] = text.charCodeAt(i);
  }
}

/** JSON's short escapes for control characters: \b \t \n \f \r. */
const NAMED: Record<number, number> = { 8: 0x62, 9: 0x74, 10: 0x6e, 12: 0x66, 13: 0x72 };

/** A rename's similarity: exactly three digits, 0–100; else -1. */
function score(data: Buffer, at: number): number {
  let n = 0;
  for (let i = at; i < at + 3; i++) {
    const d = data[i]! - 0x30;
    if (!(d >= 0 && d <= 9)) return -1;
    n = n * 10 + d;
  }
  return n <= 100 ? n : -1;
}

function equalBytes(data: Buffer, start: number, end: number, bytes: Buffer): boolean {
  if (end - start !== bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (data[start + i] !== bytes[i]) return false;
  return true;
}

function isAscii(data: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (data[i]! >= 0x80) return false;
  return true;
}
