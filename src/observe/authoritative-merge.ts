/**
 * Authoritative mode's look at a local-style target (names-and-types walk plus
 * one exact lstat per release file), as a merge of three lists sorted by path
 * in byte order: the walk, the release listing and the recorded manifest. No
 * map of the whole target, the release or the manifest is built: a release
 * file whose lstat matches the manifest's stat cache (racy timestamps
 * excluded, plan/stat-cache.ts) and whose recorded blob and mode are the
 * release's is in sync, and nothing of it is kept. What is kept is what the
 * plan acts on, O(changes): strays, folders, other entries, the paths the diff
 * names, release files that differ or could not be vouched for (to hash), and
 * release files the target lacks.
 */
import type { EchoSeed } from './walk-echo.js';
import type { EntryType } from '../entry-type.js';
import type { FileStat, Manifest, ManifestEntry } from '../plan/manifest-types.js';
import type { Observed } from '../plan/types.js';
import { holds, type ReleaseFile } from '../plan/context.js';
import { unchangedSince } from '../plan/stat-cache.js';
import { typeFromMode } from '../transport/walk.js';
import type { Transport } from '../transport/transport.js';
import { exactStats } from '../transport/exact-stats.js';
import { stateWrittenNs } from '../apply/manifest.js';
import { manifestCursor } from '../apply/stored-manifest.js';
import type { ManifestCursor, ManifestLines } from '../apply/manifest-lines.js';
import { statText } from '../apply/manifest-text.js';
import { byteOrder, SURROGATE } from '../byte-order.js';
import { ObservedEntries } from '../plan/observed-entries.js';
import type { LossySuspects } from './lossy-names.js';

/** A file of the release, as the listing gives it (sorted by path, byte order). */
export interface ReleaseEntry extends ReleaseFile {
  path: string;
}

/** What the plan needs of the target in authoritative mode. */
export interface AuthoritativeView {
  /** Every entry of the target the plan acts on (see above); a path left out is in sync or absent. */
  observed: Map<string, Observed>;
  /** The release's files among `observed`'s paths, and those the target lacks. */
  release: Map<string, ReleaseFile>;
  /** Compared files the stat cache could not vouch for: to hash. */
  toHash: string[];
  /** Release files found in sync (trusted by their stat, holding their release blob and mode). */
  inSync: number;
  /** The stat each release file to hash had when it was walked (lstat'ed). */
  walked?: Map<string, FileStat>;
  /** The walk as bytes, for the echo this deploy's commit may leave (walk-echo.ts). */
  echo?: EchoSeed;
}

/**
 * An entry nobody compares, kept for the plan by its type: a file no list holds (a stray)
 * goes with the strays kept apart (plan/observed-entries.ts), as a path and no Map entry.
 */
export function keepUncompared(
  view: AuthoritativeView,
  path: string,
  type: EntryType,
  file: ReleaseFile | undefined,
  named: ReadonlySet<string>,
  typeOnly: Readonly<Record<EntryType, Observed>>,
): void {
  const { observed } = view;
  if (type === 'file' && file === undefined && observed instanceof ObservedEntries && !named.has(path))
    observed.addStray(path);
  else observed.set(path, typeOnly[type]);
  if (file !== undefined) view.release.set(path, file);
}

/** The recorded manifest and the state file whose mtime is the stat cache's racy line. */
export interface MergeCache {
  manifest: Manifest | null | undefined;
  statePath: string;
}

/** Exact lstats asked for at a time: bounded memory, and one SSH request per thousand. */
const STAT_BATCH = 4096;

