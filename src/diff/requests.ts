/**
 * The git requests a diff makes, built in one place: the diff engine
 * (diff-releases.ts, git.ts) and the CLI launcher's early start
 * (src/cli/diff-early.ts) must ask for exactly the same thing, byte for byte,
 * or the processes started early go unused (see early-git.ts).
 */
import { IGNORE_FILE } from './ignore.js';

/**
 * How every `git cat-file` diffship starts reads (`git -c` options, before the command). A
 * blob of 1 MiB or more streams out of its pack: git 2.39 reads any blob under
 * core.bigFileThreshold (512 MiB by default) whole into memory before it writes a byte, so a
 * 200 MiB file cost its cat-file 404 MiB. And the pack is mapped 4 MiB at a time, at most 16
 * MiB at once, instead of whole (a 500,000-file release's 87 MB pack stayed in cat-file's
 * memory to the end). Neither made a release's reads in tree order slower (a clone's pack holds
 * them about in that order); 100,000 blobs read in random order took 1.7 -> 2.4 s, pages
 * mapped again (bench/README.md). A blob stored as a delta is still rebuilt in memory: git
 * cannot stream one. The bases it rebuilds deltas from are cached up to 64 MiB, not git's 96:
 * a big release's reads fill the cache whatever its size (a 500,000-file first deploy's
 * cat-file peaked at 157 MiB, over the deploy's 150; 64 MiB: 114). Below 48 MiB, reads of
 * long delta chains fall off a cliff (8-32 MiB: 10x slower on a repository with chains of 50).
 */
export const CAT_FILE_CONFIG: readonly string[] = [
  '-c',
  'core.bigFileThreshold=1m',
  '-c',
  'core.packedGitWindowSize=4m',
  '-c',
  'core.packedGitLimit=16m',
  '-c',
  'core.deltaBaseCacheLimit=64m',
];

/** `git cat-file --batch`: answers the lookups (refs, the ignore file) and reads blobs in bulk. */
export const CAT_FILE_BATCH: readonly string[] = [...CAT_FILE_CONFIG, 'cat-file', '--batch'];

/** What `cat-file --batch` reads: one name a line. */
export const batchInput = (names: readonly string[]): string => names.map((n) => `${n}\n`).join('');

export const commitOf = (ref: string): string => `${ref}^{commit}`;
export const ignorePath = (prefix: string): string => `${prefix}${IGNORE_FILE}`;

/**
 * The first lookup of a diff: the commit of each ref (`to` first), and the
 * ignore file, addressed through the `to` ref itself (`<ref>^{commit}:<path>`).
 */
export function refLookups(refs: readonly string[], prefix: string): string[] {
  return [...refs.map(commitOf), `${commitOf(refs[0]!)}:${ignorePath(prefix)}`];
}

/** The tree id on a commit object's first line (`tree <id>`), if it is there. */
export function commitTree(content: Buffer): string | undefined {
  return /^tree ([0-9a-f]{40}|[0-9a-f]{64})\n/.exec(content.toString('latin1', 0, 71))?.[1];
}

export interface DiffTreeOptions {
  renames: boolean;
  /** Source prefix with trailing "/", or "" for the whole tree. */
  prefix: string;
}

/** `git diff-tree --stdin …`: compares the two trees it is then given on stdin. */
export function diffTreeArgs(opts: DiffTreeOptions): string[] {
  const args = [
    'diff-tree',
    '--stdin',
    '-r',
    '-z',
    '--raw',
    '--no-abbrev',
    '--no-ext-diff',
    '--no-relative',
    // Explicit flags: neither config nor defaults decide about renames; copies stay off.
    opts.renames ? '--find-renames' : '--no-renames',
    '--',
  ];
  // `top`: relative to the repository root whatever --repo points at; `literal`: no glob magic in the name.
  if (opts.prefix !== '') args.push(`:(top,literal)${opts.prefix}`);
  return args;
}
