/**
 * find's records, shared by the sorted walk (find-walk.ts: find | sort) and the
 * walk in find's own order (find-stream.ts). Each record is `type size mtime
 * ctime inode perms path`, a folder's path with a slash; times come as seconds
 * with a fraction of at least 9 digits (GNU find), so ns are exact.
 */
import type { EntryType } from '../transport.js';
import type { FileStat } from '../../plan/manifest-types.js';

const FIELDS = '%y %s %T@ %C@ %i %m';

/** The file type bits of `st_mode` for find's `%y` letters (other types are never compared). */
const TYPE_BITS: Readonly<Record<string, number>> = { f: 0o100000, l: 0o120000, d: 0o040000 };
export const TYPES: Readonly<Record<string, EntryType>> = { f: 'file', l: 'symlink', d: 'dir' };

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

/** Where a record's path starts (after its sixth space); -1 when it has fewer. */
export function pathStart(rec: string): number {
  let at = -1;
  for (let n = 0; n < 6; n++) {
    at = rec.indexOf(' ', at + 1);
    if (at < 0) return -1;
  }
  return at + 1;
}

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
const COMMA = 0x2c;
const ZERO = 0x30;

/** find's type letters as bytes, with their st_mode type bits (others: no stat text). */
const BITS_OF_BYTE: Readonly<Record<number, number>> = { 0x66: 0o100000, 0x6c: 0o120000, 0x64: 0o040000 };

/**
 * The record at bytes [start, pathStart) of `buf` written into `out` (from 0) as a manifest's
 * stat field, `size,mtimeNs,ctimeNs,ino,mode` (apply/manifest-text.ts): the text
 * `statText(statOf(record))` gives, without a string or an object, in one pass of plain
 * loops (a native call per field cost more than its bytes). Its length; -1 where statOf
 * gives null (times not exact, another type), or `out` is too short.
 */
export function writeStatText(buf: Buffer, start: number, pathStart: number, out: Buffer): number {
  const bits = BITS_OF_BYTE[buf[start]!];
  if (bits === undefined || buf[start + 1] !== SPACE) return -1;
  const room = out.length - 8; // the mode's digits and the commas fit after this
  let o = 0;
  let at = start + 2;
  // size: its digits as find prints them.
  for (; at < pathStart && buf[at] !== SPACE; at++) if (o < room) out[o++] = buf[at]!;
  at++;
  // mtime and ctime: seconds (starting 1–9) and the first 9 digits of the fraction.
  for (let t = 0; t < 2; t++) {
    out[o++] = COMMA;
    const first = buf[at]!;
    if (first <= ZERO || first > ZERO + 9) return -1;
    for (; at < pathStart && buf[at] !== DOT && buf[at] !== SPACE; at++) if (o < room) out[o++] = buf[at]!;
    if (buf[at] !== DOT) return -1;
    let digits = 0;
    for (at++; at < pathStart && buf[at] !== SPACE; at++, digits++)
      if (digits < 9 && o < room) out[o++] = buf[at]!;
    if (digits < 9) return -1;
    at++;
  }
  // ino: its digits.
  out[o++] = COMMA;
  for (; at < pathStart && buf[at] !== SPACE; at++) if (o < room) out[o++] = buf[at]!;
  at++;
  if (o >= room) return -1;
  // mode: the type bits and the octal permissions, in decimal.
  let perms = 0;
  for (; at < pathStart - 1; at++) {
    const d = buf[at]! - ZERO;
    if (d < 0 || d > 7) return -1;
    perms = perms * 8 + d;
  }
  out[o++] = COMMA;
  let mode = bits | perms;
  const from = o;
  do {
    out[o++] = ZERO + (mode % 10);
    mode = Math.floor(mode / 10);
  } while (mode > 0);
  for (let a = from, b = o - 1; a < b; a++, b--) {
    const d = out[a]!;
    out[a] = out[b]!;
    out[b] = d;
  }
  return o;
}
