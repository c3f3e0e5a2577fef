/**
 * `diffship status`: what a target holds, read-only. Drift here is checked over
 * every file of the recorded release (plus kept files), since the question is
 * "is this host still what we shipped?", not just "what will the next deploy touch?".
 */
import { driftAmong } from '../plan/drift.js';
import { driftOverManifest, observeRecorded } from '../observe/observe-drift.js';
import type { Transport } from '../transport/transport.js';
import { connectReadOnly } from './absent-root.js';
import { listBackups } from './backup.js';
import { leftoverBackups } from './leftover-backups.js';
import { pendingRecovery } from './journal.js';
import { layout } from './layout.js';
import { readLockFile, staleReason, unreadableReason, type LockInfo } from './lock.js';
import { stateFolderUsage, type StateFolderUsage } from './leftovers.js';
import { readState, type HeldUnit, type TargetState } from './state.js';
import { releaseKnown } from './basis.js';
import { mapLimit } from '../pool.js';

export interface TargetStatusInfo {
  name: string;
  release: string | null;
  previousRelease: string | null;
  deployedAt: string | null;
  deployId: string | null;
  mode: string | null;
  /** Files of the recorded release whose bytes differ on the target (or are gone): every file, whatever drift-scope says. */
  drift: string[];
  /** The config's drift-scope: which of these a plan or deploy would check and act on. */
  driftScope?: 'changes' | 'all';
  /**
   * The paths of `drift` where the target holds a folder (absent: none). No on-drift setting
   * replaces a folder: a plan that writes the file there stops with E_UNSAFE (docs/drift.md).
   */
  driftFolders?: string[];
  kept: number;
  /** `units`: units a per-unit rollback held back at their previous files (absent: none). */
  heldBack?: HeldUnit[];
  lock: (LockInfo & { stale: string | null }) | null;
  /** A lock file that holds no valid lock (empty, cut short): why; the next deploy takes it over. */
  lockUnreadable: string | null;
  /** Complete backups a rollback can restore, newest first. */
  backups: string[];
  /**
   * Complete backups of deploys cut off before their commit (absent: none): they undo nothing,
   * and the next deploy or rollback removes them (apply/leftover-backups.ts).
   */
  uncommittedBackups?: string[];
  /** False when drift could not be checked (no manifest and the release is not in the repository). */
  driftChecked: boolean;
  /** What status had to work around, in words: the release missing from the repository, say. */
  note: string | null;
  /** Staging left by a failed or killed run, and the backups, with their size in bytes. */
  usage: StateFolderUsage;
  /** An interrupted deploy that the next run will finish or undo. */
  interrupted: boolean;
  /** What the next run does with it: `finish` (already in place and recorded) or `undo`. */
  recovery?: 'finish' | 'undo' | null;
  error: string | null;
}

export interface InspectOptions {
  repo: string;
  stateDir: string;
  source?: string;
  include?: readonly string[];
  exclude?: readonly string[];
  driftScope?: 'changes' | 'all';
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
    const lockFile = await readLockFile(t, l);
    const recovery = await pendingRecovery(t, l);
    const lock = lockFile?.info ?? null;
    const drift: string[] = [];
    const known = state ? await recordedListing(state, o) : null;
    // files: null means drift can't be known; undefined means list the release from the repository;
    // 'manifest': the target's manifest lists them.
    if (state && known && known.files !== null) {
      // The selection the release was shipped with, when recorded: drift is about what was shipped.
      const selection = state.selection ?? o;
      const recorded = {
        repo: o.repo,
        release: state.release,
        source: selection.source,
        include: selection.include,
        exclude: selection.exclude,
        kept: state.kept,
        statePath: l.state,
      };
      // The manifest a batch at a time (a big target's is never parsed whole), else the release's listing.
      if (known.files === 'manifest')
        for (const path of await driftOverManifest(t, state.manifest!, recorded)) drift.push(path);
      else {
        const { expected, observed } = await observeRecorded(t, null, recorded);
        for (const d of driftAmong(expected, observed)) drift.push(d.path);
      }
    }
    const driftFolders = await foldersAmong(t, drift);
    // With a journal pending, its backup is the one the next run restores or keeps; with the lock
    // held by a live deploy, its backup may be between its listing and its journal (in flight, not
    // left over): both told as before.
    const stale = lock ? staleReason(lock) : null;
    const found =
      recovery === null && (lock === null || stale !== null)
        ? await leftoverBackups(t, l, Promise.resolve(state?.deployId ?? null))
        : null;
    const uncommitted = new Set(found?.uncommitted);
    return {
      name,
      release: state?.release ?? null,
      previousRelease: state?.previousRelease ?? null,
      deployedAt: state?.deployedAt ?? null,
      deployId: state?.deployId ?? null,
      mode: state?.mode ?? null,
      drift,
      driftChecked: state === null || known?.files !== null,
      note: known?.note ?? null,
      driftScope: o.driftScope ?? 'changes',
      ...(driftFolders.length > 0 ? { driftFolders } : {}),
      kept: state?.kept.length ?? 0,
      ...(state?.heldBack?.length ? { heldBack: state.heldBack } : {}),
      lock: lock ? { ...lock, stale } : null,
      lockUnreadable: lockFile && lockFile.info === null ? unreadableReason(lockFile.raw) : null,
      backups: found ? found.complete.filter((name) => !uncommitted.has(name)) : await listBackups(t, l),
      ...(uncommitted.size > 0 ? { uncommittedBackups: [...uncommitted] } : {}),
      usage: await stateFolderUsage(t, l),
      interrupted: recovery !== null,
      recovery,
      error: null,
    };
  } finally {
    await t.close();
  }
}

/**
 * Where the recorded release's files come from: the manifest when the state has
 * one (also for built releases and rewritten history); else (undefined)
 * observeRecorded lists them from the repository. With neither manifest nor the
 * commit, drift is unknown and the note says why and what to do.
 */
async function recordedListing(
  state: TargetState,
  o: InspectOptions,
): Promise<{ files: 'manifest' | undefined | null; note: string | null }> {
  const manifest = state.manifest ?? null;
  // With a manifest the repository only colours the note: no fetch for it.
  const known = await releaseKnown(o.repo, null, state.release, manifest === null);
  if (manifest) {
    const note = known
      ? null
      : `release ${state.release} is not in this repository; drift checked against the target's manifest`;
    return { files: 'manifest', note };
  }
  if (!known) {
    return {
      files: null,
      note: `release ${state.release} is not in this repository (force-pushed, rewritten or garbage-collected?) and the target's state has no manifest, so drift is unknown — fetch it (git fetch origin ${state.release}), or deploy with --assume-empty to record a manifest`,
    };
  }
  return { files: undefined, note: null };
}

/** The drifted paths the target holds as folders (a file's drift is a hash; a folder has none). */
async function foldersAmong(t: Transport, drift: readonly string[]): Promise<string[]> {
  const types = await mapLimit(drift, 16, async (p) => (await t.lstat(p))?.type);
  return drift.filter((_, i) => types[i] === 'dir');
}
