/**
 * Authoritative mode's look at the target where the transport walks with
 * exact stats (`walkExact`: the SSH file helper, which lstats each entry to
 * learn its type anyway). Each compared file or link is trusted when its stat
 * matches the manifest's stat cache (racy timestamps excluded) and hashed
 * otherwise; every other entry keeps only its type. One round trip for the
 * whole walk instead of one per folder, and nothing of a stray is read.
 */
import type { EntryType } from '../entry-type.js';
import type { FileStat, ManifestEntry } from '../plan/manifest-types.js';
import type { Observed } from '../plan/types.js';
import { unchangedSince } from '../plan/stat-cache.js';
import type { Transport } from '../transport/transport.js';
import { stateWrittenNs } from '../apply/manifest.js';
import type { LossySuspects } from './lossy-names.js';

/** The recorded manifest and the state file whose mtime is the stat cache's racy line. */
interface Cache {
  files: readonly ManifestEntry[] | undefined;
  statePath: string;
}

/**
 * Every entry of the target but the state folder, and the compared files the cache
 * cannot vouch for (to hash); null when the transport cannot walk with exact stats here.
 */
export async function scanWhole(
  t: Transport,
  stateDir: string,
  compared: (path: string) => boolean,
  cache: Cache,
  typeOnly: Readonly<Record<EntryType, Observed>>,
  suspects: LossySuspects,
): Promise<{ observed: Map<string, Observed>; toHash: string[] } | null> {
  if (!t.walkExact) return null;
  // The racy line (the state file's mtime) is asked for alongside the walk: no round trip of its own.
  const writtenNs = cache.files ? stateWrittenNs(t, cache.statePath) : Promise.resolve(null);
  writtenNs.catch(() => undefined); // awaited below; a walk failing first must not leave it unhandled
  const observed = new Map<string, Observed>();
  const look: Array<{ path: string; type: EntryType; stat: FileStat }> = [];
  const walked = await t.walkExact([stateDir], (path, type, stat) => {
    suspects.see(path);
    if (stat === null || !compared(path)) observed.set(path, typeOnly[type]);
    else {
      observed.set(path, typeOnly[type]); // keeps the walk's order; replaced below
      look.push({ path, type, stat });
    }
  });
  if (!walked) return null;
  const written = await writtenNs;
  const recorded = new Map<string, ManifestEntry>();
  if (written !== null) for (const f of cache.files ?? []) if (f.stat) recorded.set(f.path, f);
  const toHash: string[] = [];
  for (const { path, type, stat } of look) {
    const entry = recorded.get(path);
    const trusted = entry !== undefined && unchangedSince(entry.stat, stat, written);
    observed.set(path, { type, blob: trusted ? entry.blob : null, mode: stat.mode & 0o7777 });
    if (!trusted) toHash.push(path);
  }
  return { observed, toHash };
}
