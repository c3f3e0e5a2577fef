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
 * deploy planned from git merges its change set into the previous file
 * (manifest-merge.ts) without reading its untouched lines.
 */
import { DiffshipError } from '../errors.js';
import { byteOrder } from '../byte-order.js';
import type { FileStat, ManifestEntry, ManifestMode } from '../plan/manifest-types.js';

export const MANIFEST_HEADER = 'diffship-manifest 1';

// Control characters (a newline would end the line), a backslash, a leading quote, a lone surrogate.
// eslint-disable-next-line no-control-regex
const NEEDS_QUOTES = /^"|[\u0000-\u001f\u007f\\]|[\ud800-\udfff]/;
const MODES: readonly string[] = ['100644', '100755', '120000'];

/** The stat field of a line without a stat. */
export const NO_STAT = '-';

/** A stat's field from its five values: `size,mtimeNs,ctimeNs,ino,mode`. */
export const statFields = (
  size: number,
  mtimeNs: string | bigint,
  ctimeNs: string | bigint,
  ino: string | bigint,
  mode: number,
): string => `${size},${mtimeNs},${ctimeNs},${ino},${mode}`;

/** A stat's field: `size,mtimeNs,ctimeNs,ino,mode`. */
export const statText = (s: FileStat): string => statFields(s.size, s.mtimeNs, s.ctimeNs, s.ino, s.mode);

/** One entry as a line (without its newline). */
function formatLine(e: ManifestEntry): string {
  return lineOf(e, e.stat);
}

/** An entry's line with `s` as its stat (none when undefined), whatever stat the entry holds. */
export function lineOf(e: ManifestEntry, s: FileStat | undefined): string {
  return lineWithStat(e, s ? statText(s) : NO_STAT);
}

/** An entry's line with `stat` as its stat field (statText's, or `-`). */
export function lineWithStat(e: ManifestEntry, stat: string): string {
  return `${e.blob}\t${e.mode}\t${stat}\t${pathField(e.path)}`;
}

const pathField = (path: string): string => (NEEDS_QUOTES.test(path) ? JSON.stringify(path) : path);

/**
 * The UTF-8 size of `lineOf(e, s)` and its newline, counted without making the line: a
 * manifest's size is announced before its bytes are made (manifest-stream.ts).
 */
export function lineBytes(e: ManifestEntry, s: FileStat | undefined): number {
  const stat = s
    ? digits(s.size) + s.mtimeNs.length + s.ctimeNs.length + s.ino.length + digits(s.mode) + 4
    : 1;
  return e.blob.length + e.mode.length + stat + Buffer.byteLength(pathField(e.path), 'utf8') + 4;
}

/** The length of a non-negative integer in decimal. */
const digits = (n: number): number => String(n).length;

/** A whole manifest file's text; `files` must be sorted by path (byte order). */
export function formatManifest(files: readonly ManifestEntry[]): string {
  const lines = [MANIFEST_HEADER];
  for (const f of files) lines.push(formatLine(f));
  return `${lines.join('\n')}\n`;
}

/** A bad line: what is wrong, for the E_STATE message the caller builds. */
export class BadLine extends Error {}

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

/** The path of a line, unquoted (not checked). @throws BadLine when the line has too few fields. */
export function linePath(line: string): string {
  const start = pathStart(line);
  if (start < 0) throw new BadLine('is not blob, mode, stat and path separated by tabs');
  return pathOf(line, start);
}

/** Parse and check one line. @throws BadLine */
export function parseLine(line: string, idLength: number): ManifestEntry {
  // The three tabs found once; the fields are the text between them (no split, no array).
  const a = line.indexOf('\t');
  const b = a < 0 ? -1 : line.indexOf('\t', a + 1);
  const c = b < 0 ? -1 : line.indexOf('\t', b + 1);
  if (c < 0) throw new BadLine('is not blob, mode, stat and path separated by tabs');
  const path = pathOf(line, c + 1);
  if (!isSafeRelPath(path)) throw new BadLine(`has an unsafe path ${JSON.stringify(path)}`);
  const blob = line.slice(0, a);
  if (blob.length !== idLength || !isLowerHex(blob))
    throw new BadLine(`entry ${JSON.stringify(path)} has a bad blob id ${JSON.stringify(blob)}`);
  const mode = line.slice(a + 1, b);
  if (!MODES.includes(mode))
    throw new BadLine(`entry ${JSON.stringify(path)} has a bad mode ${JSON.stringify(mode)}`);
  const entry: ManifestEntry = { path, blob, mode: mode as ManifestMode };
  if (c !== b + 2 || line.charCodeAt(b + 1) !== DASH) entry.stat = parseStat(line.slice(b + 1, c), path);
  return entry;
}

