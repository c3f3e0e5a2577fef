/**
 * Parser for `git diff-tree -r -z --raw` output. Pure: bytes in, entries out.
 *
 * With `-z` every field is NUL-terminated and names are the exact bytes git
 * stores, never quoted, so any name git allows survives (newlines included).
 * Record shape: `:<oldMode> <newMode> <oldOid> <newOid> <status>[score]\0<path>\0`,
 * and for renames/copies a second path: `...R097\0<oldPath>\0<newPath>\0`.
 *
 * Speed: the whole buffer is decoded once and cut at each NUL (UTF-8 never uses a
 * 0x00 byte inside a character, so this is exact). Only when the text holds a
 * U+FFFD do we fall back to field-by-field decoding to find names that are not
 * valid UTF-8 and keep their bytes.
 */
import { GitError } from '../errors.js';
import { SURROGATE } from '../byte-order.js';

/** One record of git's raw diff. */
export interface RawEntry {
  /** git's status letter: A, D, M, T or R (C and U never occur with our flags). */
  status: 'A' | 'D' | 'M' | 'T' | 'R';
  /** Similarity for R, 0–100; 0 otherwise. */
  score: number;
  oldMode: string;
  newMode: string;
  oldOid: string;
  newOid: string;
  /** The path (the new path for renames), decoded as UTF-8. */
  path: string;
  /** The old path, renames only. */
  oldPath?: string | undefined;
  /** The exact bytes of `path`, present only when they are not valid UTF-8. */
  pathBytes?: Buffer | undefined;
  /** The exact bytes of `oldPath`, present only when they are not valid UTF-8. */
  oldPathBytes?: Buffer | undefined;
  /**
   * False when the names can't hold a character past U+FFFF (so JS string order is
   * byte order); true or absent: they may.
   */
  astral?: boolean | undefined;
}

/** Parse the whole raw `-z` output in one pass. Throws E_GIT on anything malformed. */
export function parseRawDiff(buf: Buffer): RawEntry[] {
  const entries: RawEntry[] = [];
  scanRawDiff(buf, (e) => entries.push(copyEntry(e)));
  return entries;
}

/**
 * Walk the raw `-z` output record by record, handing each to `visit`. No object
 * per record: `visit` gets one reused cursor, valid only during the call (copy
 * what you keep). Throws E_GIT on anything malformed, before `visit` sees the
 * malformed record.
 */
export function scanRawDiff(buf: Buffer, visit: (entry: RawEntry) => void): void {
  scan(fieldReader(buf), visit, false);
}

/**
 * scanRawDiff over whole fields that may end inside a record: the records all
 * in are visited; returns the text of the last one if it is not all in yet
 * ('' when none is cut). `undefined` (nothing visited): the bytes hold a name
 * that is not valid UTF-8, for which only whole records will do.
 */
function scanWholeFields(buf: Buffer, visit: (entry: RawEntry) => void): string | undefined {
  const fields = fieldReader(buf);
  return fields.text === undefined ? undefined : scan(fields, visit, true);
}

/** The records of `fields`; with `partial`, a last record cut short is returned as text, not refused. */
function scan(fields: FieldReader, visit: (entry: RawEntry) => void, partial: boolean): string {
  const entry = new Cursor();
  entry.astral = fields.astral;
  let start = fields.offset; // where the record being read starts, in the text
  let cutAt = -1;
  for (let header = fields.next(); header !== null; header = fields.next()) {
    const i = fields.count - 1;
    // ":100644 100644 <oid> <oid> M": modes are always 6 digits, oids 40 or 64 hex.
    const s1 = header.indexOf(' ', 15);
    const s2 = header.indexOf(' ', s1 + 1);
    if (header.charCodeAt(0) !== 0x3a || header.charCodeAt(7) !== 0x20 || s1 < 0 || s2 < 0) {
      throw malformed(i, `unexpected header ${JSON.stringify(header)}`);
    }
    entry.header = header;
    entry.s1 = s1;
    entry.s2 = s2;
    const letter = header.charAt(s2 + 1);
    if (letter === 'R') {
      const score = Number(header.slice(s2 + 2));
      if (!Number.isInteger(score) || score < 0 || score > 100)
        throw malformed(i, `bad rename score in "${header}"`);
      const oldPath = fields.next();
      entry.oldPathBytes = fields.invalid();
      const path = fields.next();
      if ((oldPath === null || path === null) && partial) {
        cutAt = start;
        break;
      }
      if (oldPath === null || path === null) throw malformed(i, 'a rename lacks its paths');
      entry.status = 'R';
      entry.score = score;
      entry.oldPath = oldPath;
      entry.path = path;
      entry.pathBytes = fields.invalid();
    } else if (letter === 'A' || letter === 'D' || letter === 'M' || letter === 'T') {
      const path = fields.next();
      if (path === null && partial) {
        cutAt = start;
        break;
      }
      if (path === null) throw malformed(i, 'a record lacks its path');
      entry.status = letter;
      entry.score = 0;
      entry.path = path;
      entry.oldPath = undefined;
      entry.pathBytes = fields.invalid();
      entry.oldPathBytes = undefined;
    } else {
      throw malformed(i, `unexpected status in "${header}"`);
    }
    visit(entry);
    start = fields.offset;
  }
  return cutAt < 0 ? '' : fields.text!.slice(cutAt);
}

