// fsync off the event loop. One fsync waits for the file system's journal to
// commit (milliseconds on a busy disk); a synchronous one stalls every other
// target of a rollout for that long, while fsyncs from libuv's threads overlap
// and the journal commits them together.
import * as fsSync from 'node:fs';

/** fsync(2) on an open descriptor, in the threadpool. */
export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsSync.fsync(fd, (error) => (error ? reject(error) : resolve())));
}

/**
 * fsync(2) of the file at `p`, if it can be opened (else false: removed or renamed since). The
 * open and close are made here, on the event loop: opening an existing file to read and closing
 * a descriptor that wrote nothing do not wait for the journal, and in the threadpool they were
 * two more round trips per file, one after another, before and after the one that waits.
 */
export async function fsyncPath(p: string): Promise<boolean> {
  let fd: number;
  try {
    fd = fsSync.openSync(p, 'r');
  } catch {
    return false;
  }
  try {
    await fsyncFd(fd);
  } finally {
    fsSync.closeSync(fd);
  }
  return true;
}