const DASH = 0x2d;

/**
 * `size,mtimeNs,ctimeNs,ino,mode`: five decimals without leading zeros, read by hand (no regex per line).
 * The times may be negative: a file dated before 1970 (a tarball's, `touch -d 1960-01-01`) lstats so.
 */
function parseStat(text: string, path: string): FileStat {
  const c1 = text.indexOf(',');
  const c2 = c1 < 0 ? -1 : text.indexOf(',', c1 + 1);
  const c3 = c2 < 0 ? -1 : text.indexOf(',', c2 + 1);
  const c4 = c3 < 0 ? -1 : text.indexOf(',', c3 + 1);
  const ok =
    c4 >= 0 &&
    isDecimal(text, 0, c1, 16) &&
    isDecimal(text, c1 + 1, c2, 25, true) &&
    isDecimal(text, c2 + 1, c3, 25, true) &&
    isDecimal(text, c3 + 1, c4, 25) &&
    isDecimal(text, c4 + 1, text.length, 16); // a sixth field fails here: a comma is not a digit
  const size = ok ? Number(text.slice(0, c1)) : NaN;
  const mode = ok ? Number(text.slice(c4 + 1)) : NaN;
  if (!Number.isSafeInteger(size) || !Number.isSafeInteger(mode))
    throw new BadLine(`entry ${JSON.stringify(path)} has a bad stat`);
  return {
    size,
    mtimeNs: text.slice(c1 + 1, c2),
    ctimeNs: text.slice(c2 + 1, c3),
    ino: text.slice(c3 + 1, c4),
    mode,
  };
}

/** text[start, end) is `0` or up to `max` digits without a leading zero (`signed`: or `-` and such digits, not `-0`). */
function isDecimal(text: string, start: number, end: number, max: number, signed = false): boolean {
  if (signed && text.charCodeAt(start) === 0x2d && text.charCodeAt(start + 1) !== 0x30) start++;
  const length = end - start;
  if (length < 1 || length > max) return false;
  if (length > 1 && text.charCodeAt(start) === 0x30) return false;
  for (let i = start; i < end; i++) {
    const ch = text.charCodeAt(i);
    if (ch < 0x30 || ch > 0x39) return false;
  }
  return true;
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
  if (path === '' || path.includes('\0')) return false;
  // Segment by segment, no regex and no split: every line of a 500,000-line manifest passes here.
  for (let start = 0; start <= path.length;) {
    let end = path.indexOf('/', start);
    if (end === -1) end = path.length;
    const length = end - start;
    if (length === 0) return false; // a leading, trailing or double slash
    if (
      length <= 2 &&
      path.charCodeAt(start) === 0x2e &&
      (length === 1 || path.charCodeAt(start + 1) === 0x2e)
    )
      return false;
    start = end + 1;
  }
  return true;
}

/** The lines after the header. @throws BadLine when the header is not ours or the text is cut short. */
function bodyLines(text: string): string[] {
  if (!text.startsWith(`${MANIFEST_HEADER}\n`)) throw new BadLine(`does not start with "${MANIFEST_HEADER}"`);
  if (!text.endsWith('\n')) throw new BadLine('is cut short (no newline at its end)');
  const lines = text.slice(MANIFEST_HEADER.length + 1, -1);
  return lines === '' ? [] : lines.split('\n');
}

/** A BadLine of line `lineNo` of the manifest at `where` as E_STATE naming both; any other error as is. */
export function lineError(where: string, lineNo: number, error: unknown): unknown {
  return error instanceof BadLine ? stateError(where, `line ${lineNo} ${error.message}`) : error;
}

/** parseLine, its refusal worded by lineError. @throws DiffshipError E_STATE */
export function parseNumbered(line: string, idLength: number, where: string, lineNo: number): ManifestEntry {
  try {
    return parseLine(line, idLength);
  } catch (error) {
    throw lineError(where, lineNo, error);
  }
}

export function stateError(where: string, what: string): DiffshipError {
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
