/**
 * Parser for `git diff-tree -r -z --raw` output. Pure: bytes in, entries out.
 *
 * With `-z` every field is NUL-terminated and names are the exact bytes git
 * stores, never quoted, so any name git allows survives (newlines included).
 * Record shape: `:<oldMode> <newMode> <oldOid> <newOid> <status>[score]\0<path>\0`,
 * and for renames/copies a second path: `...R097\0<oldPath>\0<newPath>\0`.
 */
import { GitError } from '../errors.js';

/** One record of git's raw diff. Paths are byte views into the parsed buffer. */
export interface RawEntry {
  /** git's status letter: A, D, M, T or R (C and U never occur with our flags). */
  status: 'A' | 'D' | 'M' | 'T' | 'R';
  /** Similarity for R, 0–100; 0 otherwise. */
  score: number;
  oldMode: string;
  newMode: string;
  oldOid: string;
  newOid: string;
  /** The path (the new path for renames). */
  path: Buffer;
  /** The old path, renames only. */
  oldPath?: Buffer;
}

const NUL = 0;
const COLON = 0x3a;

/** Parse the whole raw `-z` output in one pass. Throws E_GIT on anything malformed. */
export function parseRawDiff(buf: Buffer): RawEntry[] {
  const entries: RawEntry[] = [];
  let pos = 0;
  const next = (): Buffer => {
    const end = buf.indexOf(NUL, pos);
    if (end < 0) throw malformed(pos, 'a field is not NUL-terminated');
    const field = buf.subarray(pos, end);
    pos = end + 1;
    return field;
  };
  while (pos < buf.length) {
    if (buf[pos] !== COLON) throw malformed(pos, 'a record does not start with ":"');
    // The header is ASCII: latin1 decoding is exact and the cheapest.
    const header = next().toString('latin1', 1);
    const parts = header.split(' ');
    if (parts.length !== 5) throw malformed(pos, `unexpected header ":${header}"`);
    const [oldMode, newMode, oldOid, newOid, code] = parts as [string, string, string, string, string];
    const letter = code.charAt(0);
    if (letter === 'R') {
      const score = Number(code.slice(1));
      if (!Number.isInteger(score) || score < 0 || score > 100)
        throw malformed(pos, `bad rename score "${code}"`);
      const oldPath = next();
      const path = next();
      entries.push({ status: 'R', score, oldMode, newMode, oldOid, newOid, path, oldPath });
    } else if (letter === 'A' || letter === 'D' || letter === 'M' || letter === 'T') {
      entries.push({ status: letter, score: 0, oldMode, newMode, oldOid, newOid, path: next() });
    } else {
      throw malformed(pos, `unexpected status "${code}"`);
    }
  }
  return entries;
}

function malformed(offset: number, what: string): GitError {
  return new GitError('E_GIT', `cannot parse git diff-tree output at byte ${offset}: ${what}`);
}
