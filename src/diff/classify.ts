/**
 * Turn git's raw records into the SPEC change set. Pure.
 *
 * Order of work: strip the source prefix, apply the filter, then classify.
 * The result is sorted in byte order of the names (see src/byte-order.ts).
 */
import { sortByPath } from '../byte-order.js';
import { DiffshipError, GitError } from '../errors.js';
import type { RawEntry } from './raw.js';
import type { Change, ChangeCounts } from './types.js';

/** Decides whether a source-relative path takes part in the change set. */
export type PathFilter = (path: string) => boolean;

export interface ClassifyOptions {
  /** Source folder prefix with trailing "/", or "" for the whole repository. */
  prefix: string;
  filter: PathFilter;
}

/**
 * Classify raw records into changes sorted by path bytes.
 * @throws DiffshipError E_CONFIG when a kept name is not valid UTF-8.
 */
export function classify(entries: readonly RawEntry[], { prefix, filter }: ClassifyOptions): Change[] {
  const strip = (path: string): string => {
    if (!path.startsWith(prefix))
      throw new GitError('E_GIT', `git reported ${JSON.stringify(path)}, outside "${prefix}"`);
    return prefix === '' ? path : path.slice(prefix.length);
  };
  const keep = (path: string, bytes: Buffer | undefined): boolean => {
    if (!filter(path)) return false;
    if (bytes) {
      throw new DiffshipError(
        'E_CONFIG',
        `the name ${quoteBytes(bytes)} is not valid UTF-8, so it can't be shipped exactly; ` +
          'rename it in the repository or exclude it',
      );
    }
    return true;
  };

  const out: Change[] = [];
  for (const e of entries) {
    const path = strip(e.path);
    switch (e.status) {
      case 'A':
        if (keep(path, e.pathBytes)) out.push(added(path, e));
        break;
      case 'D':
        if (keep(path, e.pathBytes)) out.push(deleted(path, e));
        break;
      case 'M':
      case 'T':
        if (keep(path, e.pathBytes)) {
          out.push({
            status: 'updated',
            path,
            mode: e.newMode,
            blob: e.newOid,
            oldMode: e.oldMode,
            oldBlob: e.oldOid,
          });
        }
        break;
      case 'R': {
        if (e.oldPath === undefined)
          throw new GitError('E_GIT', `git reported a rename of ${e.path} without its old path`);
        const oldPath = strip(e.oldPath);
        const keepNew = keep(path, e.pathBytes);
        const keepOld = keep(oldPath, e.oldPathBytes);
        // A rename that crosses a filter boundary is only half visible.
        if (keepNew && keepOld) {
          out.push({
            status: 'renamed',
            path,
            oldPath,
            similarity: e.score,
            mode: e.newMode,
            blob: e.newOid,
            oldMode: e.oldMode,
            oldBlob: e.oldOid,
          });
        } else if (keepNew) out.push(added(path, e));
        else if (keepOld) out.push(deleted(oldPath, e));
        break;
      }
    }
  }
  return sortByPath(out);
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

/** Show raw name bytes in a message: printable ASCII as is, anything else as \xNN. */
export function quoteBytes(bytes: Uint8Array): string {
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `${out}"`;
}
