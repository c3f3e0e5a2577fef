/**
 * A change set from the manifest instead of the recorded commit: what the target
 * was given (the manifest) against the new release's files. Pure. No renames
 * (there is no history to find them in): a moved file is a delete and an add.
 */
import type { Change, DiffResult } from '../diff/types.js';
import type { Manifest, ManifestEntry, ManifestMode } from './manifest-types.js';
import { byteOrder } from '../byte-order.js';
import type { ReleaseFile } from './plan.js';
import type { ManifestDelta } from './types.js';

/**
 * @param recorded the release id the state names (kept as `from`, so drift is still checked)
 * @param release every file of the new release, after source/include/exclude
 */
export function diffFromManifest(
  manifest: Manifest,
  release: ReadonlyMap<string, ReleaseFile>,
  recorded: string,
  to: string,
  source: string,
): DiffResult {
  const shipped = new Map(manifest.files.map((f) => [f.path, f]));
  const changes: Change[] = [];
  for (const [path, file] of release) {
    const old = shipped.get(path);
    if (!old) changes.push({ status: 'added', path, mode: file.mode, blob: file.blob });
    else if (old.blob !== file.blob || old.mode !== file.mode)
      changes.push({
        status: 'updated',
        path,
        mode: file.mode,
        blob: file.blob,
        oldMode: old.mode,
        oldBlob: old.blob,
      });
  }
  for (const f of manifest.files)
    if (!release.has(f.path))
      changes.push({ status: 'deleted', path: f.path, oldMode: f.mode, oldBlob: f.blob });
  changes.sort((a, b) => byteOrder(a.path, b.path));
  const counts = { added: 0, updated: 0, deleted: 0, renamed: 0 };
  for (const c of changes) counts[c.status]++;
  return { from: recorded, to, source, changes, counts };
}

/** Why a plan came from the manifest: asked for, the commit is gone, or commit and built folder meet. */
export type BasisReason = 'forced' | 'missing' | 'kind';

/** The plan's and report's words for a deploy planned this way. */
export function manifestNote(recorded: string, why: BasisReason): string {
  if (why === 'forced')
    return `planned from the manifest (--from-manifest): release ${recorded} was not used`;
  if (why === 'kind')
    return `planned from the manifest: release ${recorded} and this one are not both commits or both built folders`;
  return `planned from the manifest: release ${recorded} is not in this repository`;
}

/**
 * The next manifest listing from the last one and a commit-to-commit change
 * set (cheaper than listing the whole release again). Pure.
 */
export function applyChanges(files: readonly ManifestEntry[], diff: DiffResult): ManifestEntry[] {
  const next = new Map<string, ManifestEntry | undefined>(files.map((f) => [f.path, f]));
  applyTo(next, diff);
  return [...next.values()].filter((f) => f !== undefined).sort((a, b) => byteOrder(a.path, b.path));
}

/**
 * What a commit-to-commit change set does to the manifest, without the manifest
 * (O(changes)): the same result as `applyChanges` once merged. Pure.
 */
export function manifestDelta(diff: DiffResult): ManifestDelta {
  const touched = new Map<string, ManifestEntry | undefined>();
  applyTo(touched, diff, true);
  const set: ManifestEntry[] = [];
  const remove: string[] = [];
  for (const [path, e] of touched) {
    if (e) set.push(e);
    else remove.push(path);
  }
  return { set: set.sort((a, b) => byteOrder(a.path, b.path)), remove };
}

/**
 * Apply a change set by path. `delta`: a path gone maps to undefined (the delta
 * has no listing to delete from); else it is deleted from the listing.
 */
function applyTo(next: Map<string, ManifestEntry | undefined>, diff: DiffResult, delta = false): void {
  const drop = (path: string) => (delta ? next.set(path, undefined) : next.delete(path));
  for (const c of diff.changes) {
    if (c.status === 'deleted' || c.status === 'renamed') drop(c.status === 'renamed' ? c.oldPath : c.path);
    if (c.status !== 'deleted') {
      if (SHIPPED.includes(c.mode))
        next.set(c.path, { path: c.path, blob: c.blob, mode: c.mode as ManifestMode });
      else drop(c.path);
    }
  }
}

const SHIPPED: readonly string[] = ['100644', '100755', '120000'];
