/**
 * The walk echo: a local target's whole walk (find's records, in find's order, as
 * find-stream.ts reads them) as the last deploy left the target, kept beside its
 * manifest. The next authoritative deploy compares its own walk with it byte for
 * byte while find runs (one memcmp a read): when they are the same, every file
 * the walk lists is the one the manifest records, with the stat it records, and
 * neither the manifest's index nor a compare per entry is needed (at 50,000
 * files those were ~75 ms of this thread's ~300). Only the paths the diff names
 * are looked at (an exact lstat each), and the folders (for the plan's checks).
 * Any difference (a file touched, added or removed by hand, a hook's write, a
 * folder's new mtime) and the walk is merged as usual, from its start.
 *
 * Why that is sound: an echo is only written for a deploy whose merge found every
 * file the walk listed in sync by the manifest's stat cache, but those it then
 * rewrote (no stray, no file missing, nothing hashed), and whose writes all
 * replaced files the walk listed, in place (no add, no delete). Its records are
 * then the walk's, with each written file's record made from the stat the new
 * manifest records for it, and each of their folders' from a fresh lstat. So each
 * file record of an echo is the stat of a manifest line that holds its file: a
 * walk equal to it is in sync by the stat cache's own rule, and `below` (no file
 * it lists is newer) must be older than the state file (the racy rule,
 * plan/stat-cache.ts), or it is not used.
 *
 * Pure: the file is read and written by apply/walk-echo-file.ts.
 */
import type { FileStat } from '../plan/manifest-types.js';

const NUL = 0;
const SPACE = 0x20;
const DOT = 0x2e;
const D = 0x64;

/** The echo file's first line. */
const HEADER = 'diffship walk 1';

/** What an echo file holds besides its records. */
export interface EchoFile {
  /** The walk's bytes: find's records, each ending in a NUL. */
  records: Buffer;
  /** A bound on the mtimes (ns, decimal) of the files and links the records list: none is newer. */
  below: string;
}

/**
 * The echo in `data` when it belongs to the manifest `manifestSha256` and is whole;
 * null for anything else (another manifest's, cut short, not ours): an echo is only
 * ever a shortcut, and a walk that does not match it is merged as usual.
 */
export function parseEchoFile(data: Buffer, manifestSha256: string): EchoFile | null {
  const end = data.indexOf('\n\n');
  if (end < 0 || end > 512) return null;
  const lines = data.toString('latin1', 0, end).split('\n');
  if (lines.length !== 4 || lines[0] !== HEADER || lines[1] !== `manifest ${manifestSha256}`) return null;
  const below = /^below ([1-9][0-9]{0,29})$/.exec(lines[2]!)?.[1];
  const size = /^records (0|[1-9][0-9]{0,12})$/.exec(lines[3]!)?.[1];
  const records = data.subarray(end + 2);
  if (below === undefined || Number(size) !== records.length) return null;
  if (records.length > 0 && records[records.length - 1] !== NUL) return null;
  return { records, below };
}

/** `a` < `b`, both decimals without leading zeros. */
export const olderThan = (a: string, b: string): boolean =>
  a.length !== b.length ? a.length < b.length : a < b;

/** The newer of two decimals without leading zeros. */
const newer = (a: string, b: string): string => (olderThan(a, b) ? b : a);

/**
 * The folders an echo lists: path (no slash) → where its record starts. Found by their
 * records' heads (`d ` after a NUL), a native search: a folder's entries follow its
 * record in find's order, so a path is looked for from its folder's record on.
 */
export function echoFolders(records: Buffer): Map<string, number> {
  const folders = new Map<string, number>();
  const take = (start: number) => {
    const end = records.indexOf(NUL, start);
    const path = pathStart(records, start, end);
    // A folder's path ends in its slash.
    if (path > 0 && end - 1 > path) folders.set(records.toString('utf8', path, end - 1), start);
  };
  if (records[0] === D && records[1] === SPACE) take(0);
  const head = Buffer.from([NUL, D, SPACE]);
  for (let at = records.indexOf(head); at >= 0; at = records.indexOf(head, at + 1)) take(at + 1);
  return folders;
}

/** Where a record's path starts in `records[start, end)` (after its sixth space); -1 when it has fewer. */
function pathStart(records: Buffer, start: number, end: number): number {
  let spaces = 0;
  for (let i = start; i < end; i++) if (records[i] === SPACE && ++spaces === 6) return i + 1;
  return -1;
}

/**
 * The record of the file or link `path`: [start, end) with its NUL, or null when the
 * records list none (or only a folder there). Looked for from its folder's record on.
 */
export function recordOf(
  records: Buffer,
  folders: ReadonlyMap<string, number>,
  path: string,
): { start: number; end: number } | null {
  const slash = path.lastIndexOf('/');
  const from = slash < 0 ? 0 : folders.get(path.slice(0, slash));
  if (from === undefined) return null;
  const needle = Buffer.from(` ${path}\0`, 'utf8');
  for (let at = records.indexOf(needle, from); at >= 0; at = records.indexOf(needle, at + 1)) {
    const start = records.lastIndexOf(NUL, at) + 1;
    const end = at + needle.length;
    // The path field itself, not the end of a longer name holding a space.
    if (pathStart(records, start, end) === at + 1 && records[start] !== D) return { start, end };
  }
  return null;
}

