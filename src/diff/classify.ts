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
 * Where classified changes go. Paths are source-relative; the record's modes
 * and ids are read from `e` during the call. The library builds objects, the
 * CLI's JSON writer formats text straight away (see diff-json.ts).
 */
export interface ChangeSink {
  added(path: string, e: RawEntry): void;
  deleted(path: string, e: RawEntry): void;
  updated(path: string, e: RawEntry): void;
  renamed(path: string, oldPath: string, e: RawEntry): void;
}

/**
 * Classify raw records into changes sorted by path bytes.
 * @throws DiffshipError E_CONFIG when a kept name is not valid UTF-8.
 */
export function classify(entries: readonly RawEntry[], options: ClassifyOptions): Change[] {
  const sink = changeObjects();
  const visit = classifier(options, sink);
  for (const e of entries) visit(e);
  return sortByPath(sink.changes);
}

/** A sink that collects SPEC `Change` objects (into `changes`), in the order classified. */
export function changeObjects(changes: Change[] = []): ChangeSink & { changes: Change[] } {
  return {
    changes,
    added: (path, e) => changes.push(added(path, e)),
    deleted: (path, e) => changes.push(deleted(path, e)),
    updated: (path, e) =>
      changes.push({
        status: 'updated',
        path,
        mode: e.newMode,
        blob: e.newOid,
        oldMode: e.oldMode,
        oldBlob: e.oldOid,
      }),
    renamed: (path, oldPath, e) =>
      changes.push({
        status: 'renamed',
        path,
        oldPath,
        similarity: e.score,
        mode: e.newMode,
        blob: e.newOid,
        oldMode: e.oldMode,
        oldBlob: e.oldOid,
      }),
  };
}

/**
 * One record at a time: strip the prefix, filter, classify, hand to `sink`.
 * @throws DiffshipError E_CONFIG when a kept name is not valid UTF-8.
 */
export function classifier({ prefix, filter }: ClassifyOptions, sink: ChangeSink): (e: RawEntry) => void {
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

  return (e) => {
    const path = strip(e.path);
    switch (e.status) {
      case 'A':
        if (keep(path, e.pathBytes)) sink.added(path, e);
        break;
      case 'D':
        if (keep(path, e.pathBytes)) sink.deleted(path, e);
        break;
      case 'M':
      case 'T':
        if (keep(path, e.pathBytes)) sink.updated(path, e);
        break;
      case 'R': {
        if (e.oldPath === undefined)
          throw new GitError('E_GIT', `git reported a rename of ${e.path} without its old path`);
        const oldPath = strip(e.oldPath);
        const keepNew = keep(path, e.pathBytes);
        const keepOld = keep(oldPath, e.oldPathBytes);
        // A rename that crosses a filter boundary is only half visible.
        if (keepNew && keepOld) sink.renamed(path, oldPath, e);
        else if (keepNew) sink.added(path, e);
        else if (keepOld) sink.deleted(oldPath, e);
        break;
      }
    }
  };
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
