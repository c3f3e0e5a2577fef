/**
 * Parser for `git diff-tree -r -z --raw` output. Pure: bytes in, entries out.
 *
 * With `-z` every field is NUL-terminated and names are the exact bytes git
 * stores, never quoted, so any name git allows survives (newlines included).
 * Record shape: `:<oldMode> <newMode> <oldOid> <newOid> <status>[score]\0<path>\0`,
 * and for renames/copies a second path: `...R097\0<oldPath>\0<newPath>\0`.
 *
 * Speed: the whole buffer is decoded once and split on NUL (UTF-8 never uses a
 * 0x00 byte inside a character, so this is exact). Only when the text holds a
 * U+FFFD do we fall back to field-by-field decoding to find names that are not
 * valid UTF-8 and keep their bytes.
 */
import { GitError } from '../errors.js';

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
  oldPath?: string;
  /** The exact bytes of `path`, present only when they are not valid UTF-8. */
  pathBytes?: Buffer;
  /** The exact bytes of `oldPath`, present only when they are not valid UTF-8. */
  oldPathBytes?: Buffer;
}

/** Parse the whole raw `-z` output in one pass. Throws E_GIT on anything malformed. */
export function parseRawDiff(buf: Buffer): RawEntry[] {
  const text = buf.toString('utf8');
  const { fields, invalid } = text.includes('\uFFFD')
    ? splitExact(buf)
    : { fields: text.split('\0'), invalid: null };
  // Output ends with a NUL, so the last field is empty.
  if (fields.pop() !== '') throw malformed(fields.length, 'the output does not end with NUL');
  const entries: RawEntry[] = [];
  let i = 0;
  while (i < fields.length) {
    const header = fields[i]!;
    // ":100644 100644 <oid> <oid> M": modes are always 6 digits, oids 40 or 64 hex.
    const s1 = header.indexOf(' ', 15);
    const s2 = header.indexOf(' ', s1 + 1);
    if (header.charCodeAt(0) !== 0x3a || header.charCodeAt(7) !== 0x20 || s1 < 0 || s2 < 0) {
      throw malformed(i, `unexpected header ${JSON.stringify(header)}`);
    }
    const letter = header.charAt(s2 + 1);
    const entry: RawEntry = {
      status: 'A',
      score: 0,
      oldMode: header.slice(1, 7),
      newMode: header.slice(8, 14),
      oldOid: header.slice(15, s1),
      newOid: header.slice(s1 + 1, s2),
      path: '',
    };
    if (letter === 'R') {
      const score = Number(header.slice(s2 + 2));
      if (!Number.isInteger(score) || score < 0 || score > 100)
        throw malformed(i, `bad rename score in "${header}"`);
      if (i + 2 >= fields.length) throw malformed(i, 'a rename lacks its paths');
      entry.status = 'R';
      entry.score = score;
      entry.oldPath = fields[i + 1]!;
      entry.path = fields[i + 2]!;
      const oldBytes = invalid?.get(i + 1);
      const newBytes = invalid?.get(i + 2);
      if (oldBytes) entry.oldPathBytes = oldBytes;
      if (newBytes) entry.pathBytes = newBytes;
      i += 3;
    } else if (letter === 'A' || letter === 'D' || letter === 'M' || letter === 'T') {
      if (i + 1 >= fields.length) throw malformed(i, 'a record lacks its path');
      entry.status = letter;
      entry.path = fields[i + 1]!;
      const bytes = invalid?.get(i + 1);
      if (bytes) entry.pathBytes = bytes;
      i += 2;
    } else {
      throw malformed(i, `unexpected status in "${header}"`);
    }
    entries.push(entry);
  }
  return entries;
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
