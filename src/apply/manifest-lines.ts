/**
 * A manifest file's lines read forward alongside a walk in path order, as raw
 * bytes, a line decoded only when asked for as text: the caller compares a
 * line with the one it expects (blob, mode, fresh stat, path) and parses it
 * only when they differ, or settles it on bytes without a string (`settle`:
 * the usual file, untouched since the last deploy). At 500,000 files that is a
 * byte compare per file instead of an entry object and five decimals parsed.
 *
 * Checking as hostile input stays whole: a line that equals the expected text
 * (or bytes) is valid by construction (the caller builds it from a release
 * blob of the right length, a known mode, an lstat and a walked path), a line
 * that differs is parsed by `parse` (manifest-text.ts checks), and every line
 * nobody asks for is parsed as it is passed over. Order is checked too: a line
 * passed over must sort after the one before it; a matched or settled line
 * sorts after both the line before it (passed over: below it) and the walk's
 * previous path.
 */
import { byteOrder } from '../byte-order.js';
import type { ManifestEntry } from '../plan/manifest-types.js';
import { BadLine, lineError, parseNumbered } from './manifest-text.js';
import { manifestWindows } from './manifest-chunks.js';
import type { ManifestSource } from './manifest-source.js';
import type { RawEntry } from '../transport/transport.js';
import { compareBytes } from '../same-bytes.js';

const QUOTE = 0x22;
const TAB = 0x09;
const NL = 0x0a;

/**
 * What authoritative mode's merge asks of a manifest's lines: read forward in path
 * order (ManifestCursor, beside a sorted walk) or looked up by path in any order
 * (ManifestIndex, beside a walk in find's order). Either way every line is checked:
 * a line handed out is compared with the one the caller built or parsed, and the
 * others are parsed by `finish`.
 */
export interface ManifestLines {
  /** The length of the blob ids its lines must hold. */
  readonly idLength: number;
  /** The raw line for `path`, or undefined; `passed` gets the lines this passes over (a cursor's). */
  seek(path: string, passed?: (entry: ManifestEntry) => void): string | undefined;
  /** Parse the line `seek` just gave. @throws DiffshipError E_STATE naming it. */
  parse(line: string): ManifestEntry;
  /** Parse (and so check) the lines no path asked for, in path order; `passed` gets each. */
  finish(passed?: (entry: ManifestEntry) => void): void;
}

export class ManifestCursor implements ManifestLines {
  /** The current window of whole lines (manifest-chunks.ts): a view the next window overwrites. */
  private bytes: Buffer = Buffer.alloc(0);
  private from = 0; // where the current line starts in `bytes`
  private to = -1; // where it ends (its newline, or the window's end); -1: no current line
  /** The current line decoded, once something asked for it as text. */
  private text: string | null = null;
  private readonly windows: Generator<Buffer, undefined>;
  private lineNo = 1;
  private last: string | null = null;
  /** The last line was settled on bytes (`settle`): its path is `bytes[lastFrom, lastTo)`, not `last`. */
  private lastFrom = -1;
  private lastTo = -1;
  /** The current line was handed out by `seek`: moved past on the next call (so `parse` names its number). */
  private taken = false;

  /**
   * @param idLength the length of the blob ids its lines must hold
   * @param where the file, for error messages
   * @throws DiffshipError E_STATE when the header is not ours or the file is cut short
   */
  constructor(
    data: ManifestSource,
    readonly idLength: number,
    private readonly where: string,
  ) {
    this.windows = manifestWindows(data, where);
    this.advance();
  }

  /**
   * The raw line for `path` (asked in increasing byte order), or undefined when the
   * manifest has none; the lines before it are parsed and checked as they are passed.
   * The line itself is not checked: the caller compares it with a line it built, or `parse`s it.
   * `passed` gets each line passed over (a path the walk did not reach), parsed.
   * @throws DiffshipError E_STATE naming the first bad line passed.
   */
  seek(path: string, passed?: (entry: ManifestEntry) => void): string | undefined {
    this.passTaken();
    while (this.to >= 0) {
      const line = (this.text ??= this.bytes.toString('utf8', this.from, this.to));
      const start = pathStart(line);
      // The usual case: the line's path field is `path` itself (unquoted).
      if (start > 0 && line.length - start === path.length && line.startsWith(path, start)) {
        this.setLast(path);
        this.taken = true;
        return line;
      }
      const entry = this.parse(line); // any other line is parsed, so checked
      const order = byteOrder(entry.path, path);
      if (order > 0) return undefined; // asked again by a later path
      this.checkOrder(entry.path);
      if (order === 0) {
        this.taken = true;
        return line; // a quoted path
      }
      passed?.(entry);
      this.advance();
    }
    return undefined;
  }

