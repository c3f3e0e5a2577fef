/**
 * Per-unit rollback (docs/units.md#when-a-unit-fails): the units that failed (or were
 * never reached) go back to their files from the deploy's backup; every other file of
 * the deploy stays. Journaled like a rollback (kind `unit-rollback`, with the unit
 * paths), so a crash is finished by the next run; the deploy's backup stays, so
 * `diffship rollback` still undoes the whole deploy.
 *
 * With `reveal: unit` a unit folder goes back whole: its old version is built in
 * staging (unchanged files hard-linked, old files copied from the backup and checked
 * against their blob ids), then swapped with the live folder (unit-reveal.ts).
 */
import { posix } from 'node:path';
import { DiffshipError } from '../errors.js';
import type { Transport } from '../transport/transport.js';
import type { Layout } from './layout.js';
import { putBackCopies, readBackup, restoreBackup, type BackupManifest } from './backup.js';
import { linkLiveInto } from './unit-build.js';
import { recordState, writeJournal } from './journal.js';
import type { RollbackSession } from './rollback.js';
import { makeStateDir } from './state-folder.js';
import { storedState, type TargetState } from './state.js';
import { heldBackState, inUnits, unitBackup } from './unit-backup.js';
import { backupManifest, pruneManifests, withManifestFile } from './manifest-store.js';
import { swap } from './unit-reveal.js';

export interface UnitRollbackResult {
  /** The state now recorded: the deploy's release, these units held back. */
  state: TargetState;
  /** `reveal: unit`: how each unit folder went back (`exchange`, `renames …`, `removed`). */
  swaps: Array<{ unit: string; how: string }>;
}

/** Put `units` back to their files before the deploy the recorded state names. */
export async function rollbackUnitFiles(
  s: RollbackSession,
  units: ReadonlyArray<{ name: string; path: string }>,
  reveal: boolean,
): Promise<UnitRollbackResult> {
  const t = s.transport;
  const l = s.layout;
  const state = s.state;
  const backup = state === null ? null : await readBackup(t, l, state.deployId);
  if (state === null || backup === null)
    throw new DiffshipError(
      'E_STATE',
      `${t.description}: no backup of the recorded deploy to put units back from`,
    );
  const paths = units.map((u) => u.path);
  const previous = backup.previousState && {
    ...backup.previousState,
    manifest: await backupManifest(t, l, backup.deployId, backup.previousState),
  };
  // Its manifest is in a file of its own before the journal names the state.
  const newState = await withManifestFile(
    t,
    l,
    s.deployId,
    heldBackState(state, previous as TargetState | null, units),
  );
  await writeJournal(t, l, {
    version: 1,
    kind: 'unit-rollback',
    phase: 'commit',
    deployId: s.deployId,
    backupId: backup.deployId,
    newState: storedState(newState),
    paths,
  });
  const staging = l.stagingFor(s.deployId);
  const swaps: UnitRollbackResult['swaps'] = [];
  if (reveal) {
    await makeStateDir(t, l.staging);
    await makeStateDir(t, staging);
    for (const [k, path] of paths.entries()) {
      const how = await swapBack(
        t,
        l,
        { staging, k, concurrency: s.concurrency },
        unitBackup(backup, [path]),
        path,
        newState,
      );
      if (how !== null) swaps.push({ unit: path, how });
    }
  }
  // Units not swapped whole go back file by file (atomic per file), as a rollback does.
  const whole = swaps.map((x) => x.unit);
  const rest = unitBackup(backup, paths);
  await restoreBackup(
    t,
    l,
    { ...rest, entries: rest.entries.filter((e) => !inUnits(e.path, whole)) },
    s.concurrency,
  );
  await recordState(t, l, newState);
  await t.unlink(l.journal);
  await t.removeTree(staging);
  // The deploy's manifest is replaced; the previous one lives on in the backup.
  await pruneManifests(t, l, newState.manifestFile ? [newState.manifestFile.file] : []);
  return { state: newState, swaps };
}

/**
 * Build the unit folder's old version beside the live one and swap it in. Null when
 * the unit is not a folder here (then it goes back file by file).
 */
async function swapBack(
  t: Transport,
  l: Layout,
  { staging, k, concurrency }: { staging: string; k: number; concurrency: number },
  m: BackupManifest,
  unit: string,
  state: TargetState,
): Promise<string | null> {
  const live = await t.lstat(unit);
  if (live?.type !== 'dir' || m.entries.some((e) => e.path === unit)) return null;
  const restore = m.entries.flatMap((e) => (e.action === 'restore' ? [e] : []));
  const skip = new Set(m.entries.map((e) => e.path));
  const created = new Set(m.createdDirs);
  const entries = await t.walk(unit);
  // A unit this deploy added (nothing to restore, every file its own): it leaves at once.
  if (
    restore.length === 0 &&
    entries.every((e) => (e.type === 'dir' ? created.has(e.path) : skip.has(e.path)))
  ) {
    await t.rename(unit, `${staging}/gone-${k}`);
    return 'removed';
  }
  const built = `${staging}/unit-${k}`;
  const into = (p: string) => `${built}/${p.slice(unit.length + 1)}`;
  // Its live files that stay, then its old files from the backup (unit-build.ts: a pass at a time).
  const kept = entries.filter((e) => !skip.has(e.path) && !created.has(e.path));
  await t.mkdirp(built);
  await linkLiveInto(
    t,
    kept,
    into,
    restore.map((e) => posix.dirname(into(e.path))),
    concurrency,
  );
  const dir = l.backupFor(m.deployId);
  await putBackCopies(
    t,
    dir,
    restore.map((e) => ({ e, to: into(e.path) })),
    concurrency,
  );
  await checkBuilt(t, state, unit, into);
  const how = await swap(t, staging, k, built, unit);
  await t.removeTree(built);
  return how;
}

/**
 * Every regular file of the built folder the recorded manifest lists (the unit's old
 * files) is hashed where it now is, against its blob id, before the swap.
 */
async function checkBuilt(
  t: Transport,
  state: TargetState,
  unit: string,
  into: (p: string) => string,
): Promise<void> {
  const files = (state.manifest?.files ?? []).filter((f) => inUnits(f.path, [unit]) && f.mode !== '120000');
  const hashes = await t.hashFiles(
    files.map((f) => into(f.path)),
    { algorithm: state.release.length === 64 ? 'sha256' : 'sha1' },
  );
  for (const f of files) {
    if (hashes.get(into(f.path)) !== f.blob)
      throw new DiffshipError(
        'E_VERIFY',
        `${t.description}: the previous ${f.path} rebuilt for the unit rollback does not match blob ${f.blob}`,
      );
  }
}
