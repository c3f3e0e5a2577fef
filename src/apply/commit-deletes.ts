/** A commit's deletes, after its renames: the paths the release no longer has, then their emptied folders. */
import { forEachLimit } from '../pool.js';
import type { Transport } from '../transport/transport.js';
import { pruneEmptyDirs } from './backup.js';
import { allParents, byDepthDeepestFirst } from './safe-path.js';
import { MANY_IN_FLIGHT, MANY_PATHS } from './in-flight.js';

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
  chunk = CHUNK,
): Promise<number> {
  const sorted = inOrder(planned);
  const left = remaining(planned, replaced);
  const emptied = new Set<string>();
  let asked = 0;
  for (const some of sorted ? chunksOf(left, chunk) : [left]) {
    const levels = byDepthDeepestFirst(some, sorted);
    for (const level of levels) {
      await removeLevel(t, level, lanes);
      asked += level.length;
    }
    for (const dir of allParents(eachOf(levels))) emptied.add(dir);
  }
  await pruneEmptyDirs(t, [...emptied]);
  return asked;
}

/**
 * One depth's paths removed: many at once where the transport can (removeMany: over SSH an
 * lstat and an unlink per path were two records, two promises and two answers each), else
 * each looked at, then removed as what it is.
 */
async function removeLevel(t: Transport, level: readonly string[], lanes: number): Promise<void> {
  const one = async (p: string): Promise<void> => {
    const e = await t.lstat(p);
    if (e?.type === 'dir') await t.removeTree(p);
    else if (e) await t.unlink(p);
  };
  const removeMany = t.removeMany?.bind(t);
  if (!removeMany || level.length < 2) return forEachLimit(level, lanes, one);
  const batches: string[][] = [];
  for (let at = 0; at < level.length; at += MANY_PATHS) batches.push(level.slice(at, at + MANY_PATHS));
  await forEachLimit(batches, MANY_IN_FLIGHT, async (some) => {
    if (!(await removeMany(some))) await forEachLimit(some, lanes, one); // not here after all
  });
}

/**
 * Sorted deletes go a chunk at a time: 900,000 strays' paths were an array of strings at once
 * (~45 MB: the deploy's peak), read from the plan's column (plan/stray-deletes.ts). Byte order
 * puts a folder before what is in it, so a chunk never holds the parent of an earlier one's
 * path: one deleted first as a folder takes its files along, whose lstat then finds nothing.
 */
const CHUNK = 65_536;

function* chunksOf(paths: Iterable<string>, size: number): Generator<string[]> {
  let chunk: string[] = [];
  for (const p of paths) {
    chunk.push(p);
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** Whether no path comes before the one before it (a repeat then is next to its first). */
function inOrder(planned: readonly { readonly path: string }[]): boolean {
  // Iterated: an index read of an authoritative plan's deletes (a view) costs a key string.
  let last = '';
  for (const { path } of planned) {
    if (path < last) return false;
    last = path;
  }
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
