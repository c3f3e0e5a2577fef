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
function checkRealParent(absolute: string): string | null {
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

/** Folders remembered at most; past it the memory starts over (a re-check costs one realpath). */
const REMEMBER_MAX = 20_000;

/**
 * `checkRealParent` for many calls into the same folders (a 50,000-file deploy
 * writes 200 files per folder, three calls each). realpath(3) reads every
 * component of the path; a folder it found real is remembered by its identity
 * (device, inode, birth time) and later re-checked with one stat that follows
 * the path as the call will: the same folder object means the call lands where
 * the full check said. A folder swapped for a link to anywhere else (the attack
 * of issue 10), removed or re-created has another identity and gets the full
 * check again. A link to the very same folder object (the folder renamed away
 * and linked back) passes: the call then lands in the folder diffship checked.
 *
 * A new folder inside a remembered one needs no realpath: the folder above
 * still resolves to itself (its one stat), so this one does when its own name
 * is not a link (one lstat). A deploy makes a dozen folders in its state
 * folder; each realpath of a deep path costs a readlink per component.
 */
export class RealParents {
  private readonly known = new Map<string, Identity>();

  /** The target's root, just resolved by realpath (connect): real as of now. */
  trust(root: string): void {
    const id = identity(root);
    if (id !== null) this.remember(root, id);
  }

  /** null: the folder of `absolute` is real; else that folder (a link is on its path). */
  check(absolute: string): string | null {
    const parent = path.dirname(absolute);
    return this.real(parent) ? null : parent;
  }

  /** Whether `dir` resolves to itself (a missing one does: the call fails on its own). */
  private real(dir: string): boolean {
    const remembered = this.known.get(dir);
    if (remembered !== undefined) {
      if (same(identity(dir), remembered)) return true;
      this.known.delete(dir);
    }
    const up = path.dirname(dir);
    if (up !== dir && this.known.has(up)) {
      if (!this.real(up)) return false;
      // The folder above resolves to itself, so this one does unless its own name is a link.
      const own = lstatOrNull(dir);
      if (own?.isSymbolicLink()) return false;
      if (own?.isDirectory()) this.remember(dir, { dev: own.dev, ino: own.ino, birth: own.birthtimeNs });
      return true;
    }
    // Identity taken on both sides of the full check: a swap in between is not remembered.
    const before = identity(dir);
    const real = checkRealParent(path.join(dir, 'x')) === null;
    if (real && before !== null && same(identity(dir), before)) this.remember(dir, before);
    return real;
  }

  private remember(dir: string, id: Identity): void {
    if (this.known.size >= REMEMBER_MAX) this.known.clear();
    this.known.set(dir, id);
  }
}

/** `dir`'s own entry, never followed; null when it or a folder above is missing. */
function lstatOrNull(dir: string): fsSync.BigIntStats | null {
  try {
    return fsSync.lstatSync(dir, { bigint: true, throwIfNoEntry: false }) ?? null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return null; // the call fails on its own
    throw error;
  }
}

/** A folder object: 64-bit inode numbers need bigint; birth time tells a reused inode apart. */
interface Identity {
  dev: bigint;
  ino: bigint;
  birth: bigint;
}

/** What the path resolves to (links followed, as the call will): null when missing. */
function identity(folder: string): Identity | null {
  const s = fsSync.statSync(folder, { bigint: true, throwIfNoEntry: false });
  if (!s?.isDirectory()) return null;
  return { dev: s.dev, ino: s.ino, birth: s.birthtimeNs };
}

function same(a: Identity | null, b: Identity): boolean {
  return a !== null && a.dev === b.dev && a.ino === b.ino && a.birth === b.birth;
}
