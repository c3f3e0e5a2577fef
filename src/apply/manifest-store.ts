/**
 * Where the manifest lives (state version 3): its own file in the state folder,
 * `manifests/<deployId>.tsv` (format: manifest-text.ts), written durably before
 * the state's rename, so that one rename commits both. `state.json` names it
 * with its size and SHA-256: a swapped, truncated or edited file is E_STATE.
 *
 * The folder holds the manifest the state names (and, for a moment, the next
 * one). A backup keeps the manifest of the state it can restore as a hard link
 * (`backups/<id>/previous-manifest.tsv`, a copy where links are unsupported):
 * no list is copied into JSON, and the file stays alive as long as the backup.
 * A rollback links it back before it records that state.
 *
 * Reading is cheap and lazy: the text is read and its hash checked, but lines
 * are parsed (and checked as hostile input) only when `files` is used. Texts
 * are kept in a small cache keyed by file, hash and mtime, so a rollout's
 * preflight and its deploy of the same target read and parse a manifest once.
 */
import { aType } from '../entry-type.js';
import { createHash, randomBytes } from 'node:crypto';
import { DiffshipError } from '../errors.js';
import type { PublishAfter, Transport } from '../transport/transport.js';
import type { Layout } from './layout.js';
import { MANIFEST_FILE_MAX } from './state-schema.js';
import {
  echoFileName,
  isEchoFileName,
  isManifestFileName,
  makeStateDir,
  makeStateDirs,
} from './state-folder.js';
import type { FileStat, Manifest } from '../plan/manifest-types.js';
import type { TargetPlan } from '../plan/types.js';
import {
  manifestBytes,
  manifestFromBytes,
  isOnDisk,
  manifestOnDisk,
  StoredManifest,
  type Shared,
} from './stored-manifest.js';
import { bufferSource, checkOpened, type ManifestSource } from './manifest-source.js';
import { manifestFileBytes, type ManifestBytes } from './manifest-stream.js';
import { patched, type NextManifest } from './manifest-patch.js';
import { publishedWithState } from './manifest-with-state.js';
import { planManifest, statWritten } from './manifest.js';

/** What state.json records of its manifest file. */
export interface ManifestRef {
  /** The file's name in `manifests/`: `<deployId>.tsv`. */
  file: string;
  /** SHA-256 of its bytes, lowercase hex. */
  sha256: string;
  size: number;
}

const manifestName = (deployId: string): string => `${deployId}.tsv`;

/** The backup's link to the manifest of the state it restores. */
const backupManifestPath = (l: Layout, backupId: string): string =>
  `${l.backupFor(backupId)}/previous-manifest.tsv`;

/**
 * Texts by hash, newest last; the oldest go once their total passes the budget, or
 * their count (a file read by offset costs no memory here, only its descriptor). An SSH
 * target's big manifest is read from a local copy (Transport.openRead): those copies have
 * a budget of their own, of TMPDIR's room (one is closed once nothing holds it any more).
 */
const cache = new Map<string, Shared>();
const CACHE_BYTES = 64 * 1024 * 1024;
const CACHE_SPOOLED_BYTES = 1024 * 1024 * 1024;
const CACHE_FILES = 64;

const heldBytes = (s: Shared) => s.source.buffer?.length ?? 0;
const spooledBytes = (s: Shared) => (s.source.spooled ? s.source.size : 0);

function remember(key: string, shared: Shared): void {
  cache.delete(key);
  cache.set(key, shared);
  let total = 0;
  let spooled = 0;
  for (const s of cache.values()) {
    total += heldBytes(s);
    spooled += spooledBytes(s);
  }
  for (const [k, s] of cache) {
    const within = total <= CACHE_BYTES && spooled <= CACHE_SPOOLED_BYTES && cache.size <= CACHE_FILES;
    if (within || k === key) break;
    cache.delete(k);
    total -= heldBytes(s);
    spooled -= spooledBytes(s);
  }
}

