/**
 * The next manifest file from the previous one and a deploy's changes, in
 * O(changes × log files): the previous file's lines are sorted by path, so each
 * changed path is found by binary search on the bytes, and the untouched runs
 * of lines between them are copied as byte ranges, never decoded, parsed or
 * allocated per line. The lines a deploy changes are parsed and checked as
 * hostile input (manifest-text.ts); the untouched ones are checked when a later
 * run uses them (a plan from the manifest, drift, status), and the file as a
 * whole was checked against the size and SHA-256 its state names. Pure.
 */
import { byteOrder } from '../byte-order.js';
import type { FileStat, ManifestEntry } from '../plan/manifest-types.js';
import {
  BadLine,
  formatLine,
  isSafeRelPath,
  linePath,
  MANIFEST_HEADER,
  parseLine,
  stateError,
} from './manifest-text.js';

/** How the next manifest differs from the last: entries set (new or changed) and paths removed. */
export interface ManifestChanges {
  /** Sorted by path (byte order). */
  set: readonly ManifestEntry[];
  remove: ReadonlySet<string>;
  /** Paths whose file this deploy writes: their stat is taken once they are in place. */
  written: ReadonlySet<string>;
}

/**
 * The next manifest before the written files' stats are known: byte ranges of
 * the previous file and lines (strings, no newline), and where each written
 * file's line goes (filled by `finishManifest`).
 */
export interface PendingManifest {
  parts: Array<Buffer | string>;
  written: Array<{ index: number; entry: ManifestEntry }>;
}

const NL = 0x0a;

/**
 * Merge `c` into the previous manifest file. A changed path's old line keeps its
 * stat for the new entry when blob and mode did not change. Runs before anything
 * is written: a bad line stops the deploy with the target untouched.
 * @throws DiffshipError E_STATE naming `where` and the bad line.
 */
export function mergeManifest(
  previous: Buffer,
  c: ManifestChanges,
  idLength: number,
  where: string,
): PendingManifest {
  const header = Buffer.from(`${MANIFEST_HEADER}\n`);
  if (!previous.subarray(0, header.length).equals(header))
    throw stateError(where, `does not start with "${MANIFEST_HEADER}"`);
  if (previous[previous.length - 1] !== NL) throw stateError(where, 'is cut short (no newline at its end)');
  const p: PendingManifest = { parts: [], written: [] };
  const set = new Map(c.set.map((e) => [e.path, e]));
  const touched = [...new Set([...set.keys(), ...c.remove, ...c.written])].sort(byteOrder);
  let copied = 0; // bytes of `previous` already in the output
  let from = header.length; // where the next search starts: paths come in order
  try {
    for (const path of touched) {
      const at = lowerBound(previous, from, path);
      const end = at.found ? previous.indexOf(NL, at.offset) + 1 : at.offset;
      if (at.offset > copied) p.parts.push(previous.subarray(copied, at.offset));
      const old = at.found ? parseLine(previous.toString('utf8', at.offset, end - 1), idLength) : undefined;
      const next = set.get(path) ?? (c.remove.has(path) ? undefined : old);
      if (next) add(p, next, c.written, old);
      copied = end;
      from = end;
    }
  } catch (error) {
    if (!(error instanceof BadLine)) throw error;
    const m = error.message;
    throw stateError(where, /^(is|has) /.test(m) ? `has a line that ${m}` : m);
  }
  if (copied < previous.length) p.parts.push(previous.subarray(copied));
  return p;
}

/**
 * The first line at or after `from` whose path is not below `path` (byte order):
 * its offset, and whether its path is `path`. Every probed line's path is checked.
 */
function lowerBound(buf: Buffer, from: number, path: string): { offset: number; found: boolean } {
  let lo = from;
  let hi = buf.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const start = Math.max(lo, buf.lastIndexOf(NL, mid - 1) + 1);
    const end = buf.indexOf(NL, start);
    const probe = pathAt(buf, start, end);
    if (byteOrder(probe, path) < 0) lo = end + 1;
    else hi = start;
  }
  if (lo >= buf.length) return { offset: lo, found: false };
  return { offset: lo, found: pathAt(buf, lo, buf.indexOf(NL, lo)) === path };
}

function pathAt(buf: Buffer, start: number, end: number): string {
  const line = buf.toString('utf8', start, end);
  const path = linePath(line);
  if (!isSafeRelPath(path)) throw new BadLine(`has an unsafe path ${JSON.stringify(path)}`);
  return path;
}

/** A whole listing (each entry with the stat it keeps) before the written files' stats are known. */
export function pendingListing(
  files: readonly ManifestEntry[],
  written: ReadonlySet<string>,
): PendingManifest {
  const p: PendingManifest = { parts: [`${MANIFEST_HEADER}`], written: [] };
  for (const f of files) add(p, f, written);
  return p;
}

/** Add an entry: a written file's line waits for its stat; else it keeps the old stat of the same file. */
function add(
  p: PendingManifest,
  e: ManifestEntry,
  written: ReadonlySet<string>,
  old: ManifestEntry | undefined = e,
): void {
  const base: ManifestEntry = { path: e.path, blob: e.blob, mode: e.mode };
  if (written.has(e.path)) {
    p.written.push({ index: p.parts.length, entry: base });
    p.parts.push('');
    return;
  }
  const stat = old && old.blob === e.blob && old.mode === e.mode ? old.stat : undefined;
  p.parts.push(formatLine(stat ? { ...base, stat } : base));
}

/** The manifest file's bytes, each written file with its fresh stat (none when the transport took none). */
export function finishManifest(p: PendingManifest, fresh: ReadonlyMap<string, FileStat>): Buffer {
  const parts = [...p.parts];
  fill(parts, p.written, fresh);
  return joined(parts);
}

/** Files whose fresh stats are held at once by finishManifestInSteps. */
const STAT_STEP = 4096;

/**
 * finishManifest with the stats taken STAT_STEP files at a time by `statOf`: a first deploy
 * of 500,000 files holds a few thousand stats at once, not 500,000 (~100 MB).
 */
export async function finishManifestInSteps(
  p: PendingManifest,
  statOf: (paths: string[]) => Promise<ReadonlyMap<string, FileStat>>,
): Promise<Buffer> {
  const parts = [...p.parts];
  for (let at = 0; at < p.written.length; at += STAT_STEP) {
    const step = p.written.slice(at, at + STAT_STEP);
    fill(parts, step, await statOf(step.map((w) => w.entry.path)));
  }
  return joined(parts);
}

function fill(
  parts: PendingManifest['parts'],
  written: PendingManifest['written'],
  fresh: ReadonlyMap<string, FileStat>,
) {
  for (const { index, entry } of written) {
    const stat = fresh.get(entry.path);
    parts[index] = formatLine(stat ? { ...entry, stat } : entry);
  }
}

function joined(parts: PendingManifest['parts']): Buffer {
  // Lines in a row are joined first: a first deploy's 50,000 lines make one buffer, not 50,000.
  const out: Buffer[] = [];
  let lines: string[] = [];
  const flush = () => {
    if (lines.length) out.push(Buffer.from(`${lines.join('\n')}\n`, 'utf8'));
    lines = [];
  };
  for (const part of parts) {
    if (typeof part === 'string') lines.push(part);
    else {
      flush();
      out.push(part);
    }
  }
  flush();
  return Buffer.concat(out);
}
