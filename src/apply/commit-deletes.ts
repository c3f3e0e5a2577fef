/** A commit's deletes, after its renames: the paths the release no longer has, then their emptied folders. */
import { forEachLimit } from '../pool.js';
import type { Transport } from '../transport/transport.js';
import { pruneEmptyDirs } from './backup.js';
import { allParents, byDepthDeepestFirst } from './safe-path.js';

/**
 * The plan's deletes but those `replaced` (gone already: files in the way of new folders).
 * Children before parents, a depth at a time: within one depth no path holds another, so
 * their looks go together, then their removals (over SSH two waits a depth, not two a file).
 * A file already gone is fine. Returns how many paths were asked to go.
 *
 * The planner's deletes come sorted by path (plan.ts): grouped by depth as they come, with no
 * set of their paths nor an array of every parent of each (300,000 strays deleted: ~30 MB of
 * heap at once, the deploy's peak). A plan made by other means (a library caller's
 * TargetSession) may list them in any order, a path twice: then a set drops the repeats.
 */
export async function commitDeletes(
  t: Transport,
  planned: readonly { readonly path: string }[],
  replaced: ReadonlySet<string>,
  lanes: number,
): Promise<number> {
  const levels = byDepthDeepestFirst(remaining(planned, replaced), inOrder(planned));
  for (const level of levels)
    await forEachLimit(level, lanes, async (p) => {
      const e = await t.lstat(p);
      if (e?.type === 'dir') await t.removeTree(p);
      else if (e) await t.unlink(p);
    });
  await pruneEmptyDirs(t, [...allParents(eachOf(levels))]);
  return levels.reduce((n, level) => n + level.length, 0);
}

/** Whether no path comes before the one before it (a repeat then is next to its first). */
function inOrder(planned: readonly { readonly path: string }[]): boolean {
  for (let i = 1; i < planned.length; i++) if (planned[i]!.path < planned[i - 1]!.path) return false;
  return true;
}

function* eachOf(levels: readonly string[][]): Generator<string> {
  for (const level of levels) yield* level;
}

function* remaining(
  planned: readonly { readonly path: string }[],
  replaced: ReadonlySet<string>,
): Generator<string> {
  for (const { path } of planned) if (!replaced.has(path)) yield path;
}