/**
 * Whether this process holds the bytes of the manifest at `rel` with that hash (a preflight read
 * it), whatever its mtime then: a hint for the look ahead (state-prefetch.ts), never a check.
 */
export function manifestHeld(t: Transport, rel: string, sha256: string): boolean {
  const prefix = `${t.description}/${rel}\0${sha256}\0`;
  for (const key of cache.keys()) if (key.startsWith(prefix)) return true;
  return false;
}

/** Manifests up to this size are read whole; bigger ones by offset from their checked file. */
const READ_WHOLE_BYTES = 1 << 20;

/** The file where it was read, as it was then (a file rewritten since has a new mtime). */
const keyOf = (where: string, ref: ManifestRef, mtimeMs: number) =>
  `${where}\0${ref.sha256}\0${ref.size}\0${mtimeMs}`;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * The manifest `ref` names, its bytes checked against the recorded size and hash.
 * @throws DiffshipError E_STATE when it is missing or not the file the state names; E_UNSAFE when not a file.
 */
export async function readManifestFile(
  t: Transport,
  l: Layout,
  ref: ManifestRef,
  idLength: number,
): Promise<Manifest> {
  return readManifestAt(t, `${l.manifests}/${ref.file}`, ref, idLength);
}

/** The manifest `ref` names, read from `rel` (its place in `manifests/`, or a backup's link to it). */
async function readManifestAt(
  t: Transport,
  rel: string,
  ref: ManifestRef,
  idLength: number,
): Promise<Manifest> {
  const where = `${t.description}/${rel}`;
  const entry = await t.lstat(rel);
  const fix =
    'the state was not written by diffship as it is; inspect it, or remove the state folder and deploy with --assume-empty';
  if (entry === null)
    throw new DiffshipError('E_STATE', `${where}: the manifest the state names is missing — ${fix}`);
  // A link would be read through: never.
  if (entry.type !== 'file')
    throw new DiffshipError(
      'E_UNSAFE',
      `${where} is ${aType(entry.type)}, not a file — remove it; diffship writes its state files itself`,
    );
  const key = keyOf(where, ref, entry.mtimeMs);
  const hit = cache.get(key);
  if (hit) {
    remember(key, hit);
    return new StoredManifest(hit, idLength, where);
  }
  // A file of another size is refused from its lstat, never read (a huge file put in its place).
  const source =
    entry.size !== ref.size
      ? entry.size
      : ((await openChecked(t, rel, entry.size, ref, where)) ?? (await readWhole(t, rel, ref)));
  if (typeof source === 'number') {
    const why = source < ref.size ? 'is shorter than' : 'is not';
    throw new DiffshipError(
      'E_STATE',
      `${where}: the manifest ${why} the one the state names (size ${ref.size}, sha256 ${ref.sha256.slice(0, 12)}…): truncated, swapped or edited — ${fix}`,
    );
  }
  const shared: Shared = { source };
  remember(key, shared);
  return new StoredManifest(shared, idLength, where);
}

/** The file read whole and checked, or its size when it is not the one `ref` names. */
async function readWhole(t: Transport, rel: string, ref: ManifestRef): Promise<ManifestSource | number> {
  // Never more than the state names: a file grown since its lstat is refused as it is read.
  const data = await t.readFile(rel, ref.size);
  return data.length === ref.size && sha256(data) === ref.sha256 ? bufferSource(data) : data.length;
}

/**
 * A big manifest opened once and checked by its descriptor (manifest-source.ts), or its
 * size when it is not the one `ref` names; undefined where it is read whole instead (a
 * small one, a transport that cannot, a file written to a moment ago). Over SSH the
 * descriptor is a local copy's (Transport.openRead), checked the same way.
 */
async function openChecked(
  t: Transport,
  rel: string,
  size: number,
  ref: ManifestRef,
  where: string,
): Promise<ManifestSource | number | undefined> {
  if (!t.openRead || size <= READ_WHOLE_BYTES) return undefined;
  // Never more than the state names (an SSH target's file is copied first: one grown since its
  // lstat is refused as it is copied).
  const file = await t.openRead(rel, size);
  const source = file.racy ? undefined : checkOpened(file, ref, where);
  if (!source) file.close();
  return source === null ? file.size : source;
}

