/**
 * Authoritative mode's look at the whole target, O(changes) plus one walk of
 * names and types. Only the entries the plan compares with the release (files
 * of the release, paths the diff names) are looked at further: one exact lstat
 * each, trusted when it matches the manifest's stat cache (plan/stat-cache.ts,
 * racy timestamps excluded) and hashed otherwise. Every other entry is a stray:
 * the plan deletes it whatever it holds, so it is neither stat'ed nor read.
 */
import type { HashAlgorithm } from '../diff/blob.js';
import type { EntryType } from '../entry-type.js';
import type { FileStat, ManifestEntry } from '../plan/manifest-types.js';
import type { Observed } from '../plan/types.js';
import { unchangedSince } from '../plan/stat-cache.js';
import { typeFromMode } from '../transport/walk.js';
import type { Transport } from '../transport/transport.js';
import { stateWrittenNs } from '../apply/manifest.js';
import { mapLimit } from '../pool.js';
import type { ObserveTarget } from './observe-paths.js';
import { scanWhole } from './observe-scan.js';
import { LossySuspects, refuseLossyNames } from './lossy-names.js';

/** What the walk alone says of an entry nobody compares (a stray, a folder): one shared object per type. */
const TYPE_ONLY: Readonly<Record<EntryType, Observed>> = {
  file: Object.freeze({ type: 'file', blob: null, mode: 0 }),
  dir: Object.freeze({ type: 'dir', blob: null, mode: 0 }),
  symlink: Object.freeze({ type: 'symlink', blob: null, mode: 0 }),
  other: Object.freeze({ type: 'other', blob: null, mode: 0 }),
};

/** lstat calls in flight at once: cheap syscalls, but not 500,000 promises at once. */
const STAT_CONCURRENCY = 64;

/** The recorded manifest and the state file whose mtime is the stat cache's racy line. */
export interface StatCache {
  files: readonly ManifestEntry[] | undefined;
  statePath: string;
}

/**
 * Every entry of the target (the state folder left out). `compared(path)` says
 * which ones the plan compares with the release: those are observed fully; the
 * others keep only their type (their blob stays null: see `isTypeOnly`).
 */
export async function observeWhole(
  target: ObserveTarget,
  compared: (path: string) => boolean,
  cache: StatCache,
  algorithm: HashAlgorithm,
): Promise<Map<string, Observed>> {
  const t = target.transport;
  // Where the walk lstats every entry anyway (the SSH file helper), its stats serve the cache.
  // A name that does not read back exactly (not UTF-8) must never be planned under its lossy text.
  const suspects = new LossySuspects();
  const { observed, toHash } =
    (await scanWhole(t, target.layout.dir, compared, cache, TYPE_ONLY, suspects)) ??
    (await walkWhole(t, target.layout.dir, compared, cache, suspects));
  await refuseLossyNames(t, suspects);
  const hashes = await t.hashFiles(toHash, { algorithm });
  for (const path of toHash) {
    const obs = observed.get(path);
    const blob = hashes.get(path) ?? null;
    if (obs) obs.blob = blob;
  }
  return observed;
}

/** A walk of names and types, then one exact lstat per compared entry (or, without exact stats, a hash). */
async function walkWhole(
  t: Transport,
  stateDir: string,
  compared: (path: string) => boolean,
  cache: StatCache,
  suspects: LossySuspects,
): Promise<{ observed: Map<string, Observed>; toHash: string[] }> {
  // Without exact stats (an SSH host without the file helper), the walk's own attributes give the mode.
  const exact = t.statExact?.bind(t);
  const entries = await t.walk('', [stateDir], { stat: !exact });
  const observed = new Map<string, Observed>();
  const look: string[] = [];
  for (const e of entries) {
    suspects.see(e.path);
    if ((e.type === 'file' || e.type === 'symlink') && compared(e.path)) {
      look.push(e.path);
      if (!exact) observed.set(e.path, { type: e.type, blob: null, mode: e.mode });
    } else observed.set(e.path, TYPE_ONLY[e.type]);
  }
  entries.length = 0; // the walk's objects are garbage from here on
  const toHash = exact ? await trustedByStat(t, exact, look, cache, observed) : look;
  return { observed, toHash };
}

/** An entry the walk reported but nobody hashed (a stray): its content is unknown, not absent. */
export function isTypeOnly(obs: Observed): boolean {
  return obs.blob === null && (obs.type === 'file' || obs.type === 'symlink');
}

/**
 * One exact lstat per path: the type and mode go into `observed`, and the blob
 * too when the stat cache vouches for it. Returns the paths that need a hash.
 */
async function trustedByStat(
  t: Transport,
  statExact: (rel: string) => Promise<FileStat | null>,
  paths: readonly string[],
  cache: StatCache,
  observed: Map<string, Observed>,
): Promise<string[]> {
  const written = cache.files ? await stateWrittenNs(t, cache.statePath) : null;
  const recorded = new Map<string, ManifestEntry>();
  if (written !== null) for (const f of cache.files ?? []) if (f.stat) recorded.set(f.path, f);
  const toHash: string[] = [];
  // One batch where the transport has it (local: a synchronous lstat each, no promise per file).
  const stats =
    (await t.statExactMany?.(paths)) ??
    new Map(await mapLimit(paths, STAT_CONCURRENCY, async (path) => [path, await statExact(path)] as const));
  for (const path of paths) {
    const now = stats.get(path) ?? null;
    if (now === null) {
      observed.delete(path); // gone since the walk
      continue;
    }
    const type = typeFromMode(now.mode);
    const entry = recorded.get(path);
    const trusted = entry !== undefined && unchangedSince(entry.stat, now, written);
    observed.set(path, { type, blob: trusted ? entry.blob : null, mode: now.mode & 0o7777 });
    if (!trusted && (type === 'file' || type === 'symlink')) toHash.push(path);
  }
  return toHash;
}