/**
 * The length of the blob ids in a raw record whose header (`:<old mode> <new mode>
 * <old id> <new id> <letter>[score]`, up to its NUL) is `size` characters: 40 or 64,
 * 0 when no header has that size. For the one-pass readers (change-records.ts,
 * json-records.ts), which check the separators themselves.
 */
export function rawIdLength(size: number): 0 | 40 | 64 {
  return size === 98 || size === 101 ? 40 : size === 146 || size === 149 ? 64 : 0;
}

/**
 * `scanRawDiff` over output that arrives in chunks: each whole record is
 * visited as soon as its last byte is in, so parsing overlaps git writing.
 * `end()` visits (or refuses, E_GIT) what is left.
 */
export class RawStream {
  private carry: Buffer | null = null;
  constructor(private readonly visit: (entry: RawEntry) => void) {}

  push(chunk: Buffer): void {
    const data = this.carry === null ? chunk : Buffer.concat([this.carry, chunk]);
    // Whole fields (UTF-8 never has a 0x00 inside a character), read in one pass; the
    // record they end inside, if any, waits with the rest for the next chunk.
    const fields = data.lastIndexOf(0) + 1;
    const tail = fields === 0 ? undefined : scanWholeFields(data.subarray(0, fields), this.visit);
    if (tail !== undefined) {
      const rest = data.subarray(fields);
      this.carry =
        tail === ''
          ? rest.length > 0
            ? Buffer.from(rest)
            : null
          : Buffer.concat([Buffer.from(tail, 'utf8'), rest]);
      return;
    }
    // A name that is not valid UTF-8 (or no whole field yet): find the whole records in the bytes.
    const cut = wholeRecords(data);
    if (cut > 0) scanRawDiff(data.subarray(0, cut), this.visit);
    this.carry = cut < data.length ? Buffer.from(data.subarray(cut)) : null;
  }

  end(): void {
    if (this.carry !== null) scanRawDiff(this.carry, this.visit);
    this.carry = null;
  }
}

/** Length of the whole records at the start of `data`: a header, then one path, two for a rename. */
function wholeRecords(data: Buffer): number {
  let pos = 0;
  for (;;) {
    const headerEnd = data.indexOf(0, pos);
    if (headerEnd < 0) return pos;
    // The status letter follows the header's last space (a malformed header is scanRawDiff's to refuse).
    const space = data.lastIndexOf(0x20, headerEnd);
    let paths = space > pos && data[space + 1] === 0x52 ? 2 : 1; // 'R'
    let end = headerEnd;
    while (paths-- > 0) {
      end = data.indexOf(0, end + 1);
      if (end < 0) return pos;
    }
    pos = end + 1;
  }
}

/** NUL-terminated fields one at a time; the exact bytes of one that is not valid UTF-8. */
interface FieldReader {
  /** The next field, or null at the end. */
  next(): string | null;
  /** The bytes of the field `next` returned last, when they are not valid UTF-8. */
  invalid(): Buffer | undefined;
  /** Fields read so far. */
  count: number;
  /** Whether the text may hold a character past U+FFFF (a surrogate pair). */
  astral: boolean;
  /** Where the next field starts in `text`. */
  readonly offset: number;
  /** The whole output decoded, when it is valid UTF-8 (undefined: read field by field). */
  readonly text: string | undefined;
}

