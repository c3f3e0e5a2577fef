/**
 * A commit's renames of staged files over their paths, and the exact stats of the files it
 * wrote, which the next manifest records (step 5). Where the transport takes both in one go
 * (renameAllThenStat: over SSH the renames, then the stats, sent in one turn), the deploy waits
 * for the host once, not once for the renames and again for the stats. The folders a deploy
 * creates, staged whole (staged-tree.ts), go first in the same turn: a first deploy's commit
 * waits once for its folders, its files and their stats, not twice.
 */
import { forEachLimit } from '../pool.js';
import type { FileStat } from '../plan/manifest-types.js';
import type { Transport } from '../transport/transport.js';

/** The most renames sent in one go (their records held in the outbox together); beyond, in lanes. */
const AT_ONCE = 4096;

/**
 * Rename the `folders` (a staged tree's root over its path), then each staged file
 * (`${staging}/${i}`) over its path, but those `skip` says were placed otherwise, calling
 * `onRenamed` after each file. Returns the exact stats of every written path taken once all
 * were renamed, where the transport took them together (`withStats`, up to AT_ONCE files);
 * else null: the manifest stats the files itself. No folder holds another or a file renamed
 * here (a created folder comes whole, with every file in it), so the order between them is free.
 */
export async function renameStaged(
  t: Transport,
  writes: readonly { readonly path: string }[],
  o: {
    staging: string;
    skip: (i: number) => boolean;
    lanes: number;
    withStats: boolean;
    folders?: ReadonlyArray<readonly [string, string]>;
  },
  onRenamed: () => void,
): Promise<Map<string, FileStat | null> | null> {
  const folders = o.folders ?? [];
  if (t.renameAllThenStat && writes.length <= AT_ONCE) {
    const pairs: Array<readonly [string, string]> = [...folders];
    const paths: string[] = [];
    writes.forEach((w, i) => {
      paths.push(w.path);
      if (!o.skip(i)) pairs.push([`${o.staging}/${i}`, w.path]);
    });
    const done = pairs.length > 0 ? await t.renameAllThenStat(pairs, o.withStats ? paths : []) : null;
    if (done !== null) {
      for (let i = folders.length; i < pairs.length; i++) onRenamed();
      return o.withStats ? done.stats : null;
    }
  }
  await forEachLimit(folders, o.lanes, ([from, to]) => t.rename(from, to));
  // A listing's writes (a first deploy's 500,000) are read one by one: no array of their paths.
  await forEachLimit(writes, o.lanes, async (w, i) => {
    if (o.skip(i)) return;
    await t.rename(`${o.staging}/${i}`, w.path);
    onRenamed();
  });
  return null;
}
