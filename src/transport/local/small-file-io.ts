// Whole-file reads and writes of the local transport, never through a link at the last
// component (O_NOFOLLOW): small files in synchronous calls, big ones through the promise API.
import * as fsSync from 'node:fs';
import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import type { WriteOptions } from '../transport.js';
import { fsyncFd } from './fsync-fd.js';
import { severalTargetsOpen } from './open-targets.js';

const { O_WRONLY, O_RDONLY, O_CREAT, O_TRUNC, O_NOFOLLOW } = constants;

/** Files up to this size are read and written with synchronous calls (see LocalTransport.lstat). */
export const SYNC_MAX_BYTES = 256 * 1024;

/** The content of the file `p`; ELOOP when `p` is a symlink. */
export async function readFileNoFollow(p: string): Promise<Buffer> {
  // State, lock and journal files are small: read them in one synchronous go.
  const fd = fsSync.openSync(p, O_RDONLY | O_NOFOLLOW);
  try {
    if (fsSync.fstatSync(fd).size <= SYNC_MAX_BYTES) return fsSync.readFileSync(fd);
  } finally {
    fsSync.closeSync(fd);
  }
  const handle = await fs.open(p, O_RDONLY | O_NOFOLLOW);
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
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