  /**
   * Take the current line without a string, when its path is the walked entry's
   * (an ASCII path, unquoted, byte for byte) and `inSync(bytes, start, pathStart)`
   * says the line is the one the caller would build for it (observe/line-in-sync.ts):
   * true, and the line is passed. Anything else: false, nothing moved; the caller
   * seeks by text as usual. Order needs no check here: the walk's paths increase
   * (checked by the walk), and every line taken before sorts below this path.
   */
  settle(e: RawEntry, inSync: (bytes: Buffer, start: number, pathStart: number) => boolean): boolean {
    this.passTaken();
    const { bytes, from, to } = this;
    if (to < 0) return false;
    // The path ends the line, after a tab (the stat field's end: `inSync` checks the field).
    const length = e.pathEnd - e.pathStart;
    const start = to - length;
    if (
      length === 0 ||
      start < from + this.idLength + 9 ||
      bytes[start - 1] !== TAB ||
      bytes[start] === QUOTE
    )
      return false;
    // Printable ASCII: a name with a control character is always written quoted.
    for (let i = 0; i < length; i++) {
      const c = e.buf[e.pathStart + i]!;
      if (c < 0x20 || c >= 0x7f || c !== bytes[start + i]) return false;
    }
    if (!inSync(bytes, from, start)) return false;
    this.last = null;
    this.lastFrom = start;
    this.lastTo = to;
    this.advance();
    return true;
  }

  /** Parse the line `seek` just gave (or is on). @throws DiffshipError E_STATE naming it. */
  parse(line: string): ManifestEntry {
    return parseNumbered(line, this.idLength, this.where, this.lineNo);
  }

  /** Parse (and so check) the lines no path asked for; `passed` gets each. */
  finish(passed?: (entry: ManifestEntry) => void): void {
    for (let files = this.take(1024); files.length > 0; files = this.take(1024))
      for (const f of files) passed?.(f);
  }

  /**
   * The next lines no path asked for, `max` at most (none: the end), parsed and checked as
   * `finish` does: a whole manifest read a batch at a time, never all of it in objects.
   */
  take(max: number): ManifestEntry[] {
    this.passTaken();
    const out: ManifestEntry[] = [];
    while (this.to >= 0 && out.length < max) {
      const entry = this.parse(this.text ?? this.bytes.toString('utf8', this.from, this.to));
      this.checkOrder(entry.path);
      out.push(entry);
      this.advance();
    }
    return out;
  }

  private passTaken(): void {
    if (!this.taken) return;
    this.taken = false;
    this.advance();
  }

  private checkOrder(path: string): void {
    if (!this.afterLast(path))
      throw this.bad(new BadLine(`lists ${JSON.stringify(path)} out of order or twice`));
    this.setLast(path);
  }

  /** `path` sorts after the last line taken (settled: compared with its bytes). */
  private afterLast(path: string): boolean {
    if (this.lastFrom < 0) return this.last === null || byteOrder(this.last, path) < 0;
    const p = Buffer.from(path, 'utf8');
    return compareBytes(this.bytes, this.lastFrom, this.lastTo, p, 0, p.length) < 0;
  }

  private setLast(path: string): void {
    this.last = path;
    this.lastFrom = -1;
  }

  private bad(error: unknown): unknown {
    return lineError(this.where, this.lineNo, error);
  }

  /** Move to the next line, reading the next window when this one is used up. */
  private advance(): void {
    this.text = null;
    if (this.to >= 0 && this.to < this.bytes.length) {
      this.from = this.to + 1;
    } else {
      // The window is overwritten: a path settled in it is kept as text.
      if (this.lastFrom >= 0) this.setLast(this.bytes.toString('utf8', this.lastFrom, this.lastTo));
      const window = this.windows.next();
      if (window.done) {
        this.to = -1;
        this.bytes = Buffer.alloc(0);
        return;
      }
      this.bytes = window.value;
      this.from = 0;
    }
    const nl = this.bytes.indexOf(NL, this.from);
    this.to = nl < 0 ? this.bytes.length : nl;
    this.lineNo++;
  }
}

/** Where a line's path field starts (after its third tab); -1 when it has fewer, or a quoted path. */
function pathStart(line: string): number {
  const a = line.indexOf('\t');
  const b = a < 0 ? -1 : line.indexOf('\t', a + 1);
  const c = b < 0 ? -1 : line.indexOf('\t', b + 1);
  return c < 0 || line.charCodeAt(c + 1) === QUOTE ? -1 : c + 1;
}
