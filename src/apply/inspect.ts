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
import { pendingRecovery } from './journal.js';
import { layout } from './layout.js';
import { readLockFile, staleReason, unreadableReason, type LockInfo } from './lock.js';
import { stateFolderUsage, type StateFolderUsage } from './leftovers.js';
import { readState, type TargetState } from './state.js';

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
  /** A lock file that holds no valid lock (empty, cut short): why; the next deploy takes it over. */
  lockUnreadable: string | null;
  backups: string[];
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
    if (state) {
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
      for (const k of state.kept) expected.set(k.path, k.blob);
      const hashes = await t.hashFiles([...expected.keys()], { algorithm: hashAlgorithmOf(release.to) });
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
      kept: state?.kept.length ?? 0,
      lock: lock ? { ...lock, stale: staleReason(lock) } : null,
      lockUnreadable: lockFile && lockFile.info === null ? unreadableReason(lockFile.raw) : null,
      backups: await listBackups(t, l),
      usage: await stateFolderUsage(t, l),
      interrupted: recovery !== null,
      recovery,
      error: null,
    };
  } finally {
    await t.close();
  }
}
