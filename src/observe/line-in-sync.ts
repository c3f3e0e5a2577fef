/**
 * Whether a manifest line is exactly the line authoritative mode's compare would
 * build for a walked entry, decided on bytes (no string, no object): a blob id of
 * the manifest's length in lowercase hex, a mode a line can hold, the entry's
 * exact stat (compared by the transport: RawEntry.statIs), then its path (found
 * by it: ManifestIndex.at). And that such a line says the entry is in sync, as
 * compareSought's equal-line case does (authoritative-merge.ts): the recorded
 * mtime older than the state file (the racy rule, plan/stat-cache.ts), and the
 * entry of the type and x bit the line's mode asks (plan/context.ts `holds`).
 * Anything else is false, and the caller decides with strings. Pure.
 */
import type { RawEntry } from '../transport/transport.js';
import { sameBytes } from '../same-bytes.js';

const TAB = 0x09;
const COMMA = 0x2c;
const ZERO = 0x30;

/** 1 for the bytes of lowercase hex digits (one load a byte: the id is most of a line's check). */
const LOWER_HEX = new Uint8Array(256);
for (const c of Buffer.from('0123456789abcdef')) LOWER_HEX[c] = 1;

/** The git modes a line can hold, as the six bytes after the blob's tab. */
const REGULAR = Buffer.from('100644');
const EXECUTABLE = Buffer.from('100755');
const SYMLINK = Buffer.from('120000');

/**
 * `line` is `bytes[start, pathStart)` plus its path (already matched); `written` the
 * state file's mtime in ns as digits.
 */
export function lineInSync(
  bytes: Buffer,
  start: number,
  pathStart: number,
  idLength: number,
  entry: RawEntry,
  written: Buffer,
): boolean {
  if (entry.type !== 'file' && entry.type !== 'symlink') return false;
  for (let i = start; i < start + idLength; i++) if (LOWER_HEX[bytes[i]!] === 0) return false;
  const m = start + idLength + 1;
  if (bytes[m - 1] !== TAB || bytes[m + 6] !== TAB || bytes[pathStart - 1] !== TAB) return false;
  const symlink = sameBytes(bytes, m, SYMLINK, 0, 6);
  const executable = !symlink && sameBytes(bytes, m, EXECUTABLE, 0, 6);
  if (!symlink && !executable && !sameBytes(bytes, m, REGULAR, 0, 6)) return false;
  // The stat field: the entry's exact stat, as text.
  const statStart = m + 7;
  const statEnd = pathStart - 1;
  if (!entry.statIs(bytes, statStart, statEnd)) return false;
  // Racy: the mtime (the second field) not older than the state file could hide a change.
  let c1 = statStart;
  while (bytes[c1] !== COMMA) c1++;
  let c2 = c1 + 1;
  while (bytes[c2] !== COMMA) c2++;
  if (!olderThan(bytes, c1 + 1, c2, written)) return false;
  // holds(): a link where the mode says so, else a file whose x bit is the mode's.
  if (symlink) return entry.type === 'symlink';
  if (entry.type !== 'file') return false;
  let from = statEnd - 1;
  while (bytes[from - 1] !== COMMA) from--;
  let mode = 0;
  for (let i = from; i < statEnd; i++) mode = mode * 10 + (bytes[i]! - ZERO);
  return executable === ((mode & 0o111) !== 0);
}

/** Digits [from, to) of `a` < the digits of `b` as decimals without leading zeros (stat-cache.ts's olderThan). */
function olderThan(a: Buffer, from: number, to: number, b: Buffer): boolean {
  const length = to - from;
  if (length !== b.length) return length < b.length;
  for (let i = 0; i < length; i++) if (a[from + i] !== b[i]) return a[from + i]! < b[i]!;
  return false;
}
