/**
 * Backups: every file a deploy replaces or deletes is kept, with its mode (or
 * link text), in `backups/<deployId>/`. The manifest is written last, so a
 * backup without one is incomplete and ignored. Restoring copies each file
 * to a temporary name and renames it into place: atomic per file, idempotent
 * as a whole (a crash mid-restore is finished by restoring again), and the
 * restored file has a fresh mtime, so hosts that import on arrival see it.
 */
import { TextChunks } from './text-chunks.js';
import { posix } from 'node:path';
import type { PublishAfter, Transport } from '../transport/transport.js';
import { copyOnTarget } from './target-copy.js';
import { storedState, type StoredState, type TargetState } from './state.js';
import { keepInBackup } from './manifest-store.js';
import type { Layout } from './layout.js';
import { readJson, writeChunksAtomic } from './json-file.js';
import { forEachLimit, mapLimit } from '../pool.js';
import { byDepthDeepestFirst, deepestFolders, parentsAreFolders, parentsOf } from './safe-path.js';
import { isBackupName, makeStateDirs } from './state-folder.js';
import { checked } from './state-schema.js';
import { DiffshipError } from '../errors.js';
import { metadataConcurrency } from './in-flight.js';
import { inOrderWith } from './in-order.js';
import { indexReader } from '../diff/listing-view.js';
import { keepAll, restoreMode, type BackupEntry, type RestoreEntry } from './backup-keep.js';

/** How many backups a target keeps (SPEC §3). */
export const KEEP_BACKUPS = 3;

export interface BackupManifest {
  version: 1;
  deployId: string;
  createdAt: string;
  /**
   * The target's state before the deploy, as stored: what a rollback records again. Its
   * manifest file is kept alive in the backup folder (manifest-store.ts).
   */
  previousState: StoredState | null;
  entries: BackupEntry[];
  /** Folders the deploy created, shallowest first: removed again when empty. */
  createdDirs: string[];
  /**
   * Folders the deploy removes (a folder the release turns into a file, and every folder in
   * it), shallowest first: made again on a restore, so an empty one comes back too. Absent
   * in backups from before it was recorded.
   */
  removedDirs?: string[];
}

const manifestPath = (l: Layout, id: string) => l.backupListing(id);

/**
 * Back up the current content of the paths `ops` name (files, links or nothing). The
 * operations, not their paths: a listing's writes make each path when read, and an array of
 * 500,000 path strings was ~30 MB of heap until the backup was written. `expected`: paths the
 * plan saw as files there (backupEntry links them with their lstat). With `defer`, a
 * listing the transport can publish in a chain is returned unwritten (the deploy's journal
 * publishes it, json-file.ts), else null once it is written.
 */
