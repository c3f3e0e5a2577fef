/**
 * A folder on the target where the release has a file. It goes only when the release itself
 * emptied it (a type swap: `x/y` deleted or renamed away, file `x` added; see type-swaps.ts)
 * and nothing else is in it: every entry the target holds below it is deleted by this plan.
 * A folder made by hand, or one still holding a stray, a kept or a protected file, is not
 * diffship's to delete: the plan stops before anything is written, naming the paths.
 */
import { DiffshipError } from '../errors.js';
import type { DeleteOp, Observed, WriteOp } from './types.js';

/** What says why a file below a swapped folder stays: kept by an additive deploy, protected, or neither. */
export interface SlotContext {
  kept: ReadonlySet<string>;
  isProtected: (path: string) => boolean;
}

/** Throws E_UNSAFE when any write lands where the target holds a folder this plan does not empty. */
export function rejectFoldersInFileSlots(
  writes: readonly WriteOp[],
  deletes: readonly DeleteOp[],
  observe: (path: string) => Observed,
  observed: ReadonlyMap<string, Observed>,
  why: SlotContext = { kept: new Set(), isProtected: () => false },
): void {
  // Iterated (a listing's writes are read by index through a key string: listing-view.ts).
  const slots: string[] = [];
  for (const w of writes) if (observe(w.path).type === 'dir') slots.push(w.path);
  if (slots.length === 0) return;
  const { emptied, blocked } = emptiedFolders(new Set(slots), deletes, observed);
  // A folder the release emptied but that still holds other files: name them, and why they stay.
  const left = [...blocked.entries()];
  if (left.length > 0) {
    const [slot, paths] = left[0]!;
    const names = paths.slice(0, 10).map((p) => `${p} (${reasonOf(p, why)})`);
    const more = paths.length > 10 ? ` and ${paths.length - 10} more` : '';
    const others = left.length > 1 ? ` (and ${left.length - 1} more such folder(s))` : '';
    throw new DiffshipError(
      'E_UNSAFE',
      `${slot} is a folder on the target where the release now has a file${others}: the release empties it, but it also holds ${paths.length} file(s) this deploy does not delete: ${names.join(', ')}${more} — move or remove them on the target, then deploy again`,
    );
  }
  const folders = slots.filter((p) => !emptied.has(p));
  if (folders.length === 0) return;
  const list = folders.slice(0, 10).join(', ');
  const more = folders.length > 10 ? ` and ${folders.length - 10} more` : '';
  throw new DiffshipError(
    'E_UNSAFE',
    `${folders.length} folder(s) on the target where the release has a file: ${list}${more} — move or remove each folder on the target (diffship removes a folder only when the release itself empties it), then deploy again`,
  );
}

function reasonOf(path: string, why: SlotContext): string {
  if (why.kept.has(path)) return 'kept by an earlier additive deploy after its release deleted it';
  if (why.isProtected(path)) return 'protected';
  return 'not shipped by diffship';
}

/**
 * The slots with a release's delete below them and no entry below them that the plan leaves
 * (`emptied`), and the slots the release empties but where entries stay (`blocked`: slot → entries).
 */
function emptiedFolders(
  slots: ReadonlySet<string>,
  deletes: readonly DeleteOp[],
  observed: ReadonlyMap<string, Observed>,
): { emptied: Set<string>; blocked: Map<string, string[]> } {
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
  const blocked = new Map<string, string[]>();
  for (const [path, obs] of observed) {
    if (obs.type === null || obs.type === 'dir' || deleted.has(path)) continue;
    const slot = slotOf(path);
    if (slot === null || !emptied.has(slot)) continue;
    const list = blocked.get(slot) ?? [];
    list.push(path);
    blocked.set(slot, list);
  }
  for (const slot of blocked.keys()) emptied.delete(slot);
  for (const list of blocked.values()) list.sort();
  return { emptied, blocked };
}
