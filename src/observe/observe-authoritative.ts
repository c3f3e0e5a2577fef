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
import type { FileStat, ManifestEntry, ManifestMode } from '../plan/manifest-types.js';
import type { Observed } from '../plan/types.js';
import { unchangedSince } from '../plan/stat-cache.js';
import { holds } from '../plan/context.js';
import { typeFromMode } from '../transport/walk.js';
import type { Transport } from '../transport/transport.js';
import { stateWrittenNs } from '../apply/manifest.js';
import { mapLimit } from '../pool.js';
import type { ObserveTarget } from './observe-paths.js';
import { scanWhole } from './observe-scan.js';
import { LossySuspects, refuseLossyNames } from './lossy-names.js';
import { mergeLook, type Look } from './observe-look.js';
import { mergeWithManifest, type ManifestBasis } from './manifest-release.js';
import type { ReleaseFile } from '../plan/context.js';
import { cancelPoint } from '../cancelled.js';
import {
  inPathOrder,
  mergeSortedWalk,
  mergeWalk,
  type AuthoritativeView,
  type MergeCache,
  type ReleaseEntry,
} from './authoritative-merge.js';

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
interface StatCache {
  files: readonly ManifestEntry[] | undefined;
  statePath: string;
}

/**
 * The target as the authoritative plan needs it, given the release's files
 * (sorted by path) and the paths the diff names. Locally (exact lstats, no
 * exact walk) a sorted merge keeps only what the plan acts on
 * (authoritative-merge.ts); elsewhere every entry is kept, the compared ones
 * observed fully.
 */
export async function observeWhole(
  target: ObserveTarget,
  release: readonly ReleaseEntry[],
  named: ReadonlySet<string>,
  cache: MergeCache,
  algorithm: HashAlgorithm,
  /** The SSH look started with the plan (observe-look.ts), if any. */
  look: Look | null = null,
  /** A trusted manifest and the diff from its release, in place of `release` (manifest-release.ts). */
  byManifest?: ManifestBasis,
): Promise<Omit<AuthoritativeView, 'toHash'> & { restat?: ManifestEntry[] }> {
  const t = target.transport;
  const stateDir = target.layout.dir;
  // A name that does not read back exactly (not UTF-8) must never be planned under its lossy text.
  const suspects = new LossySuspects();
  // Over SSH the look compared the walk with the manifest on the host (observe-look.ts).
  const looked = look ? await mergeLook(look, inPathOrder(release), named, TYPE_ONLY, suspects) : null;
  let view: AuthoritativeView;
  if (looked) view = looked;
  else if (t.walkSorted && byManifest) {
    const sorted = t as Transport & Required<Pick<Transport, 'walkSorted'>>;
    view = await mergeWithManifest(sorted, stateDir, byManifest, named, TYPE_ONLY, suspects);
  } else if (t.walkSorted) {
    view = await mergeSortedWalk(
      t as Transport & Required<Pick<Transport, 'walkSorted'>>,
      stateDir,
      inPathOrder(release),
      named,
      cache,
      TYPE_ONLY,
      suspects,
    );
  } else if (!t.walkExact && t.statExact) {
    view = await mergeWalk(t, stateDir, inPathOrder(release), named, cache, TYPE_ONLY, suspects);
  } else {
    const map = new Map<string, ReleaseFile>();
    for (const f of release) map.set(f.path, f);
    const compared = (p: string) => map.has(p) || named.has(p);
    const stats: StatCache = { files: cache.manifest?.files, statePath: cache.statePath };
    // Where the walk lstats every entry anyway (the SSH file helper), its stats serve the cache.
    const found =
      (await scanWhole(t, stateDir, compared, stats, TYPE_ONLY, suspects)) ??
      (await walkWhole(t, stateDir, compared, stats, suspects));
    view = { ...found, release: map, inSync: 0 };
  }
  await refuseLossyNames(t, suspects);
  await cancelPoint(target.signal, 'the plan (walking the target)');
  const hashes = await t.hashFiles(view.toHash, { algorithm });
  for (const path of view.toHash) {
    const obs = view.observed.get(path);
    const blob = hashes.get(path) ?? null;
    if (obs) obs.blob = blob;
  }
  const restat = view.walked && hashedInSync(view, view.walked);
  // An echo only of a walk whose every file was in sync by its stat (nothing hashed).
  const echo = view.toHash.length === 0 ? view.echo : undefined;
  return {
    observed: view.observed,
    release: view.release,
    inSync: view.inSync,
    ...(restat && { restat }),
    ...(echo && { echo }),
  };
}

/**
 * Hash once, then trust the stat: the release files just hashed and found to hold their
 * release blob and mode, with the stat they were walked with, for the next manifest
 * (apply/manifest-merge.ts). Without it a file whose stat moved (a copy, a touch, a
 * manifest from before stats were recorded) would be hashed on every deploy.
 */
function hashedInSync(view: AuthoritativeView, walked: ReadonlyMap<string, FileStat>): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  for (const path of view.toHash) {
    const stat = walked.get(path);
    const file = view.release.get(path);
    const obs = view.observed.get(path);
    if (stat && file && obs && isManifestMode(file.mode) && holds(obs, file.blob, file.mode))
      out.push({ path, blob: file.blob, mode: file.mode, stat });
  }
  return out;
}

const isManifestMode = (m: string): m is ManifestMode => m === '100644' || m === '100755' || m === '120000';

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