export async function takeBackup(
  t: Transport,
  l: Layout,
  deployId: string,
  ops: readonly { readonly path: string }[],
  previousState: TargetState | null,
  createdDirs: string[],
  concurrency: number,
  more: { removedDirs?: readonly string[]; defer?: boolean; expected?: ReadonlySet<string> | null } = {},
): Promise<PublishAfter | null> {
  const removedDirs = more.removedDirs ?? [];
  const dir = l.backupFor(deployId);
  // The links into it go right behind its mkdir where the host keeps the order (in-order.ts).
  const made = inOrderWith(t, makeStateDirs(t, [l.backups, dir, `${dir}/files`]));
  await made.queued;
  // A path in a folder this deploy creates has nothing to back up: no lstat needed (a first
  // deploy of 50,000 files skips 50,000 of them), and no entry object: it is written as "remove".
  const newDirs = new Set(createdDirs);
  // Their indices as 4 bytes each outside the heap (900,000 strays deleted: an array of numbers
  // grown by push was 10 MB of heap, and mapLimit's results 7 MB more, for the whole phase),
  // grown as they come: a first deploy's paths are nearly all in new folders.
  let indices = new Uint32Array(Math.min(ops.length, 1024));
  let count = 0;
  let k = 0;
  for (const { path } of ops) {
    if (!newDirs.has(posix.dirname(path))) {
      if (count === indices.length) {
        const more = new Uint32Array(Math.min(ops.length, indices.length * 2));
        more.set(indices);
        indices = more;
      }
      indices[count++] = k;
    }
    k++;
  }
  const existing = indices.subarray(0, count);
  // What each path held, by its index, as a number (no entry object per path: 300,000 strays
  // deleted were ~30 MB of heap until the backup was written): its file's mode + 1, LINK, or 0
  // (nothing there, or never looked at: written as "remove"). None at all where no path may
  // exist (a first deploy). Links' texts apart (rare).
  const held = new Int32Array(existing.length > 0 ? ops.length : 0);
  const linkTexts = new Map<number, string>();
  // Paths by index without a key string (a listing's: diff/listing-view.ts).
  const op = indexReader(ops);
  // The previous manifest's link goes with the files' (one round trip over SSH, not two more).
  const manifestFile = previousState?.manifestFile;
  const settled = await made.before(
    Promise.allSettled([
      keepAll(t, dir, existing, metadataConcurrency(t, concurrency), (i) => op(i).path, {
        expected: (path) => more.expected?.has(path) === true,
        held: (i, e) => {
          if (e.action === 'remove') return;
          if (e.type === 'file') held[i] = e.mode + 1;
          else {
            held[i] = LINK;
            linkTexts.set(i, e.linkTarget);
          }
        },
      }),
      manifestFile ? keepInBackup(t, l, deployId, manifestFile) : undefined,
    ]),
  );
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  const manifest: Omit<BackupManifest, 'entries'> = {
    version: 1,
    deployId,
    createdAt: new Date().toISOString(),
    previousState: previousState ? storedState(previousState) : null,
    createdDirs,
    ...(removedDirs.length > 0 ? { removedDirs: [...removedDirs] } : {}),
  };
  const entry = (i: number): BackupEntry => entryOf(op(i).path, i, held[i] ?? 0, linkTexts);
  // Made durable with the staged files, by the engine's one syncWritten() before its journal.
  return writeChunksAtomic(
    t,
    manifestPath(l, deployId),
    (reuse) => backupJson(manifest, ops.length, entry, reuse),
    { sync: false, defer: more.defer === true },
  );
}

/** `held` of a path that was a symlink (a file's is its mode + 1, 1 to 512). */
const LINK = -1;

/** A path's entry from what `held` says of it, made as the backup's JSON is written (keys in this order). */
function entryOf(path: string, i: number, held: number, linkTexts: ReadonlyMap<number, string>): BackupEntry {
  if (held > 0) return { path, action: 'restore', type: 'file', mode: held - 1, file: `files/${i}` };
  if (held === LINK) return { path, action: 'restore', type: 'symlink', linkTarget: linkTexts.get(i)! };
  return { path, action: 'remove' };
}

/** Bytes per chunk of the backup's JSON. */
const CHUNK_BYTES = 256 * 1024;

/**
 * The backup manifest as JSON text in chunks, one entry per line, made as they are taken
 * (TextChunks: joined lines were ~90 MB of promoted garbage at 500,000 entries, the
 * deploy's peak RSS). `reuse`: one buffer for every chunk (writeChunksAtomic's count).
 */
function* backupJson(
  head: Omit<BackupManifest, 'entries'>,
  count: number,
  entry: (i: number) => BackupEntry,
  reuse: boolean,
): Generator<Buffer, void, undefined> {
  const marker = '"\\u0000entries\\u0000"'; // how JSON.stringify writes the placeholder below
  const shell = JSON.stringify({ ...head, entries: '\u0000entries\u0000' }, null, 2);
  // The last key: a string of the previous state that held the marker's text comes before it.
  const at = shell.lastIndexOf(marker);
  yield Buffer.from(`${shell.slice(0, at)}[`);
  const text = new TextChunks(CHUNK_BYTES, reuse);
  for (let i = 0; i < count; i++) {
    const line = `${i === 0 ? '' : ','}\n    ${JSON.stringify(entry(i))}`;
    const full = text.roomFor(line);
    if (full) yield full;
    text.put(line);
  }
  const last = text.take();
  if (last) yield last;
  yield Buffer.from(`${count === 0 ? '' : '\n  '}]${shell.slice(at + marker.length)}\n`);
}

