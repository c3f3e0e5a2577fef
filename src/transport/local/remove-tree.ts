// Removing a file or folder tree of the local target without following links, off the
// event loop: unlink and rmdir wait for the file system's journal when the disk is busy,
// and a rollout's other targets must not wait with them.
import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import path from 'node:path';

/** Remove `p`, a file or a whole folder tree; nothing there is fine. */
export async function removeTreeAt(p: string): Promise<void> {
  // Most calls find nothing (no staging left over): a synchronous look answers that at once.
  const entry = fsSync.lstatSync(p, { throwIfNoEntry: false });
  if (!entry) return;
  if (!entry.isDirectory()) return unlinkIfThere(p);
  await removeDir(p);
}

/** Entries of one folder removed at once. */
const REMOVE_CONCURRENCY = 8;

/**
 * A folder and everything in it, one small threadpool call per entry. Not fs.rm: on Node 24 a
 * recursive fs.rm of 100,000 files held the event loop for over a second (timers, signals and
 * other targets wait) and process exit waited for it (a cancelled deploy's staging). Links are
 * removed as links (a Dirent never follows one); nothing there is fine.
 */
async function removeDir(p: string): Promise<void> {
  let entries: fsSync.Dirent[];
  try {
    entries = await fs.readdir(p, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const e = entries[next++]!;
      const child = path.join(p, e.name);
      if (e.isDirectory()) await removeDir(child);
      else await unlinkOrRemoveDir(child);
    }
  };
  await Promise.all(Array.from({ length: Math.min(REMOVE_CONCURRENCY, entries.length) }, worker));
  try {
    await fs.rmdir(p);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** A file system without entry types in readdir: an unlink that meets a folder removes it as one. */
async function unlinkOrRemoveDir(p: string): Promise<void> {
  try {
    await unlinkIfThere(p);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if ((code !== 'EISDIR' && code !== 'EPERM') || !(await fs.lstat(p)).isDirectory()) throw error;
    await removeDir(p);
  }
}

/** unlink(2) in the threadpool; already gone is fine. */
export async function unlinkIfThere(p: string): Promise<void> {
  try {
    await fs.unlink(p);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
