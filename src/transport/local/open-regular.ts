// A target's file opened to read, never through a link at its name (O_NOFOLLOW), and only a
// regular file: a FIFO planted at a state file's path would block open(2) until a writer
// came (O_NONBLOCK: it opens at once and is refused), a device would read for ever.
import * as fsSync from 'node:fs';
import { constants } from 'node:fs';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = constants;

/** Flags to open a file to read as openRegularSync does (the promise API: fstat it, then requireRegular). */
export const READ_REGULAR = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;

/** The descriptor of the regular file `p` and its size (the caller closes it); ELOOP when `p` is a link. */
export function openRegularSync(p: string): { fd: number; size: number } {
  const fd = fsSync.openSync(p, READ_REGULAR);
  try {
    const stats = fsSync.fstatSync(fd);
    requireRegular(stats);
    return { fd, size: stats.size };
  } catch (error) {
    fsSync.closeSync(fd);
    throw error;
  }
}

/** Throws unless `stats` are a regular file's: the read fails naming what it found. */
export function requireRegular(stats: { isFile(): boolean; isDirectory(): boolean }): void {
  if (stats.isFile()) return;
  throw new Error(
    stats.isDirectory()
      ? 'it is a folder, not a file'
      : 'it is not a regular file (a FIFO, a socket or a device), and diffship reads only files',
  );
}