export async function readBackup(t: Transport, l: Layout, deployId: string): Promise<BackupManifest | null> {
  const file = manifestPath(l, deployId);
  const raw = await readJson<unknown>(t, file);
  if (raw === null) return null;
  const m = checked<BackupManifest>('manifest', raw, `${t.description}/${file}`, { stateDir: l.dir });
  if (m.deployId !== deployId)
    throw new DiffshipError(
      'E_STATE',
      `${t.description}/${file}: deployId does not match its folder — remove the state folder to redeploy from scratch`,
    );
  return m;
}

/**
 * Backup folders diffship made: named like a deploy id and real folders (a link
 * there is never followed). Anything else in `backups/` is left alone.
 */
async function backupFolders(t: Transport, l: Layout): Promise<string[]> {
  const names = ((await t.readdir(l.backups)) ?? []).filter(isBackupName);
  // All at once: over SSH, lstats asked together go in one round trip.
  const entries = await Promise.all(names.map((name) => t.lstat(l.backupFor(name))));
  return names.filter((_, i) => entries[i]?.type === 'dir');
}

/** Complete backups, newest first (of `folders`, when the caller listed them already). */
export async function listBackups(t: Transport, l: Layout, folders?: string[]): Promise<string[]> {
  const names = folders ?? (await backupFolders(t, l));
  const entries = await Promise.all(names.map((name) => t.lstat(manifestPath(l, name))));
  return names
    .filter((_, i) => entries[i]?.type === 'file')
    .sort()
    .reverse();
}

/**
 * The backup folders: complete (newest first), and incomplete (without a manifest: leftovers
 * of a run that never reached its journal).
 */
export async function backupsOnTarget(
  t: Transport,
  l: Layout,
): Promise<{ complete: string[]; incomplete: string[] }> {
  // One listing for both questions: every deploy asks this, a fleet's targets all at once.
  const folders = await backupFolders(t, l);
  const complete = await listBackups(t, l, folders);
  // A set: the folders are the target's, as many as anyone planted there.
  const whole = new Set(complete);
  return { complete, incomplete: folders.filter((name) => !whole.has(name)) };
}

/** Put every path of the backup back as it was. Safe to run again after a crash. */
export async function restoreBackup(
  t: Transport,
  l: Layout,
  m: BackupManifest,
  concurrency: number,
): Promise<void> {
  const dir = l.backupFor(m.deployId);
  const tmpDir = `${l.staging}/restore-${m.deployId}`;
  await makeStateDirs(t, [l.staging, tmpDir]);
  // Files the deploy added go first: one may stand where a restored folder must come back. A
  // depth at a time, deepest first (a folder empties once what is below it goes); within one
  // depth no path holds another, so they go together (over SSH a few waits a depth, not a file).
  const added = m.entries.filter((e) => e.action === 'remove').map((e) => e.path);
  for (const level of byDepthDeepestFirst(added))
    await forEachLimit(level, metadataConcurrency(t, concurrency), (p) => removeFileOrEmptyDir(t, p));
  await remakeRemovedDirs(t, m.removedDirs ?? []);
  await restoreEntries(t, dir, tmpDir, m.entries, concurrency);
  await pruneEmptyDirs(t, m.createdDirs);
  await t.removeTree(tmpDir);
}

/**
 * The files and links of the backup put back, each copied to a temporary name and renamed over
 * its path. Pass by pass over all of them (their folders looked at, then made; the temporaries
 * cleared; the backup files looked at; the copies; what stands at each path; the renames): over
 * SSH each pass is one round trip where file after file in lanes was seven or more a file.
 */