/** Walk, then lstat the release files (and the diff's paths) in path order, alongside the manifest. */
export async function mergeWalk(
  t: Transport,
  stateDir: string,
  release: readonly ReleaseEntry[],
  named: ReadonlySet<string>,
  cache: MergeCache,
  typeOnly: Readonly<Record<EntryType, Observed>>,
  suspects: LossySuspects,
): Promise<AuthoritativeView> {
  const view: AuthoritativeView = {
    observed: new ObservedEntries(typeOnly.file),
    release: new Map(),
    toHash: [],
    inSync: 0,
  };
  const entries = await t.walk('', [stateDir], { stat: false });
  // The entries to lstat, with their release file (undefined: only the diff names it).
  const look: string[] = [];
  const lookRelease: Array<ReleaseEntry | undefined> = [];
  const releaseAt = releaseCursor(release, view);
  for (const e of entries) {
    suspects.see(e.path);
    const file = releaseAt.take(e.path);
    if ((e.type === 'file' || e.type === 'symlink') && (file !== undefined || named.has(e.path))) {
      look.push(e.path);
      lookRelease.push(file);
    } else keepUncompared(view, e.path, e.type, file, named, typeOnly);
  }
  releaseAt.rest();
  entries.length = 0; // the walk's objects are garbage from here on
  await statAndCompare(t, look, lookRelease, named, cache, view);
  return view;
}

/**
 * Where the transport walks in path order itself (`walkSorted`, local): one pass,
 * each compared file lstat'ed as it is reached, nothing of the walk kept.
 */
export async function mergeSortedWalk(
  t: Transport & Required<Pick<Transport, 'walkSorted'>>,
  stateDir: string,
  release: readonly ReleaseEntry[],
  named: ReadonlySet<string>,
  cache: MergeCache,
  typeOnly: Readonly<Record<EntryType, Observed>>,
  suspects: LossySuspects,
): Promise<AuthoritativeView> {
  const view: AuthoritativeView = {
    observed: new ObservedEntries(typeOnly.file),
    release: new Map(),
    toHash: [],
    inSync: 0,
  };
  const written = cache.manifest ? await stateWrittenNs(t, cache.statePath) : null;
  const recorded = written !== null && cache.manifest ? manifestCursor(cache.manifest) : null;
  const releaseAt = releaseCursor(release, view);
  await t.walkSorted([stateDir], (path, type, exact) => {
    suspects.see(path);
    const file = releaseAt.take(path);
    if ((type === 'file' || type === 'symlink') && (file !== undefined || named.has(path)))
      compareLine(path, file, exact(path), recorded, written, named, view);
    else keepUncompared(view, path, type, file, named, typeOnly);
  });
  releaseAt.rest();
  recorded?.finish(); // every line is checked, as a whole parse would
  return view;
}

/**
 * The release listing (path order) read alongside a walk in the same order: the
 * release files a walk passes by are not on the target.
 */
function releaseCursor(release: readonly ReleaseEntry[], view: AuthoritativeView) {
  let r = 0;
  return {
    /** The release file at `path`, if any; the ones before it go to `view.release` as missing. */
    take(path: string): ReleaseEntry | undefined {
      while (r < release.length && release[r]!.path !== path && byteOrder(release[r]!.path, path) < 0)
        view.release.set(release[r]!.path, release[r++]!);
      return r < release.length && release[r]!.path === path ? release[r++] : undefined;
    },
    /** The release files after the walk's last entry: missing too. */
    rest(): void {
      for (; r < release.length; r++) view.release.set(release[r]!.path, release[r]!);
    },
  };
}

/** One compared entry: in sync (counted), or kept for the plan (and hashed when the cache can't vouch). */
function compareOne(
  path: string,
  file: ReleaseFile | undefined,
  now: FileStat | null,
  entry: ManifestEntry | undefined,
  written: string | null,
  named: ReadonlySet<string>,
  view: AuthoritativeView,
): void {
  if (now === null) {
    // Gone since the walk: a release file the target lacks.
    if (file !== undefined) view.release.set(path, file);
    return;
  }
  const type = typeFromMode(now.mode);
  const trusted = entry !== undefined && unchangedSince(entry.stat, now, written);
  const obs: Observed = { type, blob: trusted ? entry.blob : null, mode: now.mode & 0o7777 };
  if (file !== undefined && trusted && !named.has(path) && holds(obs, file.blob, file.mode)) {
    view.inSync++;
    return;
  }
  view.observed.set(path, obs);
  if (file !== undefined) view.release.set(path, file);
  if (!trusted && (type === 'file' || type === 'symlink')) {
    view.toHash.push(path);
    // Hashed once: a release file found to hold its blob gets this stat in the next manifest.
    if (file !== undefined) (view.walked ??= new Map()).set(path, now);
  }
}