/**
 * Decode once and cut at each NUL (UTF-8 never has a 0x00 inside a character).
 * The fields are short-lived slices, not one array of them all: at 500,000
 * files that array alone cost more garbage collection than the parse.
 */
function fieldReader(buf: Buffer): FieldReader {
  const text = buf.toString('utf8');
  if (text.includes('\uFFFD')) return exactReader(buf);
  let pos = 0;
  const reader: FieldReader = {
    count: 0,
    text,
    get offset() {
      return pos;
    },
    // One test per chunk (free for text that is all one-byte characters), not one per name.
    astral: SURROGATE.test(text),
    next() {
      if (pos >= text.length) return null;
      const end = text.indexOf('\0', pos);
      if (end < 0) throw malformed(reader.count, 'the output does not end with NUL');
      const field = text.slice(pos, end);
      pos = end + 1;
      reader.count += 1;
      return field;
    },
    invalid: () => undefined,
  };
  return reader;
}

/** Over splitExact's fields (the rare output that holds a U+FFFD or invalid bytes). */
function exactReader(buf: Buffer): FieldReader {
  const { fields, invalid } = splitExact(buf);
  // Output ends with a NUL, so the last field is empty.
  if (fields.pop() !== '') throw malformed(fields.length, 'the output does not end with NUL');
  const reader: FieldReader = {
    count: 0,
    astral: true,
    offset: 0,
    text: undefined,
    next: () => (reader.count < fields.length ? fields[reader.count++]! : null),
    invalid: () => invalid.get(reader.count - 1),
  };
  return reader;
}

/** The reused record of `scanRawDiff`: modes and ids are cut from the header only when asked for. */
class Cursor implements RawEntry {
  status: RawEntry['status'] = 'A';
  score = 0;
  path = '';
  oldPath: string | undefined = undefined;
  pathBytes: Buffer | undefined = undefined;
  oldPathBytes: Buffer | undefined = undefined;
  astral = true;
  header = '';
  s1 = 0;
  s2 = 0;
  get oldMode(): string {
    return modeAt(this.header, 1);
  }
  get newMode(): string {
    return modeAt(this.header, 8);
  }
  get oldOid(): string {
    return this.header.slice(15, this.s1);
  }
  get newOid(): string {
    return this.header.slice(this.s1 + 1, this.s2);
  }
}

// The modes git writes, shared: a change set of 500,000 files keeps no copy of each.
const MODES = ['100644', '000000', '100755', '120000', '160000'];

function modeAt(header: string, at: number): string {
  for (const mode of MODES) if (header.startsWith(mode, at)) return mode;
  return header.slice(at, at + 6);
}

/** A plain, lasting copy of a record (only the optional fields that are set). */
function copyEntry(e: RawEntry): RawEntry {
  const entry: RawEntry = {
    status: e.status,
    score: e.score,
    oldMode: e.oldMode,
    newMode: e.newMode,
    oldOid: e.oldOid,
    newOid: e.newOid,
    path: e.path,
  };
  if (e.oldPath !== undefined) entry.oldPath = e.oldPath;
  if (e.pathBytes) entry.pathBytes = e.pathBytes;
  if (e.oldPathBytes) entry.oldPathBytes = e.oldPathBytes;
  return entry;
}

/** Field-by-field decoding; records the bytes of every field that is not valid UTF-8. */
function splitExact(buf: Buffer): { fields: string[]; invalid: Map<number, Buffer> } {
  const fields: string[] = [];
  const invalid = new Map<number, Buffer>();
  let pos = 0;
  while (pos <= buf.length) {
    let end = buf.indexOf(0, pos);
    if (end < 0) end = buf.length;
    const bytes = buf.subarray(pos, end);
    const text = bytes.toString('utf8');
    // U+FFFD can be a real character: only a failed round trip means invalid bytes.
    if (text.includes('\uFFFD') && !Buffer.from(text, 'utf8').equals(bytes))
      invalid.set(fields.length, Buffer.from(bytes));
    fields.push(text);
    pos = end + 1;
  }
  return { fields, invalid };
}

function malformed(field: number, what: string): GitError {
  return new GitError('E_GIT', `cannot parse git diff-tree output at field ${field}: ${what}`);
}
