/**
 * Commit step for a folder the release turns into a file (plan/folder-slots.ts allowed it: the
 * plan deletes everything below it). The folder must be gone before the file's rename (a rename
 * does not replace a folder), so its files are deleted first, then its folders are removed with
 * rmdir, deepest first: rmdir removes only an empty folder, so anything that appeared in it
 * since the plan stops the commit (undone from the backup) instead of being lost. The backup
 * holds each deleted file; an undo removes the new file and puts the folder and files back
 * (backup.ts restoreBackup).
 */
import { DiffshipError } from '../errors.js';
import type { TargetPlan } from '../plan/types.js';
import type { Transport } from '../transport/transport.js';
import { byDepthDeepestFirst, parentsOf } from './safe-path.js';

/** Written paths the target holds as folders that the plan empties (a delete lies below each). */
export function swappedFolders(plan: TargetPlan): string[] {
  const dirs = new Set(plan.observedDirs);
  if (dirs.size === 0) return [];
  const slots = new Set<string>();
  for (const w of plan.writes) if (dirs.has(w.path)) slots.add(w.path);
  if (slots.size === 0) return [];
  const emptied = new Set<string>();
  for (const d of plan.deletes)
    if (d.reason !== 'stray') for (const p of parentsOf(d.path)) if (slots.has(p)) emptied.add(p);
  return [...emptied];
}

/** The folders a swap removes, shallowest first: each swapped folder and every folder in it (the backup remakes them). */
export function swapRemovedDirs(plan: TargetPlan): string[] {
  const folders = swappedFolders(plan);
  if (folders.length === 0) return [];
  const inside = (p: string) => folders.some((f) => p.startsWith(`${f}/`));
  const dirs = [...folders, ...(plan.observedDirs ?? []).filter(inside)];
  return [...new Set(dirs)].sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1));
}

/** Delete the plan's files below each folder, then the emptied folders, deepest first. */
export async function clearSwappedFolders(
  t: Transport,
  plan: TargetPlan,
  folders: readonly string[],
): Promise<void> {
  if (folders.length === 0) return;
  const inside = (p: string) => folders.some((f) => p.startsWith(`${f}/`));
  const dirs = new Set<string>(folders);
  // A pass at a time (over SSH a round trip a pass, not two a file): the files' looks, their
  // unlinks, then the folders a depth at a time, deepest first (a folder empties once what is
  // below it goes; within one depth none holds another).
  const deletes = plan.deletes.filter((d) => inside(d.path)).map((d) => d.path);
  const found = await Promise.all(deletes.map((p) => t.lstat(p)));
  // The plan deletes files; a folder here goes by rmdir below.
  await Promise.all(deletes.filter((_, i) => found[i] && found[i].type !== 'dir').map((p) => t.unlink(p)));
  for (const d of deletes) for (const p of parentsOf(d)) if (inside(p)) dirs.add(p);
  for (const p of plan.observedDirs ?? []) if (inside(p)) dirs.add(p);
  for (const level of byDepthDeepestFirst(dirs)) {
    const types = await Promise.all(level.map((dir) => t.lstat(dir)));
    const present = level.filter((_, i) => types[i]?.type === 'dir');
    const removed = await Promise.all(present.map((dir) => t.rmdir(dir)));
    const stuck = present.find((dir, i) => !removed[i] && folders.includes(dir));
    if (stuck !== undefined)
      throw new DiffshipError(
        'E_UNSAFE',
        `${t.description}: ${stuck} still holds files this deploy does not remove (added since the plan?), so the release's file cannot take its place — move or remove them on the target, then deploy again`,
      );
  }
}
