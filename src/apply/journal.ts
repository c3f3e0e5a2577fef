/**
 * The journal makes a deploy (or a rollback) crash-safe (SPEC §3 "Crash
 * safety"). It is written, by rename, after the backup is complete and before
 * the first file of the target changes:
 *
 * - deploy, and the recorded state is not yet this deploy's: files may be half-way
 *   between old and new. The next run undoes it from the backup, so the target is
 *   wholly the old release.
 * - deploy, and the state already names this deploy: every file was in place and
 *   recorded; only the journal was left. The next run drops it.
 * - rollback: the next run restores the backup again (idempotent) and records
 *   `newState`.
 */
import { finishSwaps } from './unit-reveal.js';
import type { PublishAfter, Transport } from '../transport/transport.js';
import type { Logger } from '../log.js';
import type { Layout } from './layout.js';
import type { StoredState } from './state.js';
import { isTempOf, readJson, writeJsonAtomic, writeTextAtomicWithPending } from './json-file.js';
import { discardBackup, readBackup, restoreBackup } from './backup.js';
import { leftoverBackups } from './leftover-backups.js';
import { readState, writeState, type TargetState } from './state.js';
import { checked } from './state-schema.js';
import { unitBackup } from './unit-backup.js';
import { pruneManifests, restoreFromBackup } from './manifest-store.js';

export interface Journal {
  version: 1;
  /** `unit-rollback`: only the units at `paths` go back (docs/units.md#when-a-unit-fails). */
  kind: 'deploy' | 'rollback' | 'unit-rollback';
  phase: 'commit';
  /** `unit-rollback`: the unit folders (or files) restored from the backup. */
  paths?: string[];
  /** The deploy this journal belongs to. */
  deployId: string;
  /** The backup to restore on undo (deploy) or to apply (rollback). */
  backupId: string;
  /** The state to record when finished, as stored; null removes the state (nothing recorded). */
  newState: StoredState | null;
}

export async function readJournal(t: Transport, l: Layout): Promise<Journal | null> {
  const raw = await readJson<unknown>(t, l.journal);
  if (raw === null) return null;
  return checked<Journal>('journal', raw, `${t.description}/${l.journal}`, { stateDir: l.dir });
}

/**
 * What the next run will do with a journal left behind, without doing it: `finish` when
 * its deploy is already in place and recorded (or it is a rollback), `undo` otherwise.
 */
export async function pendingRecovery(t: Transport, l: Layout): Promise<'finish' | 'undo' | null> {
  const j = await readJournal(t, l);
  if (j === null) return null;
  if (j.kind !== 'deploy') return 'finish';
  return (await readState(t, l))?.deployId === j.deployId ? 'finish' : 'undo';
}

/**
 * `withPending`: the journal's fsync joins the one `syncWritten()` of the files it makes count
 * (staged files, backup), which are then durable before its rename (json-file.ts); with it,
 * `before`: files published right before it (the backup's listing: one wait for the host over SSH).
 */
export async function writeJournal(
  t: Transport,
  l: Layout,
  j: Journal,
  options: { withPending?: boolean; before?: readonly PublishAfter[] } = {},
): Promise<void> {
  const text = `${JSON.stringify(j, null, 2)}\n`;
  if (options.withPending) await writeTextAtomicWithPending(t, l.journal, text, options.before);
  else await writeJsonAtomic(t, l.journal, j);
}

export async function recordState(
  t: Transport,
  l: Layout,
  state: TargetState | StoredState | null,
): Promise<void> {
  if (state === null) await t.unlink(l.state);
  else await writeState(t, l, state);
}

/**
 * Record the state a backup restores (a rollback's): its manifest file first comes
 * back from the backup, where it was kept alive. Then only that manifest stays.
 */
export async function recordBackupState(
  t: Transport,
  l: Layout,
  backupId: string,
  state: StoredState | null,
): Promise<void> {
  const ref = state?.version === 3 ? state.manifestFile : null;
  if (ref) await restoreFromBackup(t, l, backupId, ref);
  await recordState(t, l, state);
}

/**
 * Finish or undo whatever an interrupted run left. Returns a one-line account, or
 * null when there was nothing to do. Every branch is safe to interrupt and rerun.
 */
