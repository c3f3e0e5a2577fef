/** A commit's deletes, after its renames: the paths the release no longer has, then their emptied folders. */
import { forEachLimit } from '../pool.js';
import type { Transport } from '../transport/transport.js';
import { pruneEmptyDirs } from './backup.js';
import { byDepthDeepestFirst, parentsOf } from './safe-path.js';

/**
 * The plan's deletes but those `replaced` (gone already: files in the way of new folders).
 * Children before parents, a depth at a time: within one depth no path holds another, so
 * their looks go together, then their removals (over SSH two waits a depth, not two a file).
 * A file already gone is fine. Returns how many paths were asked to go.
 */
export async function commitDeletes(
  t: Transport,
  planned: readonly { readonly path: string }[],
  replaced: ReadonlySet<string>,
  lanes: number,
): Promise<number> {
  const deletes = planned.map((d) => d.path).filter((p) => !replaced.has(p));
  for (const level of byDepthDeepestFirst(deletes))
    await forEachLimit(level, lanes, async (p) => {
      const e = await t.lstat(p);
      if (e?.type === 'dir') await t.removeTree(p);
      else if (e) await t.unlink(p);
    });
  await pruneEmptyDirs(t, deletes.flatMap(parentsOf));
  return deletes.length;
}
