/**
 * A folder on the target where the release has a file. It goes only when the release itself
 * emptied it (a type swap: `x/y` deleted or renamed away, file `x` added; see type-swaps.ts)
 * and nothing else is in it: every entry the target holds below it is deleted by this plan.
 * A folder made by hand, or one still holding a stray, a kept or a protected file, is not
 * diffship's to delete: the plan stops before anything is written, naming the paths.
 */
import { DiffshipError } from '../errors.js';
import type { DeleteOp, Observed, WriteOp } from './types.js';

/** Throws E_UNSAFE when any write lands where the target holds a folder this plan does not empty. */
export function rejectFoldersInFileSlots(
  writes: readonly WriteOp[],
  deletes: readonly DeleteOp[],
  observe: (path: string) => Observed,
  observed: ReadonlyMap<string, Observed>,
): void {
  const slots = writes.filter((w) => observe(w.path).type === 'dir').map((w) => w.path);
  if (slots.length === 0) return;
  const emptied = emptiedFolders(new Set(slots), deletes, observed);
  const folders = slots.filter((p) => !emptied.has(p));
  if (folders.length === 0) return;
  const list = folders.slice(0, 10).join(', ');
  const more = folders.length > 10 ? ` and ${folders.length - 10} more` : '';
  throw new DiffshipError(
    'E_UNSAFE',
    `${folders.length} folder(s) on the target where the release has a file: ${list}${more} — move or remove each folder on the target (diffship removes a folder only when the release itself empties it), then deploy again`,
  );
}

/** The slots with a release's delete below them and no entry below them that the plan leaves. */
function emptiedFolders(
  slots: ReadonlySet<string>,
  deletes: readonly DeleteOp[],
  observed: ReadonlyMap<string, Observed>,
): Set<string> {
  const slotOf = (p: string) => {
    for (let i = p.indexOf('/'); i > 0; i = p.indexOf('/', i + 1))
      if (slots.has(p.slice(0, i))) return p.slice(0, i);
    return null;
  };
  const deleted = new Set(deletes.map((d) => d.path));
  const emptied = new Set<string>();
  // Only a folder the release had (a file of it deleted or renamed away): a folder holding
  // nothing but strays was made on the target, even if authoritative mode deletes the strays.
  for (const d of deletes) {
    const slot = d.reason === 'stray' ? null : slotOf(d.path);
    if (slot !== null) emptied.add(slot);
  }
  // observe/plan-target.ts lists each such folder whole: anything there the plan keeps blocks it.
  for (const [path, obs] of observed) {
    if (obs.type === null || obs.type === 'dir' || deleted.has(path)) continue;
    const slot = slotOf(path);
    if (slot !== null) emptied.delete(slot);
  }
  return emptied;
}
