/**
 * The part of a plan every mode shares: each change of the diff becomes a write,
 * a delete or a kept file, checked against protect and for drift.
 */
import type { AddedChange, Change, DiffResult } from '../diff/types.js';
import { isListedFile } from '../diff/listed-files.js';
import { indexReader, listedTable } from '../diff/listing-view.js';
import { pathView } from './path-view.js';
import { SUBMODULE_MODE } from '../diff/types.js';
import type { Mode } from '../config/types.js';
import { DiffshipError } from '../errors.js';
import { isDrifted } from './drift.js';
import { emptyDraft, holds, inStateDir, type PlanContext, type PlanDraft } from './context.js';
import type { DeleteOp, KeptFile, WriteOp } from './types.js';
import { typeSwaps } from './type-swaps.js';
import { LeadingItems } from './leading-items.js';

function rejectStateDirPaths(diff: DiffResult, stateDir: string): void {
  for (const c of diff.changes) {
    if (inStateDir(c.path, stateDir) || (c.status === 'renamed' && inStateDir(c.oldPath, stateDir))) {
      throw new DiffshipError(
        'E_UNSAFE',
        `release path ${c.path} lies inside the state folder ${stateDir} — set state-dir to a name the release does not use, or exclude it`,
      );
    }
  }
}

/** The diff's changes as operations; `kept` is what earlier additive deploys left in place. */
export function planChanges(
  ctx: PlanContext,
  diff: DiffResult,
  mode: Mode,
  kept: readonly KeptFile[],
): PlanDraft {
  rejectStateDirPaths(diff, ctx.stateDir);
  const { recorded, isProtected, observe } = ctx;
  const keptBlob = new Map(kept.map((k) => [k.path, k.blob]));
  const draft = emptyDraft();
  const { deletes, drift, protectedPaths, submodules, newKept, changes } = draft;
  // Set by expectWrite when the change it was given is to be written.
  let written = false;
  // A folder the release turns into a file (or back): the old side goes in every mode (type-swaps.ts).
  const swaps = typeSwaps(diff.changes, observe, isProtected);

  /** Expected content at a path before this deploy, per the recorded release (null: nothing). */
  // The change itself is the write record (its path, mode and blob): no second object per file.
  const expectWrite = (c: WriteOp, old?: string) => {
    const { path, blob, mode: gitMode } = c;
    if (isProtected(path)) return void protectedPaths.push(path);
    const obs = observe(path);
    if (holds(obs, blob, gitMode)) return; // already in place (a re-run, or a repaired crash)
    // Without a recorded release nothing is known about the folder: first deploys take it over.
    // The folder the release had at this path, emptied by this deploy, is not drift.
    if (recorded !== null && !(obs.type === 'dir' && swaps.emptiedFolder(path))) {
      const expected = old ?? keptBlob.get(path) ?? null;
      if (isDrifted(obs, expected)) drift.push({ path, expected, actual: obs.blob });
    }
    written = true;
  };

  const expectDelete = (path: string, oldBlob: string, reason: DeleteOp['reason']) => {
    if (isProtected(path)) return void protectedPaths.push(path);
    const obs = observe(path);
    if (obs.type === null) return; // already gone: not an error
    if (recorded !== null && isDrifted(obs, oldBlob))
      drift.push({ path, expected: oldBlob, actual: obs.blob });
    deletes.push({ path, reason });
  };

  // The added changes, for the report's list of their paths (listedPaths), and the writes: while
  // they are all of the diff's changes so far (a listing's: 500,000), counted, not copied into
  // arrays of their own. A listing is read by index from its table (no object per file).
  const all = diff.changes as Change[];
  const added = new LeadingItems(all as AddedChange[]);
  const writes = new LeadingItems(all as WriteOp[]);
  // A listing's changes read from its table (each object dropped young), not through its view.
  const each = indexReader(all);
  for (let at = 0; at < all.length; at++) {
    const c = each(at);
    written = false;
    const sub =
      (c.status !== 'deleted' && c.mode === SUBMODULE_MODE) ||
      ('oldMode' in c && c.oldMode === SUBMODULE_MODE);
    if (sub) {
      submodules.push(c.path);
      continue;
    }
    switch (c.status) {
      case 'added':
        added.take(c, at);
        expectWrite(c);
        break;
      case 'updated':
        changes.updated.push(c.path);
        expectWrite(c, c.oldBlob);
        break;
      case 'renamed':
        changes.renamed.push({ from: c.oldPath, to: c.path });
        expectWrite(c);
        if (mode === 'authoritative' || swaps.inTheWay(c.oldPath))
          expectDelete(c.oldPath, c.oldBlob, 'renamed');
        else newKept.push({ path: c.oldPath, blob: c.oldBlob });
        break;
      case 'deleted':
        changes.deleted.push(c.path);
        if (mode === 'authoritative' || swaps.inTheWay(c.path)) expectDelete(c.path, c.oldBlob, 'deleted');
        else newKept.push({ path: c.path, blob: c.oldBlob });
        break;
    }
    if (written) writes.take(c as WriteOp, at);
  }
  draft.changes.added = listedPaths(added.list());
  // Every change written, in order: the diff's own array (its view, for a listing), shared until
  // the draft adds to it (addWrites).
  draft.writes = writes.list();
  draft.sharedWrites = draft.writes === all;
  return draft;
}

/**
 * The report's added paths: a listing's (a first deploy's: its view or compact files, their
 * paths made when read) as a view that holds no string (path-view.ts); other diffs' as a plain
 * array.
 */
function listedPaths(added: readonly AddedChange[]): string[] {
  return listedTable(added) !== null || added.some(isListedFile) ? pathView(added) : added.map((c) => c.path);
}

/** Every path the diff names, old paths of renames included. */
export function changedPaths(diff: DiffResult): Set<string> {
  const changeSet = new Set<string>();
  for (const c of diff.changes) {
    changeSet.add(c.path);
    if (c.status === 'renamed') changeSet.add(c.oldPath);
  }
  return changeSet;
}
