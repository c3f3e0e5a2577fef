/**
 * Release symlinks whose text points outside the release (`../../etc/passwd`,
 * `/etc/shadow`). They are shipped as git holds them, since a link is only
 * text until something follows it; but a deploy says so, and `symlinks:
 * refuse-outside` stops such a release before any target is touched.
 */
import { posix } from 'node:path';
import { DiffshipError } from '../errors.js';
import type { SymlinkPolicy } from '../config/types.js';
import { diffWith } from '../diff/diff-releases.js';
import type { Change } from '../diff/types.js';
import type { GitObjects } from '../diff/git-objects.js';
import { SYMLINK_MODE } from '../diff/types.js';

export interface OutsideLink {
  path: string;
  target: string;
}

/** Whether the link at `path` (relative to the release root) with text `target` leaves the release. */
export function leavesRelease(path: string, target: string): boolean {
  if (target.startsWith('/')) return true;
  const resolved = posix.normalize(posix.join(posix.dirname(path), target));
  return resolved === '..' || resolved.startsWith('../');
}

/** One line naming the links (the first five), for warnings and errors. */
export function describeOutsideLinks(links: readonly OutsideLink[]): string {
  const shown = links.slice(0, 5).map((l) => `${l.path} -> ${l.target}`);
  const more = links.length > 5 ? ` and ${links.length - 5} more` : '';
  return `${links.length} symlink(s) of the release point outside it: ${shown.join(', ')}${more}`;
}

export interface ReleaseFilters {
  repo: string;
  source?: string;
  include?: readonly string[];
  exclude?: readonly string[];
}

/** The symlinks of release `to` (as filtered for shipping) that point outside it. */
export async function findOutsideLinks(
  objects: GitObjects,
  to: string,
  filters: ReleaseFilters,
  /** The release's symlinks when the caller has them already (one git process, not two). */
  links?: () => Promise<readonly Change[]>,
): Promise<OutsideLink[]> {
  const changes = links
    ? await links()
    : (await diffWith(objects, { ...filters, from: null, to, renames: false })).changes;
  const found: OutsideLink[] = [];
  for (const c of changes) {
    if (c.status === 'deleted' || c.mode !== SYMLINK_MODE) continue;
    const target = (await objects.readBlob(c.blob)).toString('utf8');
    if (leavesRelease(c.path, target)) found.push({ path: c.path, target });
  }
  return found;
}

/** `symlinks: refuse-outside` and such links: E_CONFIG (exit 2), before any target is touched. */
export function checkOutsideLinks(links: readonly OutsideLink[], policy: SymlinkPolicy | undefined): void {
  if (links.length === 0 || policy !== 'refuse-outside') return;
  throw new DiffshipError(
    'E_CONFIG',
    `${describeOutsideLinks(links)} — refused by symlinks: refuse-outside; nothing was written. Make the links relative inside the release, exclude them, or set symlinks: allow to ship them`,
  );
}
