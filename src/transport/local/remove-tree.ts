// Removing a file or folder tree of the local target without following links, off the
// event loop: unlink and rmdir wait for the file system's journal when the disk is busy,
// and a rollout's other targets must not wait with them.
import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';

/** Remove `p`, a file or a whole folder tree; nothing there is fine. */
export async function removeTreeAt(p: string): Promise<void> {
  // Most calls find nothing (no staging left over): a synchronous look answers that at once.
  const entry = fsSync.lstatSync(p, { throwIfNoEntry: false });
  if (!entry) return;
  if (!entry.isDirectory()) return unlinkIfThere(p);
  // fs.rm removes symlinks as links and never descends through them.
  await fs.rm(p, { recursive: true, force: true });
}

/** unlink(2) in the threadpool; already gone is fine. */
export async function unlinkIfThere(p: string): Promise<void> {
  try {
    await fs.unlink(p);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
