/**
 * Turn git's raw records into the SPEC change set. Pure.
 *
 * Order of work: strip the source prefix, decode the name, apply the filter,
 * then classify. Sorting compares the raw name bytes, so the order is byte
 * order whatever the names contain (JS string order differs past U+FFFF).
 */
import { DiffshipError, GitError } from '../errors.js';
import type { RawEntry } from './raw.js';
import type { Change, ChangeCounts } from './types.js';
import type { PathFilter } from './filter.js';

export interface ClassifyOptions {
  /** Source folder prefix with trailing "/", or "" for the whole repository. */
  prefix: string;
  filter: PathFilter;
}

interface Keyed {
  key: Buffer;
  change: Change;
}

/** A source-relative name: its bytes (for sorting) and its text. */
interface Name {
  bytes: Buffer;
  text: string;
  /** false when the bytes are not valid UTF-8 (text then holds U+FFFD). */
  valid: boolean;
}

/**
 * Classify raw records into changes sorted by path bytes.
 * @throws DiffshipError E_CONFIG when a kept name is not valid UTF-8.
 */
export function classify(entries: readonly RawEntry[], { prefix, filter }: ClassifyOptions): Change[] {
  const prefixBytes = Buffer.from(prefix, 'utf8');
  const name = (raw: Buffer): Name => {
    if (prefixBytes.length > 0 && !startsWith(raw, prefixBytes)) {
      throw new GitError('E_GIT', `git reported ${quoteBytes(raw)}, outside the source folder "${prefix}"`);
    }
    const bytes = raw.subarray(prefixBytes.length);
    const text = bytes.toString('utf8');
    // U+FFFD can be a real character: only a failed round trip means invalid bytes.
    const valid = !text.includes('\uFFFD') || Buffer.from(text, 'utf8').equals(bytes);
    return { bytes, text, valid };
  };
  const keep = (n: Name): boolean => {
    if (!filter(n.text)) return false;
    if (!n.valid) {
      throw new DiffshipError(
        'E_CONFIG',
        `the name ${quoteBytes(n.bytes)} is not valid UTF-8, so it can't be shipped exactly; ` +
          'rename it in the repository or exclude it',
      );
    }
    return true;
  };

  const out: Keyed[] = [];
  for (const e of entries) {
    const path = name(e.path);
    switch (e.status) {
      case 'A':
        if (keep(path)) out.push({ key: path.bytes, change: added(path.text, e) });
        break;
      case 'D':
        if (keep(path)) out.push({ key: path.bytes, change: deleted(path.text, e) });
        break;
      case 'M':
      case 'T':
        if (keep(path)) {
          out.push({
            key: path.bytes,
            change: {
              status: 'updated',
              path: path.text,
              mode: e.newMode,
              blob: e.newOid,
              oldMode: e.oldMode,
              oldBlob: e.oldOid,
            },
          });
        }
        break;
      case 'R': {
        if (!e.oldPath)
          throw new GitError('E_GIT', `git reported a rename of ${quoteBytes(e.path)} without its old path`);
        const oldPath = name(e.oldPath);
        const keepNew = keep(path);
        const keepOld = keep(oldPath);
        // A rename that crosses a filter boundary is only half visible.
        if (keepNew && keepOld) {
          out.push({
            key: path.bytes,
            change: {
              status: 'renamed',
              path: path.text,
              oldPath: oldPath.text,
              similarity: e.score,
              mode: e.newMode,
              blob: e.newOid,
              oldMode: e.oldMode,
              oldBlob: e.oldOid,
            },
          });
        } else if (keepNew) {
          out.push({ key: path.bytes, change: added(path.text, e) });
        } else if (keepOld) {
          out.push({ key: oldPath.bytes, change: deleted(oldPath.text, e) });
        }
        break;
      }
    }
  }
  out.sort((a, b) => Buffer.compare(a.key, b.key));
  return out.map((k) => k.change);
}

/** Count changes by status. */
export function countChanges(changes: readonly Change[]): ChangeCounts {
  const counts: ChangeCounts = { added: 0, updated: 0, deleted: 0, renamed: 0 };
  for (const c of changes) counts[c.status] += 1;
  return counts;
}

function added(path: string, e: RawEntry): Change {
  return { status: 'added', path, mode: e.newMode, blob: e.newOid };
}

function deleted(path: string, e: RawEntry): Change {
  return { status: 'deleted', path, oldMode: e.oldMode, oldBlob: e.oldOid };
}

function startsWith(buf: Buffer, prefix: Buffer): boolean {
  return buf.length >= prefix.length && buf.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

/** Show raw name bytes in a message: printable ASCII as is, anything else as \xNN. */
export function quoteBytes(bytes: Buffer): string {
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `${out}"`;
}
