/**
 * Where a deploy stages each new file. A file goes to `staging/<id>/<i>` and
 * is renamed to its path at commit, one rename per file. But a file whose
 * folder the deploy creates (a first deploy: all of them) is staged at its own
 * path inside `staging/<id>/t/`, and the topmost folders the deploy creates are
 * renamed into place whole at commit: one rename for a folder of any size.
 *
 * Why that keeps the guarantees: everything below a folder the deploy creates
 * is new (the folder did not exist), so renaming it whole puts exactly the
 * release's files there, and each such rename is atomic. The staged copies
 * are verified and made durable (one syncfs) before the journal, as any
 * staged file; the backup records every such file as "remove" and the folders
 * as created, so an undo (a failed commit, or recovery after a crash on
 * either side of the folder's rename) removes them as it removes files
 * renamed one by one, and the staging left behind goes with the staging folder.
 */
import { posix } from 'node:path';
import { indexReader } from '../diff/listing-view.js';
import { BitSet } from '../bit-set.js';

export interface Placement {
  /** Where write `i` is staged (relative to the target). */
  staged(i: number): string;
  /** True when write `i` comes into place with its topmost created folder, not by a rename of its own. */
  inTree(i: number): boolean;
  /** Folders to make inside the staging tree, shallowest first (every folder the deploy creates). */
  stagingDirs: string[];
  /** Topmost folders the deploy creates, each renamed from `tree(root)` to `root` at commit. */
  roots: string[];
  /** The staged copy of a created folder. */
  tree(dir: string): string;
}

/**
 * `createdDirs`: the folders the deploy creates, shallowest first (checkParents' `missing`).
 * `whole` false: every file is staged and renamed on its own (what units revealed whole
 * and transports where a folder costs a round trip use).
 */
export function placeWrites(
  writes: ReadonlyArray<{ path: string }>,
  createdDirs: readonly string[],
  staging: string,
  whole: boolean,
): Placement {
  const created = new Set(whole ? createdDirs : []);
  const tree = (p: string) => `${staging}/t/${p}`;
  // A bit per write, not an array of 500,000 booleans.
  const inTree = new BitSet(writes.length);
  let i = 0;
  if (created.size > 0)
    for (const w of writes) {
      if (created.has(posix.dirname(w.path))) inTree.set(i);
      i++;
    }
  // By index without a key string (a listing's writes: diff/listing-view.ts).
  const write = indexReader(writes);
  return {
    staged: (i) => (inTree.has(i) ? tree(write(i).path) : `${staging}/${i}`),
    inTree: (i) => inTree.has(i),
    stagingDirs: [...created],
    roots: [...created].filter((d) => !created.has(posix.dirname(d))),
    tree,
  };
}