async function restoreEntries(
  t: Transport,
  dir: string,
  tmpDir: string,
  entries: readonly BackupEntry[],
  concurrency: number,
): Promise<void> {
  const restores: { e: RestoreEntry; tmp: string }[] = [];
  entries.forEach((e, i) => {
    if (e.action === 'restore') restores.push({ e, tmp: `${tmpDir}/${i}` });
  });
  if (restores.length === 0) return;
  const lanes = metadataConcurrency(t, concurrency);
  await clearParents(
    t,
    restores.map((r) => r.e.path),
    lanes,
  );
  const folders = restores.map((r) => posix.dirname(r.e.path)).filter((d) => d !== '.');
  await forEachLimit(deepestFolders(folders), lanes, (d) => t.mkdirp(d));
  await forEachLimit(restores, lanes, (r) => t.unlink(r.tmp));
  await putBackCopies(
    t,
    dir,
    restores.map(({ e, tmp }) => ({ e, to: tmp })),
    concurrency,
  );
  const current = await mapLimit(restores, lanes, (r) => t.lstat(r.e.path));
  // A folder the deploy put where a file was goes first. Files are never inside one another,
  // so neither are these folders: they go together.
  const inTheWay = restores.filter((_, k) => current[k]?.type === 'dir').map((r) => r.e.path);
  await forEachLimit(inTheWay, lanes, (p) => t.removeTree(p));
  await forEachLimit(restores, lanes, (r) => t.rename(r.tmp, r.e.path));
}

/**
 * Every folder above `paths` looked at (all at once): a link there is refused, never written
 * through; a file in the way of a folder goes (the release put it there; nothing is below it).
 */
async function clearParents(t: Transport, paths: readonly string[], lanes: number): Promise<void> {
  const parents = [...new Set(paths.flatMap(parentsOf))];
  const found = await mapLimit(parents, lanes, (p) => t.lstat(p));
  const link = parents.findIndex((_, k) => found[k]?.type === 'symlink');
  if (link >= 0) {
    const below = paths.find((p) => p.startsWith(`${parents[link]}/`))!;
    throw new DiffshipError(
      'E_UNSAFE',
      `${t.description}: ${parents[link]} is a symlink, so diffship will not restore ${below} below it — replace it with a real folder, or remove it`,
    );
  }
  const inTheWay = parents.filter((_, k) => found[k] !== null && found[k]!.type !== 'dir');
  await forEachLimit(inTheWay, lanes, (p) => t.unlink(p));
}

/** A backed-up file must be a regular file of the backup: never read through a link. */
async function checkBackupFile(t: Transport, rel: string): Promise<void> {
  const entry = await t.lstat(rel);
  if (entry?.type !== 'file')
    throw new DiffshipError(
      'E_STATE',
      `${t.description}/${rel}: the backup file is ${entry ? `a ${entry.type}` : 'missing'} — remove the state folder to redeploy from scratch`,
    );
}

/**
 * Backed-up files and links written to `to` (a fresh file: a fresh mtime): every backup file
 * looked at in one pass, then the copies in `concurrency` lanes, streamed where the transport
 * can (target-copy.ts): a restored file may be of any size, and its bytes cross the network
 * only where the host cannot copy it itself.
 */
export async function putBackCopies(
  t: Transport,
  dir: string,
  items: ReadonlyArray<{ e: RestoreEntry; to: string }>,
  concurrency: number,
): Promise<void> {
  const files = items.flatMap(({ e }) => (e.type === 'file' ? [`${dir}/${e.file}`] : []));
  const lanes = metadataConcurrency(t, concurrency);
  await forEachLimit(files, lanes, (rel) => checkBackupFile(t, rel));
  // All the lanes: over SSH the file helper copies on the host (no bytes cross), and where it
  // cannot, the transport's own limit on open files (SshFiles) bounds the copies through here.
  await forEachLimit(items, lanes, ({ e, to }) =>
    e.type === 'symlink'
      ? t.symlink(e.linkTarget, to)
      : copyOnTarget(t, `${dir}/${e.file}`, to, restoreMode(e.mode)),
  );
}

async function removeFileOrEmptyDir(t: Transport, path: string): Promise<void> {
  // A file where the path's folder would be: a deploy turning that file into a folder was cut
  // before the file went, so nothing it added is below it (the file is restored next).
  if ((await parentsAreFolders(t, path, { fileIsMissing: true })) === 'missing') return;
  const entry = await t.lstat(path);
  if (entry === null) return;
  if (entry.type === 'dir') await t.rmdir(path);
  else await t.unlink(path);
}

