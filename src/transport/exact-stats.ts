/**
 * Exact lstats (the stat cache's, apply/manifest.ts and plan/stat-cache.ts) of
 * many paths, through whichever way the transport has: a batch (SSH: one
 * request per thousand paths), else one statExact per path.
 */
import type { FileStat } from '../plan/manifest-types.js';
import type { Transport } from './transport.js';
import { mapLimit } from './limit.js';

/** lstat calls in flight at once: cheap syscalls, but not 500,000 promises at once. */
const STAT_CONCURRENCY = 64;

/** Missing paths map to null; null altogether when the transport takes no exact stat (hash then). */
export async function exactStats(
  t: Transport,
  rels: readonly string[],
  concurrency = STAT_CONCURRENCY,
): Promise<Map<string, FileStat | null> | null> {
  if (t.statExactMany) return t.statExactMany(rels);
  const statExact = t.statExact?.bind(t);
  if (!statExact) return null;
  const out = new Map<string, FileStat | null>();
  await mapLimit(rels, concurrency, async (rel) => void out.set(rel, await statExact(rel)));
  return out;
}
