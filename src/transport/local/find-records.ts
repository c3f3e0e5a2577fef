/**
 * find's records, shared by the sorted walk (find-walk.ts: find | sort) and the
 * walk in find's own order (find-stream.ts). Each record is `type size mtime
 * ctime inode perms path`, a folder's path with a slash; times come as seconds
 * with a fraction of at least 9 digits (GNU find), so ns are exact.
 */
import type { EntryType, RawEntry, SettleRaw, SortedVisit } from '../transport.js';
import type { FileStat } from '../../plan/manifest-types.js';

const FIELDS = '%y %s %T@ %C@ %i %m';

/** The file type bits of `st_mode` for find's `%y` letters (other types are never compared). */
const TYPE_BITS: Readonly<Record<string, number>> = { f: 0o100000, l: 0o120000, d: 0o040000 };
/** The entry type of find's `%y` letter, a record's first byte (no string made). */
const typeOfByte = (b: number): EntryType =>
  b === 0x66 ? 'file' : b === 0x64 ? 'dir' : b === 0x6c ? 'symlink' : 'other';

/** find's `-printf` for an entry: a folder's path with a slash (`%P`: from `.`; `%p`: as given). */
export function printed(path: '%P' | '%p'): string[] {
  return [
    '(',
    '-type',
    'd',
    '-printf',
    `${FIELDS} ${path}/\\0`,
    '-o',
    '-printf',
    `${FIELDS} ${path}\\0`,
    ')',
  ];
}

/** `( -path ./a -o -path ./b ) -prune -o` for the `skip` folders (none: nothing). */
export function pruneArgs(skip: readonly string[]): string[] {
  const prune: string[] = [];
  for (const s of skip) {
    prune.push(...(prune.length > 0 ? ['-o'] : []), '-path', `./${patternOf(s.replace(/\/+$/, ''))}`);
  }
  return prune.length > 0 ? ['(', ...prune, ')', '-prune', '-o'] : [];
}

/** -path takes a pattern: a name's own wildcards are escaped. */
export const patternOf = (rel: string): string => rel.replace(/[*?[\]\\]/g, '\\$&');

/** A record's exact stat; null where its times are not exact (the caller lstats then). */
export function statOf(rec: string): FileStat | null {
  const s1 = rec.indexOf(' ');
  const s2 = rec.indexOf(' ', s1 + 1);
  const s3 = rec.indexOf(' ', s2 + 1);
  const s4 = rec.indexOf(' ', s3 + 1);
  const s5 = rec.indexOf(' ', s4 + 1);
  const s6 = rec.indexOf(' ', s5 + 1);
  const bits = TYPE_BITS[rec.slice(0, s1)];
  const mtimeNs = nanoseconds(rec, s2 + 1, s3);
  const ctimeNs = nanoseconds(rec, s3 + 1, s4);
  if (bits === undefined || mtimeNs === null || ctimeNs === null) return null;
  return {
    size: Number(rec.slice(s1 + 1, s2)),
    mtimeNs,
    ctimeNs,
    ino: rec.slice(s4 + 1, s5),
    mode: bits | parseInt(rec.slice(s5 + 1, s6), 8),
  };
}

/**
 * `seconds.fraction` (from find's `%T@`) as ns in decimal, as an exact lstat gives
 * them: null unless the seconds start with a digit 1–9 and the fraction has at
 * least 9 digits. Digits are not checked one by one: a stat that is not exact
 * only fails to match the manifest's (a hash, never a false match).
 */
function nanoseconds(rec: string, from: number, to: number): string | null {
  const dot = rec.indexOf('.', from);
  if (dot < 0 || dot >= to || to - dot - 1 < 9 || dot === from) return null;
  // find prints digits; a time before 1970 or at 0 seconds is left to an lstat.
  const first = rec.charCodeAt(from);
  if (first < 0x31 || first > 0x39) return null;
  return rec.slice(from, dot) + rec.slice(dot + 1, dot + 10);
}

const SPACE = 0x20;
const DOT = 0x2e;
const SLASH = 0x2f;
const COMMA = 0x2c;
const ZERO = 0x30;

/** find's type letters as bytes, with their st_mode type bits (others: no stat text). */
const BITS_OF_BYTE: Readonly<Record<number, number>> = { 0x66: 0o100000, 0x6c: 0o120000, 0x64: 0o040000 };

/**
 * Whether the record at bytes [start, pathStart) of `buf` has the exact stat that the
 * manifest stat field `field[from, to)` records (`size,mtimeNs,ctimeNs,ino,mode`,
 * apply/manifest-text.ts): the answer `statText(statOf(record)) === field` gives, compared
 * digit by digit in one pass, nothing written or made. False where statOf gives null
 * (times not exact, another type).
 */
