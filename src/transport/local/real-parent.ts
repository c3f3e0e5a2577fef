// The no-follow re-check the local transport makes right before every call that changes
// the target: a folder on the path that became a symlink is caught here (E_UNSAFE upstream).
import * as fsSync from 'node:fs';
import * as path from 'node:path';

/**
 * Right before a call that changes `absolute`: its folder resolves to itself,
 * so no component between the root and it is a link (realpath(3), one call).
 * The root was resolved at connect. What remains is the few microseconds
 * between this look and the call itself (Node has no renameat/openat).
 */
export function checkRealParent(absolute: string): string | null {
  const parent = path.dirname(absolute);
  let real: string;
  try {
    real = fsSync.realpathSync.native(parent);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null; // the call fails on its own
    throw error;
  }
  return real === parent ? null : parent;
}
