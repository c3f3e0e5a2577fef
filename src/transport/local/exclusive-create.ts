// Creating a file only when its name is free (the lock file), published whole with
// link(2), and what "no hard links here" looks like (hardLink: LocalTransport.link).
import * as fsSync from 'node:fs';
import { constants } from 'node:fs';
import * as fsPromises from 'node:fs/promises';
import { fsyncFd } from './fsync-fd.js';
import { severalTargetsOpen } from './open-targets.js';
import { unlinkIfThere } from './remove-tree.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;

/** errno names of link(2) that mean "no hard links here". */
const NO_HARD_LINKS = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK']);

/**
 * Write `data` whole to the fresh temporary file `tmp`, then publish it as `p`
 * with link(2); false when `p` exists. `tmp` is removed in every case.
 * `sync` false: no fsync (a lock file: apply/lock.ts says why that is safe).
 */
export async function publishExclusive(
  tmp: string,
  p: string,
  data: Buffer,
  mode: number,
  sync = true,
): Promise<boolean> {
  const fd = fsSync.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode & 0o7777);
  try {
    try {
      fsSync.writeFileSync(fd, data);
      fsSync.fchmodSync(fd, mode & 0o7777);
      if (sync) await fsyncFd(fd);
    } finally {
      fsSync.closeSync(fd);
    }
    try {
      fsSync.linkSync(tmp, p);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (!NO_HARD_LINKS.has(code ?? '')) throw error;
    }
    // No hard links on this file system: the complete file is only then created with O_EXCL.
    return await createExclusiveInPlace(p, data, mode, sync);
  } finally {
    await unlinkIfThere(tmp);
  }
}

/** The fallback of createExclusive where link(2) is refused: O_EXCL, the content already known. */
async function createExclusiveInPlace(
  p: string,
  data: Buffer,
  mode: number,
  sync: boolean,
): Promise<boolean> {
  let fd: number;
  try {
    fd = fsSync.openSync(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode & 0o7777);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    fsSync.writeFileSync(fd, data);
    fsSync.fchmodSync(fd, mode & 0o7777);
    if (sync) await fsyncFd(fd);
  } catch (error) {
    fsSync.closeSync(fd);
    await unlinkIfThere(p); // never leave it empty or partial
    throw error;
  }
  fsSync.closeSync(fd);
  return true;
}

/** link(2) `from` to `to`; false where this file system has no hard link for it (the caller copies). */
export async function hardLink(from: string, to: string): Promise<boolean> {
  try {
    if (severalTargetsOpen()) await fsPromises.link(from, to);
    else fsSync.linkSync(from, to);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Another file system, or one without hard links: the caller copies instead.
    if (NO_HARD_LINKS.has(code ?? '')) return false;
    throw error;
  }
}
