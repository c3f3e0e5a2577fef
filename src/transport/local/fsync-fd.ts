// fsync off the event loop. One fsync waits for the file system's journal to
// commit (milliseconds on a busy disk); a synchronous one stalls every other
// target of a rollout for that long, while fsyncs from libuv's threads overlap
// and the journal commits them together.
import * as fsSync from 'node:fs';

/** fsync(2) on an open descriptor, in the threadpool. */
export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsSync.fsync(fd, (error) => (error ? reject(error) : resolve())));
}
