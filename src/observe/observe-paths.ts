/**
 * What a target holds, as the planner sees it (Observed), at the paths a diff names (each
 * looked at, or one walk for many). Authoritative mode's whole-target look: observe-authoritative.ts.
 */
import type { HashAlgorithm } from '../diff/blob.js';
import type { Observed } from '../plan/types.js';
import type { Transport } from '../transport/transport.js';
import type { Layout } from '../apply/layout.js';
import { parentsOf } from '../apply/safe-path.js';
import { mapLimit } from '../pool.js';
import { metadataConcurrency } from '../apply/in-flight.js';
import { cancelPoint } from '../cancelled.js';
import { blobsOf, type StatCache } from './stat-vouch.js';
import { exactStats } from '../transport/exact-stats.js';

/** Above this many paths to observe, one walk of the target is cheaper than a look at each. */
const WALK_ABOVE = 2_000;

/** Up to this many paths, each is looked at with its folders, before they are known to be real. */
const LOOK_AHEAD = 256;

/** The target to observe: its state folder is never part of what it holds. */
export interface ObserveTarget {
  transport: Transport;
  layout: Layout;
  /** Operations in flight at once on the target. */
  concurrency: number;
  /** Cancelled: planning stops between its phases (a plan of 500,000 paths takes seconds). */
  signal?: AbortSignal;
}

/**
 * Observe the given paths into `into` (absent paths stay absent). `count` with a function: how
 * many paths it will list, and the list made only when needed (a first deploy into an empty
 * folder walks it and finds nothing: no array of its 500,000 paths). `cache`: the recorded
 * manifest and state file, so that files it vouches for are not read (stat-vouch.ts).
 */
export async function observeInto(
  target: ObserveTarget,
  into: Map<string, Observed>,
  list: string[] | { count: number; paths: () => string[] },
  algorithm: HashAlgorithm,
  cache?: StatCache,
): Promise<void> {
  const t = target.transport;
  const count = Array.isArray(list) ? list.length : list.count;
  const listed = () => (Array.isArray(list) ? list : list.paths());
  if (count > WALK_ABOVE) return observeByWalk(target, into, listed, algorithm, cache);
  const paths = listed();
  const unique = [...new Set(paths)];
  // Each folder is looked at once, however many files it holds.
  const folders = new Map<string, Promise<boolean>>();
  const isRealDir = (dir: string) => {
    let known = folders.get(dir);
    if (!known) folders.set(dir, (known = t.lstat(dir).then((e) => e?.type === 'dir')));
    return known;
  };
  // A few paths are looked at together with their folders (one wait, not two); what was seen
  // below a symlinked or missing folder is not used.
  const early = unique.length <= LOOK_AHEAD;
  // The stat cache's exact stats of those few paths (and of the state file) asked in the same
  // turn as the look (one round trip over SSH, not two); used only for paths found below real
  // folders, as the look's own answers are.
  const stats = early && cache?.manifest ? exactStats(t, [cache.statePath, ...unique]) : undefined;
  stats?.catch(() => undefined); // not awaited when the look fails
  const entries = await mapLimit(unique, metadataConcurrency(t, target.concurrency), async (p) => {
    // All of a path's folders are asked together (one round trip over SSH, not one per depth),
    // then the path, only below real folders: past LOOK_AHEAD paths, a path below a symlinked or
    // missing folder is not looked at (a first deploy into an empty folder looks at no file).
    const ahead = early ? t.lstat(p) : null;
    ahead?.catch(() => undefined); // not awaited below a folder that is not real
    const real = await Promise.all(parentsOf(p).map(isRealDir));
    if (!real.every(Boolean)) return null;
    return ahead ?? t.lstat(p);
  });
  await cancelPoint(target.signal, 'the plan (looking at the target)');
  const present = unique.filter((_, i) => entries[i] !== null && entries[i]?.type !== 'dir');
  const hashes = await blobsOf(t, present, algorithm, stats ? { ...cache!, stats } : cache);
  unique.forEach((p, i) => {
    const e = entries[i];
    if (!e) return;
    into.set(p, { type: e.type, blob: hashes.get(p) ?? null, mode: e.mode });
  });
}

/** Many paths: one walk of the folder answers them all (it never descends into links). */
async function observeByWalk(
  target: ObserveTarget,
  into: Map<string, Observed>,
  paths: () => readonly string[],
  algorithm: HashAlgorithm,
  cache?: StatCache,
): Promise<void> {
  const t = target.transport;
  const entries = await t.walk('', [target.layout.dir]);
  await cancelPoint(target.signal, 'the plan (walking the target)');
  // An empty target (a first deploy) needs no set of the paths: at 500,000 paths building one
  // held the thread for seconds, past a cancellation's deadline.
  if (entries.length === 0) return;
  const wanted = new Set(paths());
  const found = entries.filter((e) => wanted.has(e.path));
  const hashes = await blobsOf(
    t,
    found.filter((e) => e.type !== 'dir').map((e) => e.path),
    algorithm,
    cache,
  );
  for (const e of found) into.set(e.path, { type: e.type, blob: hashes.get(e.path) ?? null, mode: e.mode });
}
