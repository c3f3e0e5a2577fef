/**
 * The manifest file's text format (state version 3): one line per file, fields
 * in a fixed order, tab-separated, sorted by path in byte order:
 *
 *     diffship-manifest 1
 *     <blob>\t<git mode>\t<stat or ->\t<path>
 *
 * The stat is `size,mtimeNs,ctimeNs,ino,mode` (decimal). The path is the last
 * field, so a tab in it needs no escape; a path holding a control character,
 * a backslash, a quote or a lone surrogate is written as a JSON string, so
 * any name survives. Pure: reading and writing the file is manifest-store.ts.
 *
 * A line is parsed (and checked as hostile input) only when it is used: a
 * deploy planned from git merges its change set into the previous text line
 * by line (`mergeManifest`) without building an object per untouched line.
 */
import { DiffshipError } from '../errors.js';
import { byteOrder } from '../byte-order.js';
import type { FileStat, ManifestEntry, ManifestMode } from '../plan/manifest-types.js';

export const MANIFEST_HEADER = 'diffship-manifest 1';

// Control characters (a newline would end the line), a backslash, a leading quote, a lone surrogate.
// eslint-disable-next-line no-control-regex
const NEEDS_QUOTES = /^"|[\u0000-\u001f\u007f\\]|[\ud800-\udfff]/;
const MODES: readonly string[] = ['100644', '100755', '120000'];
const STAT =
  /^(0|[1-9][0-9]{0,15}),(0|[1-9][0-9]{0,24}),(0|[1-9][0-9]{0,24}),(0|[1-9][0-9]{0,24}),(0|[1-9][0-9]{0,15})$/;

/** One entry as a line (without its newline). */
export function formatLine(e: ManifestEntry): string {
  const s = e.stat;
  const stat = s ? `${s.size},${s.mtimeNs},${s.ctimeNs},${s.ino},${s.mode}` : '-';
  const path = NEEDS_QUOTES.test(e.path) ? JSON.stringify(e.path) : e.path;
  return `${e.blob}\t${e.mode}\t${stat}\t${path}`;
}

/** A whole manifest file's text; `files` must be sorted by path (byte order). */
export function formatManifest(files: readonly ManifestEntry[]): string {
  const lines = [MANIFEST_HEADER];
  for (const f of files) lines.push(formatLine(f));
  return `${lines.join('\n')}\n`;
}

/** A bad line: what is wrong, for the E_STATE message the caller builds. */
class BadLine extends Error {}

/** The path field of a line (the text after the third tab), unquoted. @throws BadLine */
function pathOf(line: string, from: number): string {
  const raw = line.slice(from);
  if (!raw.startsWith('"')) return raw;
  let path: unknown;
  try {
    path = JSON.parse(raw);
  } catch {
    throw new BadLine(`has a badly quoted path ${raw}`);
  }
  if (typeof path !== 'string') throw new BadLine(`has a badly quoted path ${raw}`);
  return path;
}

/** Where the path field starts (after the third tab); -1 when the line has fewer fields. */
function pathStart(line: string): number {
  const a = line.indexOf('\t');
  const b = a < 0 ? -1 : line.indexOf('\t', a + 1);
  const c = b < 0 ? -1 : line.indexOf('\t', b + 1);
  return c < 0 ? -1 : c + 1;
}

/** Parse and check one line. @throws BadLine */
function parseLine(line: string, idLength: number): ManifestEntry {
  const start = pathStart(line);
  if (start < 0) throw new BadLine('is not blob, mode, stat and path separated by tabs');
  const [blob = '', mode = '', stat = ''] = line.slice(0, start - 1).split('\t');
  const path = pathOf(line, start);
  if (!isSafeRelPath(path)) throw new BadLine(`has an unsafe path ${JSON.stringify(path)}`);
  if (blob.length !== idLength || !isLowerHex(blob))
    throw new BadLine(`entry ${JSON.stringify(path)} has a bad blob id ${JSON.stringify(blob)}`);
  if (!MODES.includes(mode))
    throw new BadLine(`entry ${JSON.stringify(path)} has a bad mode ${JSON.stringify(mode)}`);
  const entry: ManifestEntry = { path, blob, mode: mode as ManifestMode };
  if (stat !== '-') entry.stat = parseStat(stat, path);
  return entry;
}

function parseStat(text: string, path: string): FileStat {
  const m = STAT.exec(text);
  const size = Number(m?.[1]);
  const mode = Number(m?.[5]);
  if (!m || !Number.isSafeInteger(size) || !Number.isSafeInteger(mode))
    throw new BadLine(`entry ${JSON.stringify(path)} has a bad stat`);
  return { size, mtimeNs: m[2]!, ctimeNs: m[3]!, ino: m[4]!, mode };
}

