/**
 * The blob ids of files a plan looks at, from the stat cache where it can vouch
 * for them (plan/stat-cache.ts: an exact lstat matching the manifest's, older
 * than the state file), hashed otherwise. An update names the files it will
 * replace; each must be checked for drift first, and without the cache that
 * meant reading every one of them whole (a 200 MiB file read to be replaced).
 * The manifest's lines for those paths are found by binary search, and the
 * state file's stat rides in the same batch of lstats (one request over SSH).
 */
import { idLength, type HashAlgorithm } from '../diff/blob.js';
import type { FileStat, Manifest } from '../plan/manifest-types.js';
import { unchangedSince } from '../plan/stat-cache.js';
import { manifestEntriesAt } from '../apply/stored-manifest.js';
import { exactStats } from '../transport/exact-stats.js';
import type { Transport } from '../transport/transport.js';

/** The recorded manifest, and the state file whose mtime is its racy line. */
export interface StatCache {
  manifest: Manifest | null | undefined;
  statePath: string;
  /**
   * Exact stats of the state file and of (at least) the paths to vouch for, asked already,
   * alongside the look at them (observe-paths.ts): no round trip of their own over SSH.
   */
  stats?: Promise<Map<string, FileStat | null> | null>;
}

/**
 * The blob id of each of `paths` (files and symlinks the target holds; a path gone
 * meanwhile maps to null or is absent, as with hashFiles).
 * @throws DiffshipError E_STATE when the manifest has a bad line where it is looked up
 */
export async function blobsOf(
  t: Transport,
  paths: readonly string[],
  algorithm: HashAlgorithm,
  cache?: StatCache,
): Promise<Map<string, string | null>> {
  const vouched = cache?.manifest && paths.length > 0 ? await vouchedFor(t, paths, algorithm, cache) : null;
  if (!vouched?.size) return t.hashFiles(paths, { algorithm });
  const rest = paths.filter((p) => !vouched.has(p));
  if (rest.length > 0) for (const [p, id] of await t.hashFiles(rest, { algorithm })) vouched.set(p, id);
  return vouched;
}

/** The paths the cache vouches for, with the blob the manifest records. */
async function vouchedFor(
  t: Transport,
  paths: readonly string[],
  algorithm: HashAlgorithm,
  cache: StatCache,
): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  const entries = manifestEntriesAt(cache.manifest!, paths);
  // Ids of another length (the repository moved to SHA-256) are not what a hash would give.
  const length = idLength(algorithm);
  const cached = paths.filter((p) => {
    const e = entries?.get(p);
    return e?.stat !== undefined && e.blob.length === length;
  });
  if (cached.length === 0) return out;
  const stats = await (cache.stats ?? exactStats(t, [cache.statePath, ...cached]));
  const written = stats?.get(cache.statePath)?.mtimeNs ?? null;
  if (!stats || written === null) return out;
  for (const p of cached) {
    const e = entries!.get(p)!;
    if (unchangedSince(e.stat, stats.get(p) ?? null, written)) out.set(p, e.blob);
  }
  return out;
}