export async function recover(
  t: Transport,
  l: Layout,
  log: Logger,
  concurrency: number,
): Promise<string | null> {
  // A unit swap cut between its two renames: the old unit folder goes back before anything else.
  await finishSwaps(t, l);
  const j = await readJournal(t, l);
  let account: string | null = null;
  if (j !== null) {
    const manifest = await readBackup(t, l, j.backupId);
    const state = await readState(t, l);
    if (j.kind === 'deploy' && state?.deployId === j.deployId) {
      account = `finished interrupted deploy ${j.deployId}: its files were all in place and recorded`;
    } else if (j.kind === 'deploy') {
      // Without a manifest the undo already ran to the end (the backup is dropped only after it).
      if (manifest !== null) {
        await restoreBackup(t, l, manifest, concurrency);
        await discardBackup(t, l, j.backupId);
      }
      account = `undid interrupted deploy ${j.deployId}: the target is back at its recorded release`;
    } else if (j.kind === 'unit-rollback') {
      // The deploy's backup stays: it still undoes the whole deploy (`diffship rollback`).
      if (manifest !== null) await restoreBackup(t, l, unitBackup(manifest, j.paths ?? []), concurrency);
      await recordState(t, l, j.newState);
      account = `finished interrupted rollback of unit(s) ${(j.paths ?? []).join(', ')}`;
    } else {
      if (manifest !== null) {
        await restoreBackup(t, l, manifest, concurrency);
        await recordBackupState(t, l, j.backupId, j.newState);
        await discardBackup(t, l, j.backupId);
      }
      account = `finished interrupted rollback of ${j.backupId}`;
    }
    await t.unlink(l.journal);
    log.warn(`${t.description}: ${account}`);
  }
  // Staging and incomplete backups are leftovers of a run that never reached its journal; a
  // manifest written for a deploy that never got recorded (or one replaced) goes too. Three
  // places apart, asked at once (one round trip over SSH, not three); all end before this does.
  // A staging folder the state folder's look (taken with the lock) saw absent is not asked
  // about again: over SSH that lstat is answered from the look, and spares a round trip.
  // A complete backup of a deploy that never committed goes too (leftover-backups.ts).
  const stored = storedOrUnread(t, l);
  let uncommitted: string[] = [];
  const settled = await Promise.allSettled([
    t.lstat(l.staging).then((e) => (e === null ? undefined : t.removeTree(l.staging))),
    leftoverBackups(
      t,
      l,
      stored.then((s) => (s === undefined ? s : (s?.deployId ?? null))),
    ).then(async (found) => {
      for (const name of found.incomplete) await t.removeTree(l.backupFor(name));
      for (const name of found.uncommitted) await discardBackup(t, l, name);
      uncommitted = found.uncommitted;
    }),
    recordedManifest(t, l, stored).then((recorded) => pruneManifests(t, l, recorded)),
    dropCutTemps(t, l),
  ]);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  if (uncommitted.length === 0) return account;
  const dropped = `removed backup ${uncommitted.join(', ')}: its deploy was cut off before its commit, so it undid nothing`;
  log.warn(`${t.description}: ${dropped}`);
  return account === null ? dropped : `${account}; ${dropped}`;
}

/**
 * A state or journal written whole by rename, its run cut between the write and the rename (a
 * kill of a local deploy; a host's crash): its temporary stays beside it. Under the lock only
 * this run writes them (the lock's own temporaries: lock.ts). The listing is the one the lock's
 * look answered over SSH: nothing is asked unless such a file is there.
 */
async function dropCutTemps(t: Transport, l: Layout): Promise<void> {
  for (const name of (await t.readdir(l.dir)) ?? []) {
    if (!isTempOf(l.state, name) && !isTempOf(l.journal, name)) continue;
    const rel = `${l.dir}/${name}`;
    if ((await t.lstat(rel))?.type === 'file') await t.unlink(rel);
  }
}

/** state.json as stored (null: none), or undefined when it can't be read (readState says why). */
async function storedOrUnread(t: Transport, l: Layout): Promise<StoredState | null | undefined> {
  try {
    const raw = await readJson<unknown>(t, l.state);
    if (raw === null) return null;
    return checked<StoredState>('state', raw, l.state, { manifestParsedLater: true });
  } catch {
    return undefined;
  }
}

/** The manifest file state.json names (none when it names none; all of them when it can't be read). */
async function recordedManifest(
  t: Transport,
  l: Layout,
  stored: Promise<StoredState | null | undefined>,
): Promise<string[]> {
  const state = await stored;
  if (state === undefined) return [...((await t.readdir(l.manifests)) ?? [])];
  return state?.version === 3 && state.manifestFile ? [state.manifestFile.file] : [];
}