function isLowerHex(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** A relative POSIX path with no empty, `.` or `..` segment and no NUL: it cannot leave the target. */
export function isSafeRelPath(path: string): boolean {
  return path !== '' && !UNSAFE_PATH.test(path);
}

/** A leading or trailing slash, an empty, `.` or `..` segment, or a NUL (one regex: cheap per line). */
const UNSAFE_PATH = /^\/|\/\/|\/$|\0|(?:^|\/)\.{1,2}(?:\/|$)/;

/** The lines after the header. @throws BadLine when the header is not ours or the text is cut short. */
function bodyLines(text: string): string[] {
  if (!text.startsWith(`${MANIFEST_HEADER}\n`)) throw new BadLine(`does not start with "${MANIFEST_HEADER}"`);
  if (!text.endsWith('\n')) throw new BadLine('is cut short (no newline at its end)');
  const lines = text.slice(MANIFEST_HEADER.length + 1, -1);
  return lines === '' ? [] : lines.split('\n');
}

function stateError(where: string, what: string): DiffshipError {
  return new DiffshipError(
    'E_STATE',
    `${where}: manifest ${what} — the state was not written by diffship; inspect it, or remove the state folder and deploy with --assume-empty`,
  );
}

/**
 * Every entry of a manifest text, checked as hostile input (safe paths, blob ids
 * of `idLength`, known modes, strictly sorted so no path is listed twice).
 * @throws DiffshipError E_STATE naming `where` and the first bad line.
 */
export function parseManifestText(text: string, idLength: number, where: string): ManifestEntry[] {
  const files: ManifestEntry[] = [];
  let last: string | null = null;
  let lineNo = 1;
  try {
    for (const line of bodyLines(text)) {
      lineNo++;
      const e = parseLine(line, idLength);
      if (last !== null && byteOrder(last, e.path) >= 0)
        throw new BadLine(`lists ${JSON.stringify(e.path)} out of order or twice`);
      last = e.path;
      files.push(e);
    }
  } catch (error) {
    if (!(error instanceof BadLine)) throw error;
    throw stateError(where, lineNo === 1 ? error.message : `line ${lineNo} ${error.message}`);
  }
  return files;
}

/** How the next manifest differs from the last: entries set (new or changed) and paths removed. */
export interface ManifestChanges {
  /** Sorted by path (byte order). */
  set: ManifestEntry[];
  remove: ReadonlySet<string>;
  /** Paths whose file this deploy writes: their stat is taken once they are in place. */
  written: ReadonlySet<string>;
}

/**
 * The next manifest before the written files' stats are known: its lines, and
 * where each written file's line goes (filled by `finishManifest`).
 */
export interface PendingManifest {
  lines: string[];
  written: Array<{ index: number; entry: ManifestEntry }>;
}

/**
 * The next manifest from the previous text and its changes, line by line: an
 * untouched line is copied as it is (its stat still vouches for the file; its
 * path is checked all the same); a changed one keeps the old stat when blob and
 * mode did not change. Runs before anything is written: a bad line stops the
 * deploy with the target untouched. @throws DiffshipError E_STATE naming the line.
 */
export function mergeManifest(
  previous: string,
  c: ManifestChanges,
  idLength: number,
  where: string,
): PendingManifest {
  const p: PendingManifest = { lines: [MANIFEST_HEADER], written: [] };
  let next = 0;
  let last: string | null = null;
  let lineNo = 1;
  try {
    for (const line of bodyLines(previous)) {
      lineNo++;
      const start = pathStart(line);
      if (start < 0) throw new BadLine('is not blob, mode, stat and path separated by tabs');
      const path = pathOf(line, start);
      // Every path is checked, though untouched lines are copied: none unsafe is carried forward.
      if (!isSafeRelPath(path)) throw new BadLine(`has an unsafe path ${JSON.stringify(path)}`);
      if (last !== null && byteOrder(last, path) >= 0)
        throw new BadLine(`lists ${JSON.stringify(path)} out of order or twice`);
      last = path;
      while (next < c.set.length && byteOrder(c.set[next]!.path, path) < 0) add(p, c.set[next++]!, c);
      const set = next < c.set.length && c.set[next]!.path === path ? c.set[next++]! : undefined;
      if (set) add(p, set, c, parseLine(line, idLength));
      else if (c.remove.has(path)) continue;
      else if (c.written.has(path)) add(p, parseLine(line, idLength), c);
      else p.lines.push(line);
    }
  } catch (error) {
    if (!(error instanceof BadLine)) throw error;
    throw stateError(where, lineNo === 1 ? error.message : `line ${lineNo} ${error.message}`);
  }
  while (next < c.set.length) add(p, c.set[next++]!, c);
  return p;
}

/** A whole listing (each entry with the stat it keeps) before the written files' stats are known. */
export function pendingListing(
  files: readonly ManifestEntry[],
  written: ReadonlySet<string>,
): PendingManifest {
  const p: PendingManifest = { lines: [MANIFEST_HEADER], written: [] };
  for (const f of files) add(p, f, { written });
  return p;
}

/** Add an entry: a written file's line waits for its stat; else it keeps the old stat of the same file. */
function add(
  p: PendingManifest,
  e: ManifestEntry,
  c: { written: ReadonlySet<string> },
  old: ManifestEntry | undefined = e,
): void {
  const base: ManifestEntry = { path: e.path, blob: e.blob, mode: e.mode };
  if (c.written.has(e.path)) {
    p.written.push({ index: p.lines.length, entry: base });
    p.lines.push('');
    return;
  }
  const stat = old && old.blob === e.blob && old.mode === e.mode ? old.stat : undefined;
  p.lines.push(formatLine(stat ? { ...base, stat } : base));
}

/** The manifest's text, each written file with its fresh stat (none when the transport took none). */
export function finishManifest(p: PendingManifest, fresh: ReadonlyMap<string, FileStat>): string {
  const lines = [...p.lines];
  for (const { index, entry } of p.written) {
    const stat = fresh.get(entry.path);
    lines[index] = formatLine(stat ? { ...entry, stat } : entry);
  }
  return `${lines.join('\n')}\n`;
}
