/**
 * `diffship status`: what a target holds, read-only. Drift here is checked over
 * every file of the recorded release (plus kept files), since the question is
 * "is this host still what we shipped?", not just "what will the next deploy touch?".
 */
import { diffReleases } from '../diff/index.js';
import { hashAlgorithmOf } from '../diff/blob.js';
import type { Transport } from '../transport/transport.js';
import { connectReadOnly } from './absent-root.js';
import { listBackups } from './backup.js';
import { readJournal } from './journal.js';
import { layout } from './layout.js';
import { readLock, staleReason, type LockInfo } from './lock.js';
import { readState, type TargetState } from './state.js';
import { releaseKnown } from './basis.js';

export interface TargetStatusInfo {
  name: string;
  release: string | null;
  previousRelease: string | null;
  deployedAt: string | null;
  deployId: string | null;
  mode: string | null;
  /** Files of the recorded release whose bytes differ on the target (or are gone). */
  drift: string[];
  kept: number;
  lock: (LockInfo & { stale: string | null }) | null;
  backups: string[];
  /** False when drift could not be checked (no manifest and the release is not in the repository). */
  driftChecked: boolean;
  /** What status had to work around, in words: the release missing from the repository, say. */
  note: string | null;
  /** An interrupted deploy that the next run will finish or undo. */
  interrupted: boolean;
  error: string | null;
}

export interface InspectOptions {
  repo: string;
  stateDir: string;
  source?: string;
  include?: readonly string[];
  exclude?: readonly string[];
}

export async function inspectTarget(
  name: string,
  target: Transport,
  o: InspectOptions,
): Promise<TargetStatusInfo> {
  const l = layout(o.stateDir);
  // A target folder not created yet holds nothing: "no release recorded", not an error.
  const { transport: t } = await connectReadOnly(target);
  try {
    const state: TargetState | null = await readState(t, l);
    const lock = await readLock(t, l);
    const drift: string[] = [];
    const known = state ? await expectedFiles(state, o) : null;
    if (state && known?.expected) {
      const expected = known.expected;
      for (const k of state.kept) expected.set(k.path, k.blob);
      const hashes = await t.hashFiles([...expected.keys()], { algorithm: hashAlgorithmOf(state.release) });
      for (const [path, blob] of expected) if (hashes.get(path) !== blob) drift.push(path);
    }
    return {
      name,
      release: state?.release ?? null,
      previousRelease: state?.previousRelease ?? null,
      deployedAt: state?.deployedAt ?? null,
      deployId: state?.deployId ?? null,
      mode: state?.mode ?? null,
      drift,
      driftChecked: state === null || known?.expected !== null,
      note: known?.note ?? null,
      kept: state?.kept.length ?? 0,
      lock: lock ? { ...lock, stale: staleReason(lock) } : null,
      backups: await listBackups(t, l),
      interrupted: (await readJournal(t, l)) !== null,
      error: null,
    };
  } finally {
    await t.close();
  }
}

/**
 * The files the recorded release put on the target: from the manifest when the
 * state has one (also for built releases and rewritten history), else from the
 * repository. With neither, drift is unknown and the note says why and what to do.
 */
async function expectedFiles(
  state: TargetState,
  o: InspectOptions,
): Promise<{ expected: Map<string, string> | null; note: string | null }> {
  const manifest = state.manifest ?? null;
  // With a manifest the repository only colours the note: no fetch for it.
  const known = await releaseKnown(o.repo, null, state.release, manifest === null);
  if (manifest) {
    const expected = new Map(manifest.files.map((f) => [f.path, f.blob]));
    const note = known
      ? null
      : `release ${state.release} is not in this repository; drift checked against the target's manifest`;
    return { expected, note };
  }
  if (!known) {
    return {
      expected: null,
      note: `release ${state.release} is not in this repository (force-pushed, rewritten or garbage-collected?) and the target's state has no manifest, so drift is unknown — fetch it (git fetch origin ${state.release}), or deploy with --assume-empty to record a manifest`,
    };
  }
  const release = await diffReleases({
    repo: o.repo,
    from: null,
    to: state.release,
    source: o.source,
    include: o.include,
    exclude: o.exclude,
  });
  const expected = new Map<string, string>();
  for (const c of release.changes)
    if (c.status === 'added' && c.mode !== '160000') expected.set(c.path, c.blob);
  return { expected, note: null };
}
