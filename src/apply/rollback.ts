/**
 * Rollback of one target (SPEC §3): restore the newest deploy's backup (or the one named) byte
 * for byte under a journal, and record the release it replaced.
 */
import { DiffshipError } from '../errors.js';
import type { Transport } from '../transport/transport.js';
import type { Layout } from './layout.js';
import type { TargetState } from './state.js';
import { recordBackupState, writeJournal } from './journal.js';
import { pruneManifests } from './manifest-store.js';
import { readState } from './state.js';
import { discardBackup, KEEP_BACKUPS, listBackups, readBackup, restoreBackup } from './backup.js';

/** What a rollback needs of an open, locked session. */
export interface RollbackSession {
  transport: Transport;
  layout: Layout;
  /** This run's id: it names the rollback's journal. */
  deployId: string;
  /** The state as found after recovery. */
  state: TargetState | null;
  concurrency: number;
}

export interface RollbackResult {
  /** The release recorded again (null: the target had none before that deploy). */
  restored: string | null;
  /** The deploy undone. */
  deployId: string;
  /** The state now recorded on the target. */
  state: TargetState | null;
  /** Paths put back from the backup, and paths the undone deploy had added (now removed). */
  restoredPaths: string[];
  removedPaths: string[];
}

/**
 * Undo the newest deploy (or the one named): restore its backup byte for byte and
 * record the release it replaced. Returns that release, or throws when no backup exists.
 */
export async function rollbackTarget(s: RollbackSession, deployId?: string): Promise<RollbackResult> {
  const t = s.transport;
  const l = s.layout;
  // The backup to undo is the one of the deploy that produced the recorded state.
  const current = s.state?.deployId;
  const backups = await listBackups(t, l);
  const id = deployId ?? (current !== undefined && backups.includes(current) ? current : backups[0]);
  const manifest = id === undefined ? null : await readBackup(t, l, id);
  if (id === undefined || manifest === null) {
    throw new DiffshipError(
      'E_STATE',
      `${t.description}: no backup to roll back to${deployId ? ` for deploy ${deployId}` : ''} — diffship keeps the last ${KEEP_BACKUPS} deploys`,
    );
  }
  await writeJournal(t, l, {
    version: 1,
    kind: 'rollback',
    phase: 'commit',
    deployId: s.deployId,
    backupId: id,
    newState: manifest.previousState,
  });
  await restoreBackup(t, l, manifest, s.concurrency);
  const previous = manifest.previousState;
  await recordBackupState(t, l, id, previous);
  await discardBackup(t, l, id);
  await t.unlink(l.journal);
  // The undone deploy's manifest goes; the restored state's stays.
  await pruneManifests(
    t,
    l,
    previous?.version === 3 && previous.manifestFile ? [previous.manifestFile.file] : [],
  );
  const paths = (action: 'restore' | 'remove') =>
    manifest.entries.filter((e) => e.action === action).map((e) => e.path);
  return {
    restored: previous?.release ?? null,
    deployId: id,
    // As a session reads it (version 3, its manifest readable).
    state: await readState(t, l),
    // `units`: which units' files came back, to activate them again.
    restoredPaths: paths('restore'),
    removedPaths: paths('remove'),
  };
}