/**
 * The folders a deploy removed, made again shallowest first (never below a link or a file): a
 * depth at a time, each depth's looks together, then its mkdirs (two round trips a depth over
 * SSH, not a few a folder).
 */
async function remakeRemovedDirs(t: Transport, dirs: readonly string[]): Promise<void> {
  for (const level of byDepthDeepestFirst(dirs).reverse()) {
    const missing = await Promise.all(
      level.map(async (d) => {
        const [entry, ...ups] = await Promise.all([d, ...parentsOf(d)].map((p) => t.lstat(p)));
        return entry === null && ups.every((u) => u?.type === 'dir');
      }),
    );
    await Promise.all(level.filter((_, i) => missing[i]).map((d) => t.mkdirp(d)));
  }
}

/** Remove folders that are empty, deepest first (a parent empties once its children go). */
export async function pruneEmptyDirs(t: Transport, dirs: readonly string[]): Promise<void> {
  // Deepest first, a depth at a time: a folder emptied below may let its parent go. Within one
  // depth no folder holds another, so their looks go together (one record over SSH) and so do
  // their removals: two waits per depth, not three or more per folder.
  for (const level of byDepthDeepestFirst(dirs)) {
    await Promise.all(
      level.map(async (d) => {
        // Only a real folder below real folders: never an rmdir through a link (a restored link may
        // stand where a created folder was; what lies below it is not this deploy's).
        const [entry, ...ups] = await Promise.all([d, ...parentsOf(d)].map((p) => t.lstat(p)));
        if (entry?.type === 'dir' && ups.every((u) => u?.type === 'dir')) await t.rmdir(d);
      }),
    );
  }
}

/**
 * Drop a backup: the manifest goes first, so a half-removed backup is never taken for a whole
 * one (the folder's removal chained to it, in one round trip, where the transport can).
 * `isFolder`: the caller has just seen it is a real folder (pruneBackups), spared asking again
 * (a round trip over SSH).
 */
export async function discardBackup(
  t: Transport,
  l: Layout,
  deployId: string,
  isFolder = false,
): Promise<void> {
  // Through a link, the manifest unlink would delete a file elsewhere: only a real backup folder.
  if (!isBackupName(deployId)) return;
  if (!isFolder && (await t.lstat(l.backupFor(deployId)))?.type !== 'dir') return;
  if (t.unlinkThenRemoveTree) return t.unlinkThenRemoveTree(manifestPath(l, deployId), l.backupFor(deployId));
  await t.unlink(manifestPath(l, deployId));
  await t.removeTree(l.backupFor(deployId));
}

/**
 * Keep the newest `keep` backups (SPEC: the last 3); only backup folders diffship made are removed.
 * `census`: the backups the lock's first look saw (state-census.ts) and the complete one this
 * deploy made since: nothing is listed or looked at again (two round trips over SSH).
 */
export async function pruneBackups(
  t: Transport,
  l: Layout,
  keep: number,
  census?: { complete: readonly string[]; made: string },
): Promise<void> {
  const found = census
    ? new Map([...census.complete, census.made].map((name) => [name, true]))
    : await backupsOn(t, l);
  const complete = [...found]
    .filter(([, whole]) => whole)
    .map(([name]) => name)
    .sort()
    .reverse();
  const keepSet = new Set(complete.slice(0, keep));
  for (const name of found.keys()) if (!keepSet.has(name)) await discardBackup(t, l, name, true);
}

/** The backups that are real folders, by name, each with whether it holds its listing (complete). */
async function backupsOn(t: Transport, l: Layout): Promise<Map<string, boolean>> {
  const listed = ((await t.readdir(l.backups)) ?? []).filter(isBackupName);
  // Folders and their manifests asked together (one round trip over SSH); only real folders count.
  const [folders, manifests] = await Promise.all([
    Promise.all(listed.map((name) => t.lstat(l.backupFor(name)))),
    Promise.all(listed.map((name) => t.lstat(manifestPath(l, name)))),
  ]);
  const found = new Map<string, boolean>();
  listed.forEach((name, i) => {
    if (folders[i]?.type === 'dir') found.set(name, manifests[i]?.type === 'file');
  });
  return found;
}
