// Removing a file or folder tree of the local target without following links: small
// trees (a staging folder, an old backup) synchronously, big ones off the event loop.
import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/** Trees with up to this many entries are removed synchronously by removeTree. */
const SMALL_TREE = 256;

/** Remove `p`, a file or a whole folder tree; nothing there is fine. */
export async function removeTreeAt(p: string): Promise<void> {
  // Most calls find nothing (no staging left over): a synchronous look answers that at once.
  const entry = fsSync.lstatSync(p, { throwIfNoEntry: false });
  if (!entry) return;
  if (!entry.isDirectory()) return fsSync.unlinkSync(p);
  // A staging folder or an old backup of a few files goes at once, synchronously.
  if (removeSmallTreeSync(p, SMALL_TREE)) return;
  // fs.rm removes symlinks as links and never descends through them; a big tree stays off the event loop.
  await fs.rm(p, { recursive: true, force: true });
}

/**
 * Remove the folder `dir` when it holds at most `budget` entries in all, with
 * synchronous calls; return false, having removed nothing, when it holds more.
 * Never follows a symlink: links are entries like files (d_type, no stat).
 */
function removeSmallTreeSync(dir: string, budget: number): boolean {
  const files: string[] = [];
  const dirs: string[] = [];
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop()!;
    dirs.push(current);
    for (const d of fsSync.readdirSync(current, { withFileTypes: true })) {
      if (files.length + dirs.length + pending.length >= budget) return false;
      const full = path.join(current, d.name);
      if (d.isDirectory()) pending.push(full);
      else files.push(full);
    }
  }
  // Children before parents (dirs were found parents first); already gone is fine.
  for (const file of files) ignoreMissing(() => fsSync.unlinkSync(file));
  for (const d of dirs.reverse()) ignoreMissing(() => fsSync.rmdirSync(d));
  return true;
}

/** Run a synchronous removal; ENOENT (already gone) is not an error. */
export function ignoreMissing(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
