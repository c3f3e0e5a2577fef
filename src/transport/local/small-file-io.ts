// Whole-file reads and writes of the local transport, never through a link at the last
// component (O_NOFOLLOW): small files in synchronous calls, big ones through the promise API.
import * as fsSync from 'node:fs';
import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import type { WriteOptions } from '../transport.js';
import { fsyncFd } from './fsync-fd.js';
import { severalTargetsOpen } from './open-targets.js';
import { checkSize, NO_LIMIT } from '../read-bound.js';
import { requireRegular, openRegularSync, READ_REGULAR } from './open-regular.js';

const { O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW } = constants;

/** Files up to this size are read and written with synchronous calls (see LocalTransport.lstat). */
export const SYNC_MAX_BYTES = 256 * 1024;

/**
 * The content of the file `p`; ELOOP when `p` is a symlink. TooBig when it is over `limit`
 * bytes: the size is checked on the open file, before a byte is read, and the read never
 * goes past that size (Node reads a file that fstat calls empty until its end: not here).
 */
export async function readFileNoFollow(p: string, limit = NO_LIMIT): Promise<Buffer> {
  // State, lock and journal files are small: read them in one synchronous go.
  const { fd, size } = openRegularSync(p);
  try {
    checkSize(size, limit);
    if (size <= SYNC_MAX_BYTES) return readSyncUpTo(fd, size);
  } finally {
    fsSync.closeSync(fd);
  }
  const handle = await fs.open(p, READ_REGULAR);
  try {
    // Opened again: the file now there is checked as the first one was.
    const stats = await handle.stat();
    requireRegular(stats);
    const again = stats.size;
    checkSize(again, limit);
    const buffer = Buffer.allocUnsafe(again);
    let at = 0;
    for (let n = -1; at < again && n !== 0; at += n)
      ({ bytesRead: n } = await handle.read(buffer, at, again - at, at));
    return buffer.subarray(0, at);
  } finally {
    await handle.close();
  }
}

/** Up to `size` bytes of `fd` from its start (fewer when it shrank), read into `buffer` (at least `size` long). */
export function readSyncUpTo(fd: number, size: number, buffer: Buffer = Buffer.allocUnsafe(size)): Buffer {
  let at = 0;
  for (let n = -1; at < size && n !== 0; at += n) n = fsSync.readSync(fd, buffer, at, size - at, at);
  return buffer.subarray(0, at);
}

/**
 * Write `data` to `p` with exactly `mode`; fsynced unless `options.sync` is
 * false, when `p` is added to `unsynced` for a later `syncWritten()`.
 */
export async function writeFileNoFollow(
  p: string,
  data: Buffer,
  mode: number,
  options: WriteOptions,
  unsynced: { add(p: string): void },
): Promise<void> {
  // Creating a file can wait for the journal: in a fleet, in the threadpool (open-targets.ts).
  if (data.length <= SYNC_MAX_BYTES && !severalTargetsOpen()) {
    const fd = fsSync.openSync(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode & 0o7777);
    try {
      fsSync.writeFileSync(fd, data);
      fsSync.fchmodSync(fd, mode & 0o7777); // the umask trimmed the mode given to open()
      // A state or journal file is durable before its rename publishes it; the wait is off the event loop.
      if (options.sync !== false) await fsyncFd(fd);
    } finally {
      fsSync.closeSync(fd);
    }
    if (options.sync === false) unsynced.add(p);
    return;
  }
  const handle = await fs.open(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode & 0o7777);
  try {
    await handle.writeFile(data);
    // The umask trimmed the mode given to open(); set it exactly.
    await handle.chmod(mode & 0o7777);
    if (options.sync === false) unsynced.add(p);
    else await handle.sync();
  } finally {
    await handle.close();
  }
}
