/**
 * A folder on the target where the release has a file. No mode writes through it: the file
 * cannot be renamed over a folder, and deleting a folder someone made by hand (and what it
 * holds) is not diffship's call. The plan stops before anything is written, naming the paths.
 */
import { DiffshipError } from '../errors.js';
import type { Observed, WriteOp } from './types.js';

/** Throws E_UNSAFE when any write lands where the target holds a folder. */
export function rejectFoldersInFileSlots(
  writes: readonly WriteOp[],
  observe: (path: string) => Observed,
): void {
  const folders = writes.filter((w) => observe(w.path).type === 'dir').map((w) => w.path);
  if (folders.length === 0) return;
  const list = folders.slice(0, 10).join(', ');
  const more = folders.length > 10 ? ` and ${folders.length - 10} more` : '';
  throw new DiffshipError(
    'E_UNSAFE',
    `${folders.length} folder(s) on the target where the release has a file: ${list}${more} — move or remove each folder on the target (diffship never deletes a folder to put a file in its place), then deploy again`,
  );
}
