/**
 * A few paths' lines in a manifest file, found by binary search on its bytes
 * (its lines are sorted by path): O(paths × log lines), no line parsed but the
 * probed ones' paths and the lines found. The next manifest's merge
 * (manifest-merge.ts) and a plan's stat cache for the paths a diff names
 * (observe/stat-vouch.ts) both look lines up this way, so a 100-file update of
 * a 500,000-file target reads a few blocks of its manifest, not all of it. Pure.
 */
import { byteOrder, sortPaths } from '../byte-order.js';
import type { ManifestEntry } from '../plan/manifest-types.js';
import { BadLine, isSafeRelPath, linePath, MANIFEST_HEADER, parseLine, stateError } from './manifest-text.js';
import { ManifestBlocks } from './manifest-blocks.js';
import type { ManifestSource } from './manifest-source.js';

const NL = 0x0a;

/**
 * Refuse a file that is not a whole manifest: our header first, a newline last.
 * @throws DiffshipError E_STATE naming `where`
 */
export function checkFrame(base: ManifestSource, where: string): void {
  const header = Buffer.from(`${MANIFEST_HEADER}\n`);
  if (base.size < header.length || !base.read(0, header.length).equals(header))
    throw stateError(where, `does not start with "${MANIFEST_HEADER}"`);
  if (base.read(base.size - 1, base.size)[0] !== NL)
    throw stateError(where, 'is cut short (no newline at its end)');
}

/** A bad line met while looking up (BadLine) as the state error naming `where`; anything else as is. */
export function lineError(error: unknown, where: string): unknown {
  if (!(error instanceof BadLine)) return error;
  const m = error.message;
  return stateError(where, /^(is|has) /.test(m) ? `has a line that ${m}` : m);
}

/**
 * The first line at or after `from` whose path is not below `path` (byte order):
 * its offset, and whether its path is `path`. Every probed line's path is checked.
 * @throws BadLine
 */
export function lowerBound(
  buf: ManifestBlocks,
  from: number,
  path: string,
): { offset: number; found: boolean } {
  let lo = from;
  let hi = buf.size;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const start = Math.max(lo, buf.lastIndexOf(NL, mid) + 1);
    const end = buf.indexOf(NL, start);
    const probe = pathAt(buf, start, end);
    if (byteOrder(probe, path) < 0) lo = end + 1;
    else hi = start;
  }
  if (lo >= buf.size) return { offset: lo, found: false };
  return { offset: lo, found: pathAt(buf, lo, buf.indexOf(NL, lo)) === path };
}

function pathAt(buf: ManifestBlocks, start: number, end: number): string {
  const path = linePath(buf.text(start, end));
  if (!isSafeRelPath(path)) throw new BadLine(`has an unsafe path ${JSON.stringify(path)}`);
  return path;
}

/**
 * The entries of `paths` that the manifest file `base` lists (parsed and checked);
 * the others are absent from the map.
 * @throws DiffshipError E_STATE naming `where` and the bad line or frame
 */
export function entriesAt(
  base: ManifestSource,
  paths: Iterable<string>,
  idLength: number,
  where: string,
): Map<string, ManifestEntry> {
  checkFrame(base, where);
  const blocks = new ManifestBlocks(base);
  const found = new Map<string, ManifestEntry>();
  let from = MANIFEST_HEADER.length + 1; // where the next search starts: paths go in order
  try {
    for (const path of sortPaths([...new Set(paths)])) {
      const at = lowerBound(blocks, from, path);
      from = at.offset;
      if (!at.found) continue;
      const end = blocks.indexOf(NL, at.offset);
      found.set(path, parseLine(blocks.text(at.offset, end), idLength));
      from = end + 1;
    }
  } catch (error) {
    throw lineError(error, where);
  }
  return found;
}