/**
 * Write a manifest file durably (fsync; `sync: false`: by the caller's next syncWritten(), before
 * the state names it) under its final name; the state's rename makes it count.
 */
async function writeManifestFile(
  t: Transport,
  l: Layout,
  name: string,
  data: Buffer,
  sync = true,
): Promise<ManifestRef> {
  await makeStateDir(t, l.manifests);
  await t.writeFile(`${l.manifests}/${name}`, data, 0o644, { sync });
  return { file: name, sha256: sha256(data), size: data.length };
}

/**
 * The manifest of the state a backup restores (a backup's `previousState`): its
 * link in the backup (version 3), inline (version 2), or none.
 */
export async function backupManifest(
  t: Transport,
  l: Layout,
  backupId: string,
  previous: {
    version: number;
    release: string;
    manifestFile?: ManifestRef | null;
    manifest?: Manifest | null;
  } | null,
): Promise<Manifest | null> {
  if (previous === null) return null;
  if (previous.version !== 3) return previous.manifest ?? null;
  if (!previous.manifestFile) return null;
  return readManifestAt(
    t,
    backupManifestPath(l, backupId),
    previous.manifestFile,
    idLengthOf(previous.release),
  );
}

/**
 * `state` with its in-memory manifest written to a file of its own (durably, under
 * a fresh name: the file the recorded state names is never rewritten), for a state
 * this run makes other than by a deploy (a unit rollback's). A state without a
 * manifest names none.
 */
export async function withManifestFile<
  S extends { release: string; manifest: Manifest | null; manifestFile: ManifestRef | null },
>(t: Transport, l: Layout, deployId: string, state: S): Promise<S> {
  if (state.manifest === null) return { ...state, manifestFile: null };
  const name = manifestName(`${deployId}.${randomBytes(4).toString('hex')}`);
  return { ...state, ...(await storeManifest(t, l, name, manifestBytes(state.manifest), state.release)) };
}

/** Write manifest bytes under `name` (writeManifestFile) and hold them as the manifest they are. */
async function storeManifest(
  t: Transport,
  l: Layout,
  name: string,
  data: Buffer,
  release: string,
  sync = true,
): Promise<{ manifestFile: ManifestRef; manifest: Manifest }> {
  const ref = await writeManifestFile(t, l, name, data, sync);
  const where = `${t.description}/${l.manifests}/${ref.file}`;
  return { manifestFile: ref, manifest: manifestFromBytes(data, idLengthOf(release), where) };
}

/**
 * Remove every manifest file diffship made but `keep`: a deploy's that never got recorded, or
 * replaced; and their walk echoes (apply/walk-echo-file.ts) with them. `seen`: the folder's
 * names as the lock's first look saw them (state-census.ts), not listed again.
 */
export async function pruneManifests(
  t: Transport,
  l: Layout,
  keep: readonly string[],
  seen?: readonly string[],
): Promise<void> {
  const kept = new Set([...keep, ...keep.map(echoFileName)]);
  for (const name of seen ?? (await t.readdir(l.manifests)) ?? []) {
    if (!(isManifestFileName(name) || isEchoFileName(name)) || kept.has(name)) continue;
    await t.unlink(`${l.manifests}/${name}`);
  }
}

/** Keep the manifest `ref` names alive in a backup (a hard link; a copy without links). */
export async function keepInBackup(
  t: Transport,
  l: Layout,
  backupId: string,
  ref: ManifestRef,
): Promise<void> {
  // Made durable with the rest of the backup, by the deploy's one syncWritten() before its journal.
  const from = `${l.manifests}/${ref.file}`;
  const to = backupManifestPath(l, backupId);
  // The backup's folder is new: linked at once, with the backup's first lstats (over SSH a wait
  // fewer than a removal first). Anything in the way, or no hard links there: as a restore does it.
  if (await t.link(from, to).catch(() => false)) return;
  await copyOrLink(t, from, to, false);
}

