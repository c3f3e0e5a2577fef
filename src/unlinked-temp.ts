/**
 * A temporary file with no name, for a child process's output: made in the OS
 * temp folder (exclusively, never through a link) and unlinked at once, so
 * nothing is left behind, even by a SIGKILL. The child writes into the
 * descriptor while this process reads it at increasing offsets as it grows:
 * unlike a pipe's 64 KiB, the child never waits for a reader busy elsewhere
 * (the local walk's find: transport/local/find-stream.ts; the release check's
 * listing: diff/spooled-listing.ts).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The descriptor of a new, already unlinked file named after `prefix` while it had a name.
 * @throws where the temp folder cannot hold one (the caller falls back to a pipe)
 */
export function unlinkedTempFile(prefix: string): number {
  const file = join(tmpdir(), `${prefix}-${process.pid}-${randomBytes(6).toString('hex')}`);
  const { O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
  const fd = openSync(file, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    unlinkSync(file);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}
