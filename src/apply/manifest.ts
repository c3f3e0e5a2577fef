/**
 * The manifest: what diffship put on a target, file by file (path, blob id, git
 * mode), kept in the target's state and written with it in one rename. It lets a
 * deploy plan without the recorded commit (force-push, gc, a clone that can't
 * fetch it) and is the release listing for built folders, which have no commit.
 *
 * Each entry may also carry a stat cache, as git's index does (size, mtime and
 * ctime in ns, inode, mode), taken by lstat right after the file was renamed into
 * place. `unchangedSince` (src/plan/stat-cache.ts) decides from it whether a
 * file can be trusted without hashing.
 *
 * Everything here is read back from a target, so `parseManifest` treats it as
 * hostile: a bad manifest is an E_STATE error naming the bad value.
 */
import { DiffshipError } from '../errors.js';
import { SUBMODULE_MODE, type Change } from '../diff/types.js';
import { listedTable } from '../diff/listing-view.js';
import type { Transport } from '../transport/transport.js';
import type { ManifestDelta, WriteOp } from '../plan/types.js';
import { isSafeRelPath } from './manifest-text.js';
import { mergeManifest, pendingListing, sortedMembers, type PendingManifest } from './manifest-merge.js';
import { manifestSource } from './stored-manifest.js';
import { exactStats } from '../transport/exact-stats.js';
import { byteOrder, sortByPath } from '../byte-order.js';
import {
  MANIFEST_VERSION,
  type FileStat,
  type Manifest,
  type ManifestEntry,
  type ManifestMode,
} from '../plan/manifest-types.js';

const MODES: readonly string[] = ['100644', '100755', '120000'];

const DECIMAL = /^(0|[1-9][0-9]{0,24})$/;
/** A time may be negative (a file dated before 1970). */
const TIME = /^(0|-?[1-9][0-9]{0,24})$/;

/**
 * Check a manifest read from a target. `idLength` is the length of the state's
 * release id (40 for sha1, 64 for sha256): every blob id must have it.
 * @throws DiffshipError E_STATE naming the first bad value.
 */
export function parseManifest(value: unknown, idLength: number, where: string): Manifest {
  const bad = (what: string) =>
    new DiffshipError(
      'E_STATE',
      `${where}: manifest ${what} — the state was not written by diffship; inspect it, or remove the state folder and deploy with --assume-empty`,
    );
  if (!isObject(value)) throw bad('is not an object');
  if (value.version !== MANIFEST_VERSION) throw bad(`has unknown version ${JSON.stringify(value.version)}`);
  if (!Array.isArray(value.files)) throw bad('has no files list');
  const hex = new RegExp(`^[0-9a-f]{${idLength}}$`);
  const seen = new Set<string>();
  const files: ManifestEntry[] = [];
  for (const [i, raw] of (value.files as unknown[]).entries()) {
    if (!isObject(raw)) throw bad(`entry ${i} is not an object`);
    const { path, blob, mode, stat } = raw;
    if (typeof path !== 'string' || !isSafeRelPath(path))
      throw bad(`entry ${i} has an unsafe path ${JSON.stringify(path)}`);
    if (seen.has(path)) throw bad(`lists ${JSON.stringify(path)} twice`);
    seen.add(path);
    if (typeof blob !== 'string' || !hex.test(blob))
      throw bad(`entry ${JSON.stringify(path)} has a bad blob id ${JSON.stringify(blob)}`);
    if (typeof mode !== 'string' || !MODES.includes(mode))
      throw bad(`entry ${JSON.stringify(path)} has a bad mode ${JSON.stringify(mode)}`);
    const entry: ManifestEntry = { path, blob, mode: mode as ManifestMode };
    if (stat !== undefined)
      entry.stat = parseStat(stat, () => bad(`entry ${JSON.stringify(path)} has a bad stat`));
    files.push(entry);
  }
  return { version: MANIFEST_VERSION, files };
}

