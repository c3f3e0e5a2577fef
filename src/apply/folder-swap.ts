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
import { parentsOf } from './safe-path.js';

/** Written paths the target holds as folders that the plan empties (a delete lies below each). */
export function swappedFolders(plan: TargetPlan): string[] {
  const dirs = new Set(plan.observedDirs);
  const slots = new Set(plan.writes.filter((w) => dirs.has(w.path)).map((w) => w.path));
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
  for (const d of plan.deletes) {
    if (!inside(d.path)) continue;
    const e = await t.lstat(d.path);
    if (e?.type === 'dir') continue; // the plan deletes files; a folder here goes by rmdir below
    if (e) await t.unlink(d.path);
    for (const p of parentsOf(d.path)) if (inside(p)) dirs.add(p);
  }
  for (const p of plan.observedDirs ?? []) if (inside(p)) dirs.add(p);
  const deepestFirst = [...dirs].sort((a, b) => b.split('/').length - a.split('/').length);
  for (const dir of deepestFirst) {
    if ((await t.lstat(dir))?.type !== 'dir') continue;
    if (!(await t.rmdir(dir)) && folders.includes(dir)) {
      throw new DiffshipError(
        'E_UNSAFE',
        `${t.description}: ${dir} still holds files this deploy does not remove (added since the plan?), so the release's file cannot take its place — move or remove them on the target, then deploy again`,
      );
    }
  }
}
