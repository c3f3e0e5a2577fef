/**
 * Authoritative mode: the target ends up holding exactly the release. Files the
 * diff does not name are strays (deleted) or differ from the release (drift, repaired).
 */
import type { DiffResult } from '../diff/types.js';
import { SUBMODULE_MODE } from '../diff/types.js';
import { isDrifted } from './drift.js';
import {
  addWrites,
  holds,
  inStateDir,
  type PlanContext,
  type PlanDraft,
  type ReleaseFile,
} from './context.js';
import type { Observed } from './types.js';
import { ObservedEntries } from './observed-entries.js';
import { strayList } from './stray-deletes.js';

/**
 * Adds strays and repairs outside the diff to `draft`. `observed`: the target's
 * entries (the whole folder, or only those the plan acts on: observe/authoritative-merge.ts
 * leaves out files in sync); `release`: the release's files, at least those among
 * `observed` and those the target lacks.
 */
export function planStraysAndRepairs(
  ctx: PlanContext,
  diff: DiffResult,
  release: ReadonlyMap<string, ReleaseFile> | undefined,
  observed: ReadonlyMap<string, Observed>,
  draft: PlanDraft,
): void {
  const { recorded, stateDir, isProtected } = ctx;
  const { deletes, drift, changes } = draft;
  if (!release) throw new Error('authoritative plan needs the release listing');
  // Iterated, not mapped: a listing's writes (listing-view.ts) are read by index through a key string.
  const touched = new Set<string>();
  for (const w of draft.writes) touched.add(w.path);
  for (const d of deletes) touched.add(d.path);
  for (const c of diff.changes) {
    touched.add(c.path);
    if (c.status === 'renamed') touched.add(c.oldPath);
  }
  // One entry: a folder in a file's slot, a stray, or a repair.
  const planOne = (path: string, obs: Observed): void => {
    if (touched.has(path) || obs.type === null || inStateDir(path, stateDir)) return;
    const file = release.get(path);
    if (obs.type === 'dir') {
      // A folder where the release has a file: the file is missing (drift); its write is refused
      // by the planner (folder-slots.ts) rather than skipped, so no deploy reports it shipped.
      if (file === undefined || file.mode === SUBMODULE_MODE || isProtected(path)) return;
      if (recorded !== null) drift.push({ path, expected: file.blob, actual: null });
      addWrites(draft, [{ path, mode: file.mode, blob: file.blob }]);
      return;
    }
    if (file === undefined) {
      // A stray: on the target, not in the release.
      if (isProtected(path)) return;
      // Never in the diff's own deleted list: those paths are all in `touched`.
      changes.deleted.push(path);
      deletes.push({ path, reason: 'stray' });
    } else if (file.mode !== SUBMODULE_MODE && !holds(obs, file.blob, file.mode) && !isProtected(path)) {
      // Unchanged by the diff but different on the target: drift (or a repair without a record).
      if (recorded !== null && isDrifted(obs, file.blob))
        drift.push({ path, expected: file.blob, actual: obs.blob });
      addWrites(draft, [{ path, mode: file.mode, blob: file.blob }]);
    }
  };
  const apart = observed instanceof ObservedEntries ? observed : null;
  for (const [path, obs] of apart ? apart.others() : observed) planOne(path, obs);
  // The strays kept apart: deleted as they are listed (no item each), unless the rules above say otherwise.
  if (apart) {
    const strays = apart.strays();
    const left = (path: string) =>
      !touched.has(path) && !inStateDir(path, stateDir) && !release.has(path) && !isProtected(path);
    const kept = strayList(strays.length);
    for (const path of strays)
      if (left(path)) kept.push(path);
      else planOne(path, apart.stray);
    draft.strays = kept.done();
  }
  // Release files the target lacks altogether (deleted by hand) are drift too.
  for (const [path, file] of release) {
    if (touched.has(path) || observed.has(path) || file.mode === SUBMODULE_MODE || isProtected(path))
      continue;
    if (recorded !== null) drift.push({ path, expected: file.blob, actual: null });
    addWrites(draft, [{ path, mode: file.mode, blob: file.blob }]);
  }
}
