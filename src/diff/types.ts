/** The change set between two releases (SPEC §1). Plain data: it feeds plan, report and outputs. */
import type { Logger } from '../log.js';

/** A git tree entry mode: regular file, executable, symlink, or submodule (gitlink). */
export type GitMode = '100644' | '100755' | '120000' | '160000' | (string & {});

export type ChangeStatus = 'added' | 'updated' | 'deleted' | 'renamed';

export interface AddedChange {
  status: 'added';
  path: string;
  mode: GitMode;
  blob: string;
}
export interface UpdatedChange {
  status: 'updated';
  path: string;
  mode: GitMode;
  blob: string;
  oldMode: GitMode;
  oldBlob: string;
}
export interface DeletedChange {
  status: 'deleted';
  path: string;
  oldMode: GitMode;
  oldBlob: string;
}
export interface RenamedChange {
  status: 'renamed';
  path: string;
  oldPath: string;
  /** git's similarity index, 0–100. */
  similarity: number;
  mode: GitMode;
  blob: string;
  oldMode: GitMode;
  oldBlob: string;
}
export type Change = AddedChange | UpdatedChange | DeletedChange | RenamedChange;

export interface ChangeCounts {
  added: number;
  updated: number;
  deleted: number;
  renamed: number;
}

export interface DiffResult {
  /** Resolved SHA of `from`, or null for the empty tree. */
  from: string | null;
  /** Resolved SHA of `to`. */
  to: string;
  /** The source folder, as given (default "."). */
  source: string;
  /** Sorted by `path`, byte order. */
  changes: Change[];
  counts: ChangeCounts;
}

export interface DiffOptions {
  /** Repository folder (default: the current directory). */
  repo?: string;
  /** Old release: any ref git resolves. Omitted or empty: the empty tree. */
  from?: string | null;
  /** New release (default `HEAD`). */
  to?: string;
  /** Folder of the repo to ship (default "."). Result paths are relative to it. */
  source?: string;
  /** minimatch globs on source-relative paths; default everything. */
  include?: readonly string[];
  /** minimatch globs; exclude wins over include. */
  exclude?: readonly string[];
  /** Detect renames (default true). */
  renames?: boolean;
  /** Fetch a commit missing from a shallow clone (default true). */
  fetchMissing?: boolean;
  /** Receives git's warnings, e.g. that the rename limit stopped rename detection (default: none). */
  logger?: Logger;
}

/** The submodule mode: reported, never shipped. */
export const SUBMODULE_MODE = '160000';
export const SYMLINK_MODE = '120000';