function statFieldIs(
  buf: Buffer,
  start: number,
  pathStart: number,
  field: Buffer,
  from: number,
  to: number,
): boolean {
  const bits = BITS_OF_BYTE[buf[start]!];
  if (bits === undefined || buf[start + 1] !== SPACE) return false;
  let a = start + 2;
  let b = from;
  // size: its digits as find prints them.
  for (; a < pathStart && buf[a] !== SPACE; a++, b++) if (b >= to || field[b] !== buf[a]) return false;
  a++;
  if (field[b++] !== COMMA) return false;
  // mtime and ctime: seconds (starting 1–9), then the first 9 of at least 9 digits of the fraction.
  for (let t = 0; t < 2; t++) {
    const first = buf[a]!;
    if (first <= ZERO || first > ZERO + 9) return false;
    for (; buf[a] !== DOT; a++, b++) {
      if (a >= pathStart || buf[a] === SPACE || b >= to || field[b] !== buf[a]) return false;
    }
    a++;
    for (let k = 0; k < 9; k++, a++, b++) {
      if (a >= pathStart || buf[a] === SPACE || b >= to || field[b] !== buf[a]) return false;
    }
    while (a < pathStart && buf[a] !== SPACE) a++;
    a++;
    if (field[b++] !== COMMA) return false;
  }
  // ino: its digits.
  for (; a < pathStart && buf[a] !== SPACE; a++, b++) if (b >= to || field[b] !== buf[a]) return false;
  a++;
  if (field[b++] !== COMMA) return false;
  // mode: the type bits and the octal permissions, against the field's decimal (no leading zero).
  let perms = 0;
  for (; a < pathStart - 1; a++) {
    const d = buf[a]! - ZERO;
    if (d < 0 || d > 7) return false;
    perms = perms * 8 + d;
  }
  if (b >= to || to - b > 10 || (field[b] === ZERO && to - b > 1)) return false;
  let mode = 0;
  for (; b < to; b++) {
    const d = field[b]! - ZERO;
    if (d < 0 || d > 9) return false;
    mode = mode * 10 + d;
  }
  return mode === (bits | perms);
}

/** Where a record's path starts in `data[start, end)` (after its sixth space); -1 when it has fewer. */
export function pathAt(data: Buffer, start: number, end: number): number {
  let spaces = 0;
  for (let i = start; i < end; i++) if (data[i] === SPACE && ++spaces === 6) return i + 1;
  return -1;
}

/** The record being settled (one object for a whole walk). */
class RawRecord implements RawEntry {
  buf: Buffer = Buffer.alloc(0);
  pathStart = 0;
  pathEnd = 0;
  type: EntryType = 'other';
  private start = 0;
  private fieldsEnd = 0;

  /** The record at `buf[start…]`: its fields end (after a space) at `fieldsEnd`, its path is [pathStart, pathEnd). */
  at(
    buf: Buffer,
    start: number,
    fieldsEnd: number,
    pathStart: number,
    pathEnd: number,
    type: EntryType,
  ): this {
    this.buf = buf;
    this.start = start;
    this.fieldsEnd = fieldsEnd;
    this.pathStart = pathStart;
    this.pathEnd = pathEnd;
    this.type = type;
    return this;
  }

  statIs(field: Buffer, from: number, to: number): boolean {
    return statFieldIs(this.buf, this.start, this.fieldsEnd, field, from, to);
  }
}

/**
 * A walk's records, each settled from its bytes where the caller can (`settle`), else
 * decoded and visited; the visited record's stat is parsed only if the visitor asks for it
 * (`exact`), from its text, else by an lstat where its times are not exact. Shared by the
 * walk in find's order (find-stream.ts) and the sorted one (sorted-records.ts, which checks
 * the order in `seen`).
 */
export class RecordVisitor {
  // The record being visited.
  private current = '';
  private currentPath = '';
  private readonly raw = new RawRecord();

  constructor(
    private readonly visit: SortedVisit,
    private readonly lstat: (rel: string) => FileStat | null,
    protected readonly fail: (why: string) => Error,
    private readonly settle?: SettleRaw,
  ) {}

  private readonly exact = (rel: string): FileStat | null =>
    rel === this.currentPath ? (statOf(this.current) ?? this.lstat(rel)) : this.lstat(rel);

  /** Take the record `data[at, end)`, whose path starts `strip` bytes after its fields (a range's: `./`). */
  readonly entry = (data: Buffer, at: number, end: number, strip = 0): boolean => {
    const fields = pathAt(data, at, end);
    if (fields < 0 || (strip > 0 && (data[fields] !== DOT || data[fields + 1] !== SLASH)))
      throw this.fail(
        `a record without its fields: ${JSON.stringify(data.toString('utf8', at, Math.min(end, at + 200)))}`,
      );
    const from = fields + strip;
    this.seen(data, from, end);
    const type = typeOfByte(data[at]!);
    const pathEnd = type === 'dir' ? end - 1 : end;
    if (this.settle?.(this.raw.at(data, at, fields, from, pathEnd, type))) return true;
    // Decoded on its own: a path the caller keeps holds its record, not the whole chunk.
    this.current = data.toString('utf8', at, end);
    this.currentPath = data.toString('utf8', from, pathEnd);
    this.visit(this.currentPath, type, this.exact);
    return true;
  };

  /** A record's path `data[from, end)` (a folder's with its slash), before it is taken. */
  protected seen(_data: Buffer, _from: number, _end: number): void {}
}
