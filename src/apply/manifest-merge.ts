/**
 * The next manifest file from the previous one and a deploy's changes, in
 * O(changes × log files): the previous file's lines are sorted by path, so each
 * changed path is found by binary search on the bytes (read by offset, a few
 * blocks at a time: manifest-blocks.ts), and the untouched runs of lines
 * between them are copied as byte ranges, never decoded, parsed or allocated
 * per line (nor held: they are read from the file as the next one is written). The lines a deploy changes are parsed and checked as
 * hostile input (manifest-text.ts); the untouched ones are checked when a later
 * run uses them (a plan from the manifest, drift, status), and the file as a
 * whole was checked against the size and SHA-256 its state names. Pure.
 */
import { byteOrder, sortPaths } from '../byte-order.js';
import type { FileStat, ManifestEntry } from '../plan/manifest-types.js';
import { lineOf, MANIFEST_HEADER, parseLine } from './manifest-text.js';
import { ManifestBlocks } from './manifest-blocks.js';
import { checkFrame, lineError, lowerBound } from './manifest-lookup.js';
import type { ManifestSource } from './manifest-source.js';

/** How the next manifest differs from the last: entries set (new or changed) and paths removed. */
export interface ManifestChanges {
  /** Sorted by path (byte order). */
  set: readonly ManifestEntry[];
  remove: ReadonlySet<string>;
  /** Paths whose file this deploy writes: their stat is taken once they are in place. */
  written: ReadonlySet<string>;
  /**
   * Files found (hashed) to hold these blobs and modes, with the stat they had: a line of the
   * same blob and mode takes that stat (set, remove and written come first). Sorted by path.
   */
  restat?: readonly ManifestEntry[];
}

/** Bytes [from, to) of the previous manifest file (PendingManifest's `base`). */
export interface BaseRange {
  from: number;
  to: number;
}

/**
 * The next manifest before the written files' stats are known, in file order: byte
 * ranges of the previous file, finished lines (strings, no newline), and the entries
 * of written files, whose lines wait for their stats (manifest-stream.ts). A first
 * deploy's entries are the plan's own listing objects: no copy per file.
 */
export interface PendingManifest {
  /** Passed over more than once (sizes and stats, then bytes): a listing's are made on each pass, not held. */
  parts: Iterable<ManifestPart>;
  /** The previous file's bytes, of which the BaseRange parts are ranges (a merge's); none for a listing. */
  base?: ManifestSource;
}

/** One part of a pending manifest (see PendingManifest). */
export type ManifestPart = BaseRange | string | ManifestEntry;

export const isBaseRange = (part: ManifestPart): part is BaseRange =>
  typeof part === 'object' && 'from' in part;

const NL = 0x0a;

/**
 * Merge `c` into the previous manifest file. A changed path's old line keeps its
 * stat for the new entry when blob and mode did not change. Runs before anything
 * is written: a bad line stops the deploy with the target untouched.
 * @throws DiffshipError E_STATE naming `where` and the bad line.
 */
export function mergeManifest(
  base: ManifestSource,
  c: ManifestChanges,
  idLength: number,
  where: string,
): PendingManifest {
  checkFrame(base, where);
  const size = base.size;
  const previous = new ManifestBlocks(base);
  const parts: ManifestPart[] = [];
  const p = { parts, base };
  const written = (path: string) => c.written.has(path);
  const set = new Map(c.set.map((e) => [e.path, e]));
  const restat = new Map((c.restat ?? []).map((e) => [e.path, e]));
  const touched = [...new Set([...set.keys(), ...c.remove, ...c.written, ...restat.keys()])];
  sortPaths(touched);
  let copied = 0; // bytes of `previous` already in the output
  let from = MANIFEST_HEADER.length + 1; // where the next search starts: paths come in order
  try {
    for (const path of touched) {
      const at = lowerBound(previous, from, path);
      const end = at.found ? previous.indexOf(NL, at.offset) + 1 : at.offset;
      if (at.offset > copied) p.parts.push({ from: copied, to: at.offset });
      const old = at.found ? parseLine(previous.text(at.offset, end - 1), idLength) : undefined;
      const next = set.get(path) ?? (c.remove.has(path) ? undefined : old);
      const fresh = restat.get(path);
      if (next && next === old && fresh && sameContent(old, fresh) && !written(path))
        p.parts.push(lineOf(old, fresh.stat));
      else if (next) add(p, next, written, old);
      copied = end;
      from = end;
    }
  } catch (error) {
    throw lineError(error, where);
  }
  if (copied < size) p.parts.push({ from: copied, to: size });
  return p;
}

/**
 * A whole listing (sorted by path) before the written files' stats are known. `statOf`: the
 * stat an entry not written keeps (default its own). `writtenFor` makes, for each pass, the
 * `written` check, asked in listing order. The parts are made as each pass goes: a first
 * deploy holds no array of 500,000 parts beside its listing.
 */
export function pendingListing(
  files: readonly ManifestEntry[],
  writtenFor: () => (path: string) => boolean,
  statOf: (e: ManifestEntry) => FileStat | undefined = (e) => e.stat,
): PendingManifest {
  return {
    parts: {
      *[Symbol.iterator]() {
        const written = writtenFor();
        yield MANIFEST_HEADER;
        for (const f of files) yield written(f.path) ? f : lineOf(f, statOf(f));
      },
    },
  };
}

/**
 * `written` for paths asked in ascending byte order (a sorted listing's): a walk along
 * the written paths sorted once, not a set of 500,000 strings.
 */
export function sortedMembers(paths: string[]): (path: string) => boolean {
  let sorted = true;
  for (let i = 1; i < paths.length && sorted; i++) sorted = byteOrder(paths[i - 1]!, paths[i]!) < 0;
  if (!sorted) sortPaths(paths);
  let at = 0;
  return (path) => {
    while (at < paths.length && byteOrder(paths[at]!, path) < 0) at++;
    return at < paths.length && paths[at] === path;
  };
}

const sameContent = (a: ManifestEntry, b: ManifestEntry): boolean => a.blob === b.blob && a.mode === b.mode;

/** Add an entry: a written file's line waits for its stat; else it keeps the old stat of the same file. */
function add(
  p: { parts: ManifestPart[] },
  e: ManifestEntry,
  written: (path: string) => boolean,
  old: ManifestEntry | undefined = e,
): void {
  if (written(e.path)) return void p.parts.push(e); // its line is made with its fresh stat
  p.parts.push(lineOf(e, old && old.blob === e.blob && old.mode === e.mode ? old.stat : undefined));
}
