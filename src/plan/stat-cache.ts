/**
 * "Is this file still what diffship put there?" without reading it: the stat
 * cache test git's index uses. Pure, so the racy case is unit-tested.
 *
 * Racy timestamps: a file changed within the same clock tick as the recorded
 * lstat keeps its mtime, and maybe its size. git's answer is to distrust any
 * entry whose mtime is not strictly older than the index file itself; here the
 * reference is the state file's mtime (the target's clock, taken after every
 * stat of the manifest). Such an entry must be hashed.
 */
import type { FileStat } from './manifest-types.js';

/**
 * True when `now` (a fresh exact lstat) matches the recorded stat on size,
 * mtime, ctime, inode and mode, and the recorded mtime is older than
 * `stateWrittenNs` (the state file's mtime in ns). False means "hash it".
 *
 * @example
 * if (!unchangedSince(entry.stat, await t.statExact(entry.path), stateMtimeNs)) toHash.push(entry.path);
 */
export function unchangedSince(
  recorded: FileStat | undefined,
  now: FileStat | null,
  stateWrittenNs: string | null,
): boolean {
  if (!recorded || !now || stateWrittenNs === null) return false;
  if (!olderThan(recorded.mtimeNs, stateWrittenNs)) return false; // racy: could have changed unseen
  return (
    recorded.size === now.size &&
    recorded.mtimeNs === now.mtimeNs &&
    recorded.ctimeNs === now.ctimeNs &&
    recorded.ino === now.ino &&
    recorded.mode === now.mode
  );
}

/**
 * a < b for decimal strings without leading zeros (as lstat gives them and the
 * manifest check demands): the shorter is smaller, else the text order. No
 * BigInt per call: a 500,000-file check asks this of every file.
 */
function olderThan(a: string, b: string): boolean {
  return a.length !== b.length ? a.length < b.length : a < b;
}