/** Before a rollback records a backup's state: put its manifest back where the state names it. */
export async function restoreFromBackup(
  t: Transport,
  l: Layout,
  backupId: string,
  ref: ManifestRef,
): Promise<void> {
  const dest = `${l.manifests}/${ref.file}`;
  if ((await t.lstat(dest)) !== null) return;
  const from = backupManifestPath(l, backupId);
  if ((await t.lstat(from))?.type !== 'file')
    throw new DiffshipError(
      'E_STATE',
      `${t.description}/${from}: the backup's manifest is missing, so the state it restores would name no manifest — remove the state folder to redeploy from scratch`,
    );
  await makeStateDir(t, l.manifests);
  await copyOrLink(t, from, dest, true);
}

async function copyOrLink(t: Transport, from: string, to: string, sync: boolean): Promise<void> {
  await t.unlink(to);
  if (await t.link(from, to)) return;
  await t.writeFile(to, await t.readFile(from, MANIFEST_FILE_MAX), 0o644, { sync });
}

/** The length of blob ids in a manifest recorded with `release`. */
const idLengthOf = (release: string) => (release.length === 64 ? 64 : 40);

/**
 * The manifest a deploy will record, checked now (the previous one's lines are
 * hostile input): a bad one stops the deploy before anything is written. Null
 * when the plan records none.
 */
export function nextManifest(
  t: Transport,
  l: Layout,
  plan: TargetPlan,
  state: { release: string; manifest: Manifest | null; manifestFile: ManifestRef | null } | null,
): NextManifest | null {
  if (!plan.manifest && !plan.manifestDelta) return null;
  const file = state?.manifestFile ? `${l.manifests}/${state.manifestFile.file}` : l.state;
  const pending: NextManifest = planManifest(
    { listing: plan.manifest, delta: plan.manifestDelta, restat: plan.restat },
    state?.manifest ?? null,
    plan.writes,
    {
      idLength: idLengthOf(state?.release ?? ''),
      where: `${t.description}/${file}`,
    },
  );
  // A merge of the file the state names: a transport can make the next one from it where it lives.
  if (pending.base && state?.manifestFile) pending.previous = { rel: file, ref: state.manifestFile };
  return pending;
}

/**
 * Once every file is in place: write the manifest this deploy leaves (with the
 * written files' fresh stats), durably and under a name of its own, and point
 * `newState` at it; the state's rename then commits both. The text is made in
 * chunks and streamed out where the transport can (never one string of it); the
 * state keeps only its name: `loadManifest` reads it back if this run needs it.
 * `sync` false: made durable by the state's write (`writeState` with `withPending`),
 * before its rename.
 */
export async function recordManifestFile(
  t: Transport,
  l: Layout,
  deployId: string,
  pending: NextManifest,
  newState: { manifest: Manifest | null; manifestFile: ManifestRef | null },
  concurrency: number,
  o: RecordOptions = {},
): Promise<boolean> {
  // Made once as it is written, hashed on the way, never held whole: ~70 MB of text at 500,000 files.
  const statOf = async (paths: string[]) => {
    const stats = takenAlready(o.written, paths) ?? (await statWritten(t, paths, concurrency));
    if (o.keepStats) for (const [path, stat] of stats) o.keepStats.set(path, stat);
    return stats;
  };
  // Its folder (and staging, where a patch makes it on the host) made while the written files are
  // stat'ed: one round trip over SSH, not three; none where the caller made them.
  const folders = o.foldersMade ? undefined : manifestFolders(t, l);
  const [bytes] = await Promise.all([
    manifestFileBytes(pending, statOf, t.kind === 'local' ? 256 : undefined),
    folders,
  ]);
  try {
    return await writeManifestBytes(t, l, pending, deployId, bytes, newState, o.sync ?? true, o.thenState);
  } finally {
    bytes.close();
  }
}

