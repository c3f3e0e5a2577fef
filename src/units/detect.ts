/**
 * Which unit a path belongs to (`units.match`). A glob such as `packages/*`
 * names one unit per match: a path whose first N segments (N = the glob's
 * segments) match belongs to the unit at those segments. A file that matches
 * by itself (`apps/*.car`) is a unit of one file. Paths matching no glob belong
 * to no unit. Pure.
 */
import { posix } from 'node:path';
import { minimatch } from 'minimatch';

export type UnitStatus = 'added' | 'updated' | 'deleted';

/** A unit and its files in one release. */
export interface UnitFiles {
  /** The unit's name: its last path segment (`packages/OrderSvc` → `OrderSvc`). */
  name: string;
  /** Its path relative to the target folder. */
  path: string;
  files: string[];
}

/** The unit path `path` belongs to, or null. */
export function unitPathOf(path: string, match: readonly string[]): string | null {
  const segments = path.split('/');
  for (const glob of match) {
    const n = glob.replace(/\/+$/, '').split('/').length;
    if (segments.length < n) continue;
    const prefix = segments.slice(0, n).join('/');
    if (minimatch(prefix, glob.replace(/\/+$/, ''), { dot: true })) return prefix;
  }
  return null;
}

const unitName = (unitPath: string): string => posix.basename(unitPath);

/** Group the files of a release into units (sorted by path); files of no unit are left out. */
export function groupUnits(files: readonly string[], match: readonly string[]): Map<string, UnitFiles> {
  const units = new Map<string, UnitFiles>();
  for (const file of files) {
    const path = unitPathOf(file, match);
    if (path === null) continue;
    let u = units.get(path);
    if (!u) units.set(path, (u = { name: unitName(path), path, files: [] }));
    u.files.push(file);
  }
  return new Map([...units.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
