/**
 * A release that turns a folder into a file (`x/y` → `x`, also `git mv x/y x`) or a file into a
 * folder (`x` → `x/y`). Both old and new cannot stand at once, so the old side goes even in
 * additive mode (which otherwise keeps what the release deletes): the file the release puts
 * there needs the slot. Pure: which paths of the diff take part in such a swap.
 */
import type { Change } from '../diff/types.js';
import { SUBMODULE_MODE } from '../diff/types.js';
import type { Observed } from './types.js';

export interface TypeSwaps {
  /** Does this path (deleted or renamed away by the diff) stand in the way of a path the release writes? */
  inTheWay(path: string): boolean;
  /** A written path where the target holds a folder this deploy's diff empties (no drift: the release had one). */
  emptiedFolder(path: string): boolean;
}

const NONE: TypeSwaps = { inTheWay: () => false, emptiedFolder: () => false };

/** The swaps among the diff's changes, given what the target holds at the written paths. */
export function typeSwaps(
  changes: readonly Change[],
  observe: (path: string) => Observed,
  isProtected: (path: string) => boolean,
): TypeSwaps {
  const gone: string[] = [];
  for (const c of changes) {
    if (c.status === 'deleted') gone.push(c.path);
    else if (c.status === 'renamed') gone.push(c.oldPath);
  }
  // Nothing leaves (a first deploy): no array of the 500,000 written paths.
  if (gone.length === 0) return NONE;
  const written: string[] = [];
  for (const c of changes) if (c.status !== 'deleted' && c.mode !== SUBMODULE_MODE) written.push(c.path);
  if (written.length === 0) return NONE;
  // Folders the release writes below (`x` for `x/y`), and written paths the target holds as folders.
  const parents = new Set<string>();
  for (const p of written)
    for (let i = p.indexOf('/'); i > 0; i = p.indexOf('/', i + 1)) parents.add(p.slice(0, i));
  const slots = new Set(written.filter((p) => !isProtected(p) && observe(p).type === 'dir'));
  const under = (p: string, dirs: ReadonlySet<string>) => {
    for (let i = p.indexOf('/'); i > 0; i = p.indexOf('/', i + 1))
      if (dirs.has(p.slice(0, i))) return p.slice(0, i);
    return null;
  };
  const emptied = new Set<string>();
  for (const p of gone) {
    const slot = slots.size > 0 ? under(p, slots) : null;
    if (slot !== null) emptied.add(slot);
  }
  return {
    inTheWay: (p) => parents.has(p) || (slots.size > 0 && under(p, slots) !== null),
    emptiedFolder: (p) => emptied.has(p),
  };
}
