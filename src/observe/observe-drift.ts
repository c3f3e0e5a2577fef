/**
 * The one place the target is observed for drift over the recorded release
 * (`drift-scope: all`, `status`, preflight). Today it hashes each file through
 * the transport; a stat cache can later answer unchanged files here without
 * hashing. Paths the caller already observed are not hashed again.
 */
import type { GitObjects } from '../diff/git-objects.js';
import type { GitMode } from '../diff/types.js';
import { diffWith } from '../diff/diff-releases.js';
import { hashAlgorithmOf } from '../diff/blob.js';
import type { Transport } from '../transport/transport.js';
import type { KeptFile, Observed } from '../plan/types.js';
import { expectedFiles, type ExpectedFile } from '../plan/drift.js';

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
  files?: ReadonlyArray<{ path: string; blob: string; mode: GitMode }>;
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
  const expected = expectedFiles(files, r.kept);
  const observed = new Map<string, Observed>();
  const unknown: string[] = [];
  for (const path of expected.keys()) {
    const seen = known.get(path);
    if (seen) observed.set(path, seen);
    else unknown.push(path);
  }
  const hashes = await t.hashFiles(unknown, { algorithm: hashAlgorithmOf(r.release) });
  for (const path of unknown) {
    const blob = hashes.get(path);
    // Only the content counts for drift (see plan/drift.ts): a hash says "present, these bytes".
    if (blob) observed.set(path, { type: 'file', blob, mode: 0 });
  }
  return { expected, observed };
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