function parseStat(value: unknown, bad: () => Error): FileStat {
  if (!isObject(value)) throw bad();
  const { size, mtimeNs, ctimeNs, ino, mode } = value;
  const count = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  const decimal = (s: unknown, form = DECIMAL) => typeof s === 'string' && form.test(s);
  if (!count(size) || !count(mode) || !decimal(mtimeNs, TIME) || !decimal(ctimeNs, TIME) || !decimal(ino))
    throw bad();
  return {
    size: size as number,
    mtimeNs: mtimeNs as string,
    ctimeNs: ctimeNs as string,
    ino: ino as string,
    mode: mode as number,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The files of a from-the-empty-tree diff (sorted by path) as a manifest listing, no stats
 * yet; submodules are never shipped. The diff's own records are the entries (their extra
 * `status` is never written): a 500,000-file release gets no second object per file.
 */
export function listingOf(changes: readonly Change[]): readonly ManifestEntry[] {
  // A first deploy's diff is the listing already (all files, in byte order): no second array of 500,000.
  // A listing's view (listing-view.ts) is in byte order, every file added: only its modes to check.
  const table = listedTable(changes);
  if (table !== null && !table.holdsMode(SUBMODULE_MODE)) return changes as readonly ManifestEntry[];
  if (changes.every((c) => c.status !== 'deleted' && MODES.includes(c.mode)) && inByteOrder(changes))
    return changes as readonly ManifestEntry[];
  const files: ManifestEntry[] = [];
  for (const c of changes) {
    if (c.status === 'deleted' || !MODES.includes(c.mode)) continue;
    files.push(c as ManifestEntry);
  }
  return sortByPath(files);
}

/** Whether the items' paths ascend strictly in byte order. */
function inByteOrder(items: readonly { path: string }[]): boolean {
  for (let i = 1; i < items.length; i++) if (byteOrder(items[i - 1]!.path, items[i]!.path) >= 0) return false;
  return true;
}

/**
 * `written` for paths asked in ascending byte order: a walk along the writes when they are
 * in that order (a first deploy's), not an array of their 500,000 paths; else their paths sorted.
 */
function writtenAmong(writes: readonly WriteOp[], ordered: boolean): (path: string) => boolean {
  if (!ordered) return sortedMembers(writes.map((w) => w.path));
  let at = 0;
  return (path) => {
    while (at < writes.length && byteOrder(writes[at]!.path, path) < 0) at++;
    return at < writes.length && writes[at]!.path === path;
  };
}

/**
 * The manifest this deploy records, before its files' stats are known: the new
 * listing, each entry keeping the old stat when the file is the same one (same
 * blob and mode, not written). Planned from git (`delta`), the changes are
 * merged into the previous file (manifest-merge.ts); else the whole listing is used. Pure; run before anything
 * is written, so a bad previous manifest stops the deploy with the target untouched.
 * @throws DiffshipError E_STATE naming the bad line.
 */
export function planManifest(
  next: { listing?: readonly ManifestEntry[]; delta?: ManifestDelta; restat?: readonly ManifestEntry[] },
  previous: Manifest | null,
  writes: readonly WriteOp[],
  o: { idLength: number; where: string },
): PendingManifest {
  if (next.delta) {
    // basis.ts plans a delta only from a recorded manifest.
    if (!previous) throw new Error('a manifest delta without a previous manifest');
    const written = new Set(writes.map((w) => w.path));
    const changes = { set: next.delta.set, remove: new Set(next.delta.remove), written, restat: next.restat };
    return mergeManifest(manifestSource(previous), changes, o.idLength, o.where);
  }
  // A whole listing (a first deploy: 500,000 entries): no copy of an entry, no set of paths.
  const old = previous ? new Map(previous.files.map((f) => [f.path, f])) : null;
  const listing = next.listing ?? [];
  // Every file of the listing written (a first deploy's: the writes are the listing's own array).
  if (writes === listing) return pendingListing(listing, () => () => true);
  // Checked once, not at each pass: a listing's writes make each path when read.
  const ordered = inByteOrder(writes);
  return pendingListing(
    listing,
    () => writtenAmong(writes, ordered),
    (f) => sameFile(old?.get(f.path), f),
  );
}

/** Exact stats of the files a deploy wrote, once in place; none when the transport takes none. */
export async function statWritten(
  t: Transport,
  paths: string[],
  concurrency: number,
): Promise<Map<string, FileStat>> {
  const stats = await exactStats(t, paths, concurrency);
  const out = new Map<string, FileStat>();
  for (const [p, s] of stats ?? []) if (s) out.set(p, s);
  return out;
}

function sameFile(old: ManifestEntry | undefined, now: ManifestEntry): FileStat | undefined {
  return old && old.blob === now.blob && old.mode === now.mode ? old.stat : undefined;
}

/**
 * The racy-timestamp reference for `unchangedSince`: the state file's mtime in ns,
 * on the target's own clock. null when the transport takes no exact stat (hash then).
 */
export async function stateWrittenNs(t: Transport, statePath: string): Promise<string | null> {
  return (await exactStats(t, [statePath]))?.get(statePath)?.mtimeNs ?? null;
}
