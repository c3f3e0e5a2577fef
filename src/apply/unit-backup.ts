/**
 * The pure half of a per-unit rollback (docs/units.md#when-a-unit-fails): which of a
 * deploy's backup entries belong to the units going back, and the state the target
 * records afterwards — the new release, except those units, listed as held back with
 * their old files in the manifest (so the state says exactly what the target holds).
 */
import { byteOrder } from '../byte-order.js';
import { MANIFEST_VERSION } from '../plan/manifest-types.js';
import type { BackupManifest } from './backup.js';
import type { HeldUnit, TargetState } from './state.js';

/** Whether `path` is the unit at one of `units` or inside it. */
export function inUnits(path: string, units: readonly string[]): boolean {
  return units.some((u) => path === u || path.startsWith(`${u}/`));
}

/** The part of a backup under the given unit paths: what restoring only those units puts back. */
export function unitBackup(m: BackupManifest, units: readonly string[]): BackupManifest {
  return {
    ...m,
    entries: m.entries.filter((e) => inUnits(e.path, units)),
    createdDirs: m.createdDirs.filter((d) => inUnits(d, units)),
    ...(m.removedDirs ? { removedDirs: m.removedDirs.filter((d) => inUnits(d, units)) } : {}),
  };
}

/**
 * The state after `units` went back to their files of `previous` (the state the deploy
 * replaced, from its backup). The manifest takes the units' entries from `previous`
 * (without stats: the restored files are new inodes); when the previous state had no
 * manifest the files are unknown, and so is the manifest (null: the next deploy compares
 * the whole release with the target).
 */
export function heldBackState(
  state: TargetState,
  previous: TargetState | null,
  units: ReadonlyArray<{ name: string; path: string }>,
): TargetState {
  const paths = units.map((u) => u.path);
  const previousFiles = previous === null ? [] : (previous.manifest?.files ?? null);
  let manifest: TargetState['manifest'] = null;
  if (state.manifest && previousFiles !== null) {
    const old = previousFiles
      .filter((f) => inUnits(f.path, paths))
      .map(({ path, blob, mode }) => ({ path, blob, mode }));
    const files = [...state.manifest.files.filter((f) => !inUnits(f.path, paths)), ...old];
    manifest = { version: MANIFEST_VERSION, files: files.sort((a, b) => byteOrder(a.path, b.path)) };
  }
  // A unit already held back before this deploy keeps the release its files come from.
  const releaseOf = (path: string) =>
    previous?.heldBack?.find((h) => h.path === path)?.release ?? previous?.release ?? null;
  const held: HeldUnit[] = [
    ...(state.heldBack ?? []).filter((h) => !paths.includes(h.path)),
    ...units.map((u) => ({ name: u.name, path: u.path, release: releaseOf(u.path) })),
  ];
  return { ...state, manifest, heldBack: held.sort((a, b) => byteOrder(a.path, b.path)) };
}
