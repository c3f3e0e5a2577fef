/**
 * A release's small files read from the repository's checkout instead of git, when the
 * checkout holds them: each file's bytes are hashed as git names a blob and used only when the
 * id is the one the release's tree gives (anything else, git reads as before). The checkout a
 * CI job deploys from usually is the release, and a file read is cheaper than git's reading
 * of a deltified pack: an SSH first deploy of 20,000 files spent ~1 s of its 2-core machine's
 * CPU in `git cat-file` (chains of deltas), on the deploy's critical path.
 *
 * Never trusted for content: a file edited since the checkout, a line-ending or smudge filter,
 * a link, a missing file or any other difference is a miss, and the blob comes from git. A
 * checkout that does not hold the release (another commit, a bare repository, a subfolder given
 * as the repository) stops being tried once most of its first files missed.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { gitBlobId, type HashAlgorithm } from './blob.js';

/** Files tried before the checkout may be given up on, and the hits it needs after (more than half). */
const TRY_FIRST = 64;

/** Open flags: never through a link at the end, never waiting on a FIFO's writer. */
const OPEN = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * The bytes of `file` when it is a regular file of at most `max` bytes whose git blob id is
 * `blob`; null otherwise (including any error: the caller reads the blob from git).
 */
export function readMatchingFile(
  file: string,
  blob: string,
  max: number,
  algorithm: HashAlgorithm,
): Buffer | null {
  let fd = -1;
  try {
    fd = openSync(file, OPEN);
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size > max) return null;
    const bytes = Buffer.allocUnsafe(stat.size);
    for (let at = 0; at < bytes.length;) {
      const n = readSync(fd, bytes, at, bytes.length - at, at);
      if (n === 0) return null; // shrunk while read: a miss
      at += n;
    }
    return gitBlobId(bytes, algorithm) === blob ? bytes : null;
  } catch {
    return null;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** Reads a release's files from the checkout at `root` (the repository folder and the source folder). */
export class CheckoutFiles {
  private tried = 0;
  private hits = 0;

  constructor(
    private readonly root: string,
    private readonly max: number,
    private readonly algorithm: HashAlgorithm,
  ) {}

  /** Still worth trying: the first files, then as long as more than half of those tried were there. */
  get promising(): boolean {
    return this.tried < TRY_FIRST || this.hits * 2 > this.tried;
  }

  /** The release file at `path` (relative to the source folder) with blob `blob`, or null: ask git. */
  read(path: string, blob: string): Buffer | null {
    if (!this.promising) return null;
    this.tried++;
    const bytes = readMatchingFile(join(this.root, path), blob, this.max, this.algorithm);
    if (bytes !== null) this.hits++;
    return bytes;
  }
}