/** One exact lstat per looked-at path, in batches; the manifest is read alongside, one entry at a time. */
async function statAndCompare(
  t: Transport,
  look: readonly string[],
  lookRelease: ReadonlyArray<ReleaseEntry | undefined>,
  named: ReadonlySet<string>,
  cache: MergeCache,
  view: AuthoritativeView,
): Promise<void> {
  const written = cache.manifest ? await stateWrittenNs(t, cache.statePath) : null;
  const recorded = written !== null && cache.manifest ? manifestCursor(cache.manifest) : null;
  for (let from = 0; from < look.length; from += STAT_BATCH) {
    const batch = look.slice(from, from + STAT_BATCH);
    const stats = await exactStats(t, batch);
    for (let i = 0; i < batch.length; i++) {
      const path = batch[i]!;
      const now = stats?.get(path) ?? null;
      compareLine(path, lookRelease[from + i], now, recorded, written, named, view);
    }
  }
  recorded?.finish(); // every line is checked, as a whole parse would
}

/**
 * One compared entry, its manifest line found by `recorded` (walked in path order).
 * The usual case costs one string compare: a file in sync has exactly the line the
 * last deploy wrote for it, this release's blob and mode and today's lstat; it is
 * counted without parsing the line (see manifest-lines.ts for why that is checked
 * enough). Any other line is parsed and compared field by field (compareOne).
 */
function compareLine(
  path: string,
  file: ReleaseEntry | undefined,
  now: FileStat | null,
  recorded: ManifestCursor | null,
  written: string | null,
  named: ReadonlySet<string>,
  view: AuthoritativeView,
): void {
  compareSought(path, file, now, recorded?.seek(path), recorded, written, named, view);
}

/** `compareLine` once the manifest's line for `path` is sought (undefined: none). */
export function compareSought(
  path: string,
  file: ReleaseFile | undefined,
  now: FileStat | null,
  line: string | undefined,
  recorded: ManifestLines | null,
  written: string | null,
  named: ReadonlySet<string>,
  view: AuthoritativeView,
): void {
  if (line === undefined) return compareOne(path, file, now, undefined, written, named, view);
  if (
    file !== undefined &&
    now !== null &&
    file.blob.length === recorded!.idLength &&
    MODES.has(file.mode) &&
    line === `${file.blob}\t${file.mode}\t${statText(now)}\t${path}` &&
    // The racy rule on the recorded mtime, which is today's (the texts are equal).
    unchangedSince(now, now, written) &&
    !named.has(path) &&
    holds({ type: typeFromMode(now.mode), blob: file.blob, mode: now.mode & 0o7777 }, file.blob, file.mode)
  ) {
    view.inSync++;
    return;
  }
  compareOne(path, file, now, recorded!.parse(line), written, named, view);
}

/** The modes a manifest line can hold (manifest-text.ts). */
const MODES: ReadonlySet<string> = new Set(['100644', '100755', '120000']);

/** `release` itself when sorted by path in byte order, else a sorted copy. */
export function inPathOrder(release: readonly ReleaseEntry[]): readonly ReleaseEntry[] {
  // String order is byte order unless a surrogate is involved: each path is tested for one once.
  let before = release.length > 0 && SURROGATE.test(release[0]!.path);
  for (let i = 1; i < release.length; i++) {
    const a = release[i - 1]!.path;
    const b = release[i]!.path;
    const odd = SURROGATE.test(b);
    if (before || odd ? byteOrder(a, b) >= 0 : !(a < b))
      return [...release].sort((x, y) => byteOrder(x.path, y.path));
    before = odd;
  }
  return release;
}