/**
 * A record as find prints it (find-records.ts: `%y %s %T@ %C@ %i %m %P`, a folder's
 * path with a slash) for `stat`, its times' fractions as long as `template`'s (the
 * record it replaces: find's own width), 10 digits without one.
 */
export function renderRecord(path: string, stat: FileStat, template: Buffer | null): Buffer | null {
  const type = stat.mode & 0o170000;
  const letter = type === 0o100000 ? 'f' : type === 0o120000 ? 'l' : type === 0o040000 ? 'd' : null;
  if (letter === null || !/^[1-9][0-9]{9,}$/.test(stat.mtimeNs) || !/^[1-9][0-9]{9,}$/.test(stat.ctimeNs))
    return null;
  const width = template ? fractionWidth(template) : 10;
  if (width < 9) return null;
  const time = (ns: string) => `${ns.slice(0, -9)}.${ns.slice(-9).padEnd(width, '0')}`;
  const perms = (stat.mode & 0o7777).toString(8);
  const shown = letter === 'd' ? `${path}/` : path;
  return Buffer.from(
    `${letter} ${stat.size} ${time(stat.mtimeNs)} ${time(stat.ctimeNs)} ${stat.ino} ${perms} ${shown}\0`,
    'utf8',
  );
}

/** The digits after the dot of a record's mtime (its third field); -1 without one. */
function fractionWidth(record: Buffer): number {
  let field = 0;
  let dot = -1;
  for (let i = 0; i < record.length; i++) {
    const c = record[i]!;
    if (c === SPACE && ++field === 3) return dot < 0 ? -1 : i - dot - 1;
    if (field === 2 && c === DOT) dot = i;
  }
  return -1;
}

/** What a deploy's echo is made of: its walk's records, some of them replaced. */
export interface EchoPatch {
  /** [start, end) of a record, and the bytes in its place (in any order, none overlapping). */
  replace: Array<{ start: number; end: number; bytes: Buffer }>;
  /** The newest mtime among the records not replaced (the walk's racy line, or older). */
  below: string;
}

/**
 * The echo file's bytes for `records` with `patch` applied (views of `records` between the
 * records replaced: nothing copied), its header naming the manifest `manifestSha256`.
 */
export function patchedEcho(
  records: Buffer,
  patch: EchoPatch,
  newMtimes: readonly string[],
  manifestSha256: string,
): Buffer[] {
  const parts: Buffer[] = [];
  let at = 0;
  for (const r of [...patch.replace].sort((a, b) => a.start - b.start)) {
    parts.push(records.subarray(at, r.start), r.bytes);
    at = r.end;
  }
  parts.push(records.subarray(at));
  const size = parts.reduce((n, p) => n + p.length, 0);
  const below = newMtimes.reduce(newer, patch.below);
  const head = `${HEADER}\nmanifest ${manifestSha256}\nbelow ${below}\nrecords ${size}\n\n`;
  return [Buffer.from(head, 'latin1'), ...parts];
}

/** The folder of a path ('' at the top). */
export const folderOf = (path: string): string => {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
};

/** Walks compared with an echo in this process, by outcome: what tests (and a profile) look at. */
export const echoCompares = { same: 0, differed: 0 };

/** A walk kept for an echo: up to this many bytes (a 100,000-entry walk is ~10 MB). */
export const ECHO_MAX_BYTES = 32 * 1024 * 1024;

/** A deploy's walk, for the echo its commit may leave (apply/walk-echo-file.ts). */
export interface EchoSeed {
  /** The walk's bytes. */
  records: Buffer;
  /** The files and links the merge visited and did not find in sync: each must be rewritten. */
  visited: readonly string[];
  /** No record the merge settled has an mtime this new (its racy line, or its echo's `below`). */
  below: string;
}

/**
 * Walks held by plans not committed yet, in bytes: a fleet's preflight keeps a plan per
 * target, and a walk each would be ~5 MB a 50,000-file target. Past the budget a plan
 * holds none (its commit leaves no echo; the next deploy merges as usual).
 */
const HELD_MAX = 64 * 1024 * 1024;
let held = 0;
const seeds = new WeakMap<object, EchoSeed>();
/** A plan dropped uncommitted (a dry run, a failed wave) gives its bytes back when collected. */
const dropped = new FinalizationRegistry<number>((bytes) => void (held -= bytes));

/** Keep `seed` for `plan`'s commit, within the budget. */
export function seedEcho(plan: object, seed: EchoSeed): void {
  if (held + seed.records.length > HELD_MAX) return;
  held += seed.records.length;
  seeds.set(plan, seed);
  dropped.register(plan, seed.records.length, plan);
}

/** The walk kept for `plan`, handed over once (its bytes leave the budget). */
export function takeEcho(plan: object): EchoSeed | undefined {
  const seed = seeds.get(plan);
  if (seed === undefined) return undefined;
  seeds.delete(plan);
  dropped.unregister(plan);
  held -= seed.records.length;
  return seed;
}
