/**
 * The local walk in path order (UTF-8 byte order, git's), one entry at a time,
 * nothing of the tree kept: each folder's names are sorted as git sorts a tree
 * (a folder as its name and a slash), so visiting them depth first gives every
 * file and link in byte order of paths (a folder's own entry comes right before
 * its contents, after a sibling such as `a.txt` that sorts below `a/`). Authoritative mode merges this with the release listing
 * and the manifest (observe/authoritative-merge.ts): one readdir per folder and
 * one lstat per compared file, as rsync does. Links are never followed. The
 * local transport walks with find and sort first (find-walk.ts); this is the
 * walk where they cannot.
 */
import * as fsSync from 'node:fs';
import type { Dirent } from 'node:fs';
import type { EntryType, SortedVisit } from '../transport.js';
import type { FileStat } from '../../plan/manifest-types.js';
import { byteOrder } from '../../byte-order.js';
import { joinRel, joinRoot } from '../rel-path.js';
import { fileStatOf } from './stat-exact.js';

/**
 * Entries visited (each maybe an lstat) and folders listed per turn of the event
 * loop: a few ms, so timers (the lock's lease) keep running, even in a folder
 * of 500,000 files. Entries: under a ms, so that git's listing of the release,
 * which runs alongside the first targets' walks (rollout/early-preflight.ts),
 * keeps flowing: its pipe holds 64 KiB (~450 records), read once per turn; at
 * 2,048 most of a 50,000-file listing waited for the walk's end.
 */
const ENTRIES_PER_TURN = 256;
const FOLDERS_PER_TURN = 64;

export interface Listed {
  name: string;
  /** The name as git orders it: a folder's with a slash. */
  key: string;
  type: EntryType;
}

/**
 * Part of a folder's entries: those whose keys (names, a folder's with a slash) are
 * from `from` (null: the first) up to, not including, `to` (null: the last).
 */
export interface KeyRange {
  dir: string;
  from: string | null;
  to: string | null;
}

/**
 * Every entry below the root `base` but the `skip` folders (relative paths), in
 * path order; with `range`, only that part of a folder's entries and what is below them.
 * `fail(op, rel, error)` words an error other than "gone".
 */
export async function walkSorted(
  base: string,
  skip: readonly string[],
  visit: SortedVisit,
  fail: (op: string, rel: string, error: unknown) => Error,
  range?: KeyRange,
): Promise<void> {
  const skipped = new Set(skip.map((s) => s.replace(/\/+$/, '')));
  const exact = (rel: string): FileStat | null => lstatExact(base, rel, fail);
  // Depth first: each level's sorted entries and how far they are visited.
  const stack: Array<{ dir: string; entries: Listed[]; next: number }> = [];
  const dir = range?.dir ?? '';
  const first = listSorted(base, dir, fail)?.filter(
    (e) =>
      !range ||
      ((range.from === null || byteOrder(e.key, range.from) >= 0) &&
        (range.to === null || byteOrder(e.key, range.to) < 0)),
  );
  if (first) stack.push({ dir, entries: first, next: 0 });
  let listed = 0;
  let visited = 0;
  const pause = () => new Promise((resolve) => setImmediate(resolve));
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next >= top.entries.length) {
      stack.pop();
      continue;
    }
    const e = top.entries[top.next++]!;
    const path = joinRel(top.dir, e.name);
    if (skipped.has(path)) continue;
    visit(path, e.type, exact);
    if (++visited % ENTRIES_PER_TURN === 0) await pause();
    if (e.type !== 'dir') continue;
    if (++listed % FOLDERS_PER_TURN === 0) await pause();
    const entries = listSorted(base, path, fail);
    if (entries) stack.push({ dir: path, entries, next: 0 });
  }
}

/** The exact lstat of `rel` below `base`; null when nothing is there (or a parent is no folder). */
export function lstatExact(
  base: string,
  rel: string,
  fail: (op: string, rel: string, error: unknown) => Error,
): FileStat | null {
  try {
    const s = fsSync.lstatSync(joinRoot(base, rel), { bigint: true, throwIfNoEntry: false });
    return s === undefined ? null : fileStatOf(s);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw fail('lstat', rel, error);
  }
}

/** One folder's entries in git's order; null when it is gone (or no longer a folder). */
export function listSorted(
  base: string,
  rel: string,
  fail: (op: string, rel: string, error: unknown) => Error,
): Listed[] | null {
  let dirents: Dirent[];
  try {
    dirents = fsSync.readdirSync(rel === '' ? base : joinRoot(base, rel), { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw fail('list', rel, error);
  }
  const out: Listed[] = [];
  for (const d of dirents) {
    const type = typeOf(d, base, rel);
    if (type === null) continue; // gone since the listing
    out.push({ name: d.name, key: type === 'dir' ? `${d.name}/` : d.name, type });
  }
  return out.sort((a, b) => (a.key === b.key ? 0 : byteOrder(a.key, b.key)));
}

/** The entry's type from the listing, or (DT_UNKNOWN) from an lstat; null when it vanished. */
function typeOf(d: Dirent, base: string, rel: string): EntryType | null {
  if (d.isFile()) return 'file';
  if (d.isDirectory()) return 'dir';
  if (d.isSymbolicLink()) return 'symlink';
  const s = fsSync.lstatSync(joinRoot(base, joinRel(rel, d.name)), { throwIfNoEntry: false });
  if (s === undefined) return null;
  return s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : 'other';
}
