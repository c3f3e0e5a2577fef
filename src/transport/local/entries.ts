// What the local transport reports for one name: node:fs Stats and Dirents turned into
// the Transport's Entry (lstat, readdir-with-types for walk), links never followed.
import { type Dirent, type Stats } from 'node:fs';
import * as fs from 'node:fs/promises';
import type { Entry, EntryType } from '../transport.js';
import type { DirEntry } from '../walk.js';
import { joinRoot } from '../rel-path.js';

/**
 * One folder's listing. Without `stat`, the types readdir gave are enough and no
 * promise is made per entry (a 300,000-entry walk); an entry whose type readdir
 * could not tell (DT_UNKNOWN) is still lstat'ed. Vanished entries are left out.
 */
export async function direntEntries(folder: string, dirents: Dirent[], stat: boolean): Promise<DirEntry[]> {
  if (stat || dirents.some((d) => direntType(d) === 'other')) {
    const entries = await Promise.all(dirents.map((d) => direntEntry(joinRoot(folder, d.name), d, stat)));
    return entries.filter((e) => e !== null);
  }
  return dirents.map((d) => ({ name: d.name, type: direntType(d), mode: 0, size: 0, mtimeMs: 0 }));
}

/** null when the entry vanished between readdir and lstat. */
async function direntEntry(full: string, d: Dirent, stat: boolean): Promise<DirEntry | null> {
  const type = direntType(d);
  if (!stat && type !== 'other') return { name: d.name, type, mode: 0, size: 0, mtimeMs: 0 };
  // Also reached when the file system reports no type (DT_UNKNOWN).
  try {
    return { name: d.name, ...toEntry(await fs.lstat(full)) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function direntType(d: Dirent): EntryType {
  if (d.isFile()) return 'file';
  if (d.isDirectory()) return 'dir';
  if (d.isSymbolicLink()) return 'symlink';
  return 'other';
}

export function toEntry(stats: Stats): Entry {
  const type: EntryType = stats.isFile()
    ? 'file'
    : stats.isDirectory()
      ? 'dir'
      : stats.isSymbolicLink()
        ? 'symlink'
        : 'other';
  return {
    type,
    mode: stats.mode & 0o7777,
    size: stats.size,
    mtimeMs: stats.mtimeMs,
    uid: stats.uid,
    gid: stats.gid,
  };
}
