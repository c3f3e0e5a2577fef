/**
 * The one place the target is observed for drift over the recorded release
 * (`drift-scope: all`, `status`, preflight). A file whose exact lstat still
 * matches the stat cache in the target's manifest (plan/stat-cache.ts, git's
 * index rule, racy timestamps hashed) holds what diffship put there and is not
 * read; every other file is hashed through the transport. Paths the caller
 * already observed are not hashed again.
 */
import type { GitObjects } from '../diff/git-objects.js';
import type { GitMode } from '../diff/types.js';
import { diffWith } from '../diff/diff-releases.js';
import { hashAlgorithmOf } from '../diff/blob.js';
import type { Transport } from '../transport/transport.js';
import type { KeptFile, Observed } from '../plan/types.js';
import { driftAmong, expectedFiles, type ExpectedFile } from '../plan/drift.js';
import type { FileStat, Manifest, ManifestEntry } from '../plan/manifest-types.js';
import { manifestCursor } from '../apply/stored-manifest.js';
import { unchangedSince } from '../plan/stat-cache.js';
import { stateWrittenNs } from '../apply/manifest.js';
import { exactStats } from '../transport/exact-stats.js';
import { isTypeOnly } from './observe-authoritative.js';

export interface RecordedRelease {
  repo: string;
  /** The recorded release (a commit id). */
  release: string;
  source?: string;
  include?: readonly string[];
  exclude?: readonly string[];
  kept: readonly KeptFile[];
  /**
   * The recorded release's files when the target's manifest lists them: no git
   * listing then (the commit may be gone, or the release was a built folder).
   */
  files?: ReadonlyArray<{ path: string; blob: string; mode: GitMode; stat?: FileStat }>;
  /** The state file (relative to the target): its mtime is the stat cache's racy-timestamp line. */
  statePath?: string;
}

export interface RecordedObservation {
  expected: Map<string, ExpectedFile>;
  /** What the target holds at each expected path (absent paths are missing). */
  observed: Map<string, Observed>;
}

/** List the recorded release's files and observe each on the target. */
export async function observeRecorded(
  t: Transport,
  objects: GitObjects | null,
  r: RecordedRelease,
  known: ReadonlyMap<string, Observed> = new Map(),
): Promise<RecordedObservation> {
  const files = r.files ?? (await listRelease(objects, r));
  // The stat cache needs the manifest's stats and the state file's time (its racy line).
  const written = r.files && r.statePath !== undefined ? await stateWrittenNs(t, r.statePath) : null;
  return observeFiles(t, files, r, known, written);
}

/** observeRecorded's look at `files` and `r.kept`, given the state file's time (null: no stat cache). */
async function observeFiles(
  t: Transport,
  files: NonNullable<RecordedRelease['files']>,
  r: Pick<RecordedRelease, 'kept' | 'release'>,
  known: ReadonlyMap<string, Observed>,
  written: string | null,
): Promise<RecordedObservation> {
  const expected = expectedFiles(files, r.kept);
  const observed = new Map<string, Observed>();
  const unknown: string[] = [];
  for (const path of expected.keys()) {
    const seen = known.get(path);
    // A stray an authoritative walk only named (no hash) is looked at here like any unknown path.
    if (seen && !isTypeOnly(seen)) observed.set(path, seen);
    else unknown.push(path);
  }
  const toHash = await unchangedByStat(t, files, written, unknown, observed);
  const hashes = await t.hashFiles(toHash, { algorithm: hashAlgorithmOf(r.release) });
  for (const path of toHash) {
    const blob = hashes.get(path);
    // Only the content counts for drift (see plan/drift.ts): a hash says "present, these bytes".
    if (blob) observed.set(path, { type: 'file', blob, mode: 0 });
  }
  return { expected, observed };
}

/** Manifest lines observed at a time by driftOverManifest: bounded memory, a request or two per batch over SSH. */
const DRIFT_BATCH = 4096;

/**
 * The drifted paths of a recorded release the target's manifest lists (`status`): the paths
 * driftAmong finds over observeRecorded, in the same order (the manifest's, then the kept files
 * it does not list), with the manifest read and observed a batch at a time. A 500,000-file
 * manifest is never parsed whole, nor a map of its files built.
 * @throws DiffshipError E_STATE naming the manifest's file and its first bad line
 */
export async function driftOverManifest(
  t: Transport,
  manifest: Manifest,
  r: Omit<RecordedRelease, 'files'>,
  batch = DRIFT_BATCH,
): Promise<string[]> {
  const cursor = manifestCursor(manifest);
  // The state file's time once for every batch (over SSH a round trip each otherwise).
  const written = r.statePath !== undefined ? await stateWrittenNs(t, r.statePath) : null;
  // A kept file the release also lists is expected as the release has it (expectedFiles).
  const keptElsewhere = new Map(r.kept.map((k) => [k.path, k]));
  const drift: string[] = [];
  const observe = async (files: ManifestEntry[], kept: KeptFile[]) => {
    const { expected, observed } = await observeFiles(t, files, { ...r, kept }, new Map(), written);
    for (const d of driftAmong(expected, observed)) drift.push(d.path);
  };
  for (let files = cursor.take(batch); files.length > 0; files = cursor.take(batch)) {
    for (const f of files) keptElsewhere.delete(f.path);
    await observe(files, []);
  }
  if (keptElsewhere.size > 0) await observe([], [...keptElsewhere.values()]);
  return drift;
}

async function listRelease(objects: GitObjects | null, r: RecordedRelease) {
  const listing = await diffWith(objects, {
    repo: r.repo,
    from: null,
    to: r.release,
    source: r.source,
    include: r.include,
    exclude: r.exclude,
  });
  return listing.changes.flatMap((c) =>
    c.status === 'added' ? [{ path: c.path, blob: c.blob, mode: c.mode }] : [],
  );
}

/**
 * Observe from the stat cache what it can vouch for (those go into `observed` as
 * holding their recorded blob); returns the paths that still need a hash.
 */
async function unchangedByStat(
  t: Transport,
  files: NonNullable<RecordedRelease['files']>,
  written: string | null,
  paths: string[],
  observed: Map<string, Observed>,
): Promise<string[]> {
  if (written === null) return paths;
  const entries = new Map(files.map((f) => [f.path, f]));
  // One batch of exact lstats (one request per thousand paths over SSH) for the entries that have a stat.
  const stats = await exactStats(
    t,
    paths.filter((p) => entries.get(p)?.stat),
  );
  const toHash: string[] = [];
  for (const path of paths) {
    const entry = entries.get(path);
    if (entry?.stat && unchangedSince(entry.stat, stats?.get(path) ?? null, written)) {
      observed.set(path, { type: 'file', blob: entry.blob, mode: 0 });
    } else toHash.push(path);
  }
  return toHash;
}