/** The folders recordManifestFile writes in: the manifests, and staging where a patch makes it. */
export function manifestFolders(t: Transport, l: Layout): Promise<void> {
  return t.patchFile ? makeStateDirs(t, [l.manifests, l.staging]) : makeStateDir(t, l.manifests);
}

/** recordManifestFile's options. */
export interface RecordOptions {
  /** false: made durable by the state's write (`writeState` with `withPending`), before its rename. */
  sync?: boolean;
  /** Gets the written files' stats as the manifest records them (walk-echo-file.ts). */
  keepStats?: Map<string, FileStat>;
  /**
   * The state naming it (`newState` as updated here), published right behind it where the
   * transport can (a patch over SSH: one round trip for both). recordManifestFile returns
   * whether it was.
   */
  thenState?: () => PublishAfter | null;
  /** The written files' exact stats, taken once they were in place (renameAllThenStat); null: none. */
  written?: ReadonlyMap<string, FileStat | null> | null;
  /** The manifests folder and staging exist: made by the caller (under its lock). */
  foldersMade?: boolean;
}

/** The stats of `paths` from `written` when it holds every one of them, else null. */
function takenAlready(
  written: ReadonlyMap<string, FileStat | null> | null | undefined,
  paths: readonly string[],
): Map<string, FileStat> | null {
  if (!written || !paths.every((p) => written.has(p))) return null;
  const out = new Map<string, FileStat>();
  for (const p of paths) {
    const stat = written.get(p);
    if (stat) out.set(p, stat);
  }
  return out;
}

/** recordManifestFile's write of the bytes made: a patch where the transport can, else the whole file. */
async function writeManifestBytes(
  t: Transport,
  l: Layout,
  pending: NextManifest,
  deployId: string,
  bytes: ManifestBytes,
  newState: { manifest: Manifest | null; manifestFile: ManifestRef | null },
  sync: boolean,
  thenState?: () => PublishAfter | null,
): Promise<boolean> {
  const name = manifestName(deployId);
  const rel = `${l.manifests}/${name}`;
  const record = () => {
    newState.manifestFile = { file: name, sha256: bytes.sha256(), size: bytes.size };
    newState.manifest = manifestOnDisk(`${t.description}/${rel}`);
  };
  // The state names the file by its hash, known once patched() has hashed the bytes.
  let stateQueued = false;
  const after =
    thenState &&
    (() => {
      record();
      const job = thenState();
      stateQueued = job !== null;
      return job;
    });
  if (await patched(t, l, pending, name, bytes, after)) {
    // Made on the host from the previous file, which it checked first: only the changed lines
    // crossed; the state that names it, where queued, went right behind it.
    record();
    return stateQueued;
  } else if (after && (await publishedWithState(t, l, name, bytes, after))) {
    return true;
  } else if (t.writeStream) {
    // Writers gather a file of up to 256 KiB whole (stream-write.ts, ssh file-ops.ts): never
    // reused then. Over SSH fresh chunks piled up as garbage outside the heap, collected too
    // late: a 200,000-file first deploy's 27 MB manifest took node's buffers from 6 to 34 MB.
    const reused = bytes.size > 1 << 20;
    const source = {
      size: bytes.size,
      reused,
      [Symbol.asyncIterator]: async function* () {
        yield* bytes.chunks(reused);
      },
    };
    await t.writeStream(rel, source, 0o644, { sync });
  } else await t.writeFile(rel, Buffer.concat([...bytes.chunks()]), 0o644, { sync });
  record();
  return false;
}

/**
 * `state` with its manifest in memory: a state this run recorded names its file only
 * (recordManifestFile); it is read back here, checked against its size and hash.
 */
export async function loadManifest<
  S extends { release: string; manifest: Manifest | null; manifestFile: ManifestRef | null },
>(t: Transport, l: Layout, state: S): Promise<S> {
  if (!state.manifestFile || !(state.manifest && isOnDisk(state.manifest))) return state;
  return { ...state, manifest: await readManifestFile(t, l, state.manifestFile, idLengthOf(state.release)) };
}
