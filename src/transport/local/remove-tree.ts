// Removing a file or folder tree of the local target without following links, off the
// event loop: unlink and rmdir wait for the file system's journal when the disk is busy,
// and a rollout's other targets must not wait with them.
import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { shellQuote } from '../shell-quote.js';
import { spawnShell } from './spawner.js';

/**
 * Entries removed one by one before the rest of a tree goes to `rm -rf`. Most trees are small
 * (an emptied staging, an expired backup): a process costs more than they do. A failed first
 * deploy's staging holds up to every file of the release, and this process paid ~16 µs of its
 * main thread a file (3.3 s for 200,000, against 1.7 s for `rm -rf`): a SIGTERM's cleanup ran
 * into its hard stop and left the staging and the lock to the next run.
 */
const HAND_OVER_AT = 2_000;

/** Remove `p`, a file or a whole folder tree; nothing there is fine. */
export async function removeTreeAt(p: string): Promise<void> {
  // Most calls find nothing (no staging left over): a synchronous look answers that at once.
  const entry = fsSync.lstatSync(p, { throwIfNoEntry: false });
  if (!entry) return;
  if (!entry.isDirectory()) return unlinkIfThere(p);
  if (await removeDir(p, { left: HAND_OVER_AT })) return;
  // A big tree: the rest in one `rm -rf`; where that fails, one by one (its error is the one told).
  if (!(await removedByRm(p))) await removeDir(p, { left: Infinity });
}

/** Entries of one folder removed at once. */
const REMOVE_CONCURRENCY = 8;

/** How many more entries removeDir may remove itself. */
interface Budget {
  left: number;
}

/**
 * A folder and everything in it, one small threadpool call per entry. Not fs.rm: on Node 24 a
 * recursive fs.rm of 100,000 files held the event loop for over a second (timers, signals and
 * other targets wait) and process exit waited for it (a cancelled deploy's staging). Links are
 * removed as links (a Dirent never follows one); nothing there is fine. False when the budget
 * ran out first: nothing is in flight then, and what is left stays as it was.
 */
async function removeDir(p: string, budget: Budget): Promise<boolean> {
  let entries: fsSync.Dirent[];
  try {
    entries = await fs.readdir(p, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
  let next = 0;
  let whole = true;
  const worker = async () => {
    while (next < entries.length) {
      if (budget.left <= 0) return void (whole = false);
      budget.left--;
      const e = entries[next++]!;
      const child = path.join(p, e.name);
      const removed = e.isDirectory()
        ? await removeDir(child, budget)
        : await unlinkOrRemoveDir(child, budget);
      if (!removed) whole = false;
    }
  };
  await Promise.all(Array.from({ length: Math.min(REMOVE_CONCURRENCY, entries.length) }, worker));
  if (!whole) return false;
  try {
    await fs.rmdir(p);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return true;
}

/** A file system without entry types in readdir: an unlink that meets a folder removes it as one. */
async function unlinkOrRemoveDir(p: string, budget: Budget): Promise<boolean> {
  try {
    await unlinkIfThere(p);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if ((code !== 'EISDIR' && code !== 'EPERM') || !(await fs.lstat(p)).isDirectory()) throw error;
    return removeDir(p, budget);
  }
}

/**
 * `rm -rf -- p` (it never follows a link), started by the spawn helper (no fork of this
 * process) in its own session: a run cut short by its hard stop leaves it finishing the
 * removal. Whether `p` is gone once it exited.
 */
function removedByRm(p: string): Promise<boolean> {
  return new Promise((resolve) => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' };
    const rm = spawnShell(`exec rm -rf -- ${shellQuote(p)}`, '/', env);
    rm.stdout.resume();
    rm.stderr.resume();
    const done = () => {
      rm.release();
      resolve(fsSync.lstatSync(p, { throwIfNoEntry: false }) === undefined);
    };
    rm.once('exit', done);
    rm.once('error', done);
  });
}

/** unlink(2) in the threadpool; already gone is fine. */
export async function unlinkIfThere(p: string): Promise<void> {
  try {
    await fs.unlink(p);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
