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
 * checkout that does not hold the release (another commit) stops being tried once most of its
 * first files missed. The checkout is the working tree's top (worktreeTop), whatever folder in
 * it `--repo` names; a bare repository has none.
 */
import { closeSync, lstatSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gitBlobId, type HashAlgorithm } from './blob.js';
import { openRegularSync } from '../transport/local/open-regular.js';
import { readSyncUpTo } from '../transport/local/small-file-io.js';
import { runGit } from './git.js';

/** worktreeTop's answers, by repository folder. */
const tops = new Map<string, Promise<string | null>>();

/**
 * The top folder of `repo`'s working tree, or null (a bare repository, or git cannot say):
 * `--repo` may name a folder inside it (git finds the repository upward, and a release's paths
 * are from its top). Asked once per repository folder in a run (a fleet's SSH targets share it).
 */
export function worktreeTop(repo: string): Promise<string | null> {
  let top = tops.get(repo);
  if (top === undefined) {
    const seen = worktreeTopSeen(repo);
    top =
      seen !== null
        ? Promise.resolve(seen)
        : runGit(repo, ['rev-parse', '--show-toplevel']).then(
            ({ stdout }) => stdout.toString('utf8').replace(/\n$/, '') || null,
            () => null,
          );
    tops.set(repo, top);
  }
  return top;
}

/** Variables that move git's repository or working tree away from where `.git` is found. */
const RELOCATING = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_COMMON_DIR'];

/**
 * `repo` itself when it is a working tree's top (`--repo` names its checkout, as usual): a
 * `.git` folder holding HEAD, or a `.git` file (a linked worktree's, a submodule's), and no
 * variable that moves either. Else null: git says (`rev-parse`, a fork of this whole process on
 * the main thread, ~20 ms on the SSH update's critical path). A guess that is wrong all the same
 * (a `core.worktree` elsewhere) costs only misses: every file read is checked against its blob id.
 */
export function worktreeTopSeen(repo: string): string | null {
  if (RELOCATING.some((name) => process.env[name] !== undefined)) return null;
  const dotGit = join(repo, '.git');
  try {
    const kind = lstatSync(dotGit);
    if (kind.isFile() || (kind.isDirectory() && lstatSync(join(dotGit, 'HEAD')).isFile()))
      return resolve(repo);
  } catch {
    // Nothing there: a folder inside the working tree, or a bare repository.
  }
  return null;
}

/** Files tried before the checkout may be given up on, and the hits it needs after (more than half). */
const TRY_FIRST = 64;

/** Where a file's bytes may be read: `buffer` from `at` on, when they fit (`at` then moves past a match). */
export interface ReadInto {
  buffer: Buffer;
  at: number;
}

/**
 * The bytes of `file` when it is a regular file of at most `max` bytes whose git blob id is
 * `blob`; null otherwise (including any error: the caller reads the blob from git). Read into
 * `into` (a view of it is returned, and `into.at` moves past it) when they fit there, else into
 * a buffer of their own.
 */
export function readMatchingFile(
  file: string,
  blob: string,
  max: number,
  algorithm: HashAlgorithm,
  into?: ReadInto,
): Buffer | null {
  // Opened as a target's files are: never through a link at its name, never waiting on a FIFO.
  let opened: { fd: number; size: number };
  try {
    opened = openRegularSync(file);
  } catch {
    return null;
  }
  try {
    if (opened.size > max) return null;
    // Fewer bytes when it shrank while read: then the id differs.
    const fits = into !== undefined && into.at + opened.size <= into.buffer.length;
    const bytes = fits
      ? readSyncUpTo(opened.fd, opened.size, into.buffer.subarray(into.at, into.at + opened.size))
      : readSyncUpTo(opened.fd, opened.size);
    if (gitBlobId(bytes, algorithm) !== blob) return null;
    if (fits) into.at += bytes.length;
    return bytes;
  } catch {
    return null;
  } finally {
    closeSync(opened.fd);
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
  read(path: string, blob: string, into?: ReadInto): Buffer | null {
    if (!this.promising) return null;
    this.tried++;
    const bytes = readMatchingFile(join(this.root, path), blob, this.max, this.algorithm, into);
    if (bytes !== null) this.hits++;
    return bytes;
  }
}
