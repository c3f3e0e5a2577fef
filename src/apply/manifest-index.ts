/**
 * A manifest's lines by path, for a merge with a walk in no particular order
 * (observe/manifest-walk-merge.ts beside find's own order). Built over the
 * file's bytes in one pass: a table of line offsets and an open-addressing hash
 * table of their paths' bytes, no string or object per line, so nothing of it
 * is young garbage or a GC root to trace (a Map of 50,000 path strings cost ~35 ms
 * of collections in a 50,000-file update). A walk's entry is found by its
 * path's bytes (`at`), or by its text (`seek`). Only for a manifest small
 * enough to read whole (the caller's choice: MANIFEST_INDEX_MAX entries); a
 * bigger one is read forward with ManifestCursor beside a sorted walk.
 *
 * Checked as ManifestCursor checks (manifest-lines.ts): the paths must be in
 * byte order, each once (checked here, for every line); a line handed out is
 * compared with the one the caller built, or parsed; `finish` parses the others.
 */
import { randomBytes } from 'node:crypto';
import type { ManifestEntry } from '../plan/manifest-types.js';
import { BadLine, linePath, lineError, parseNumbered } from './manifest-text.js';
import { manifestWindows } from './manifest-chunks.js';
import { bufferSource } from './manifest-source.js';
import type { ManifestLines } from './manifest-lines.js';
import { compareBytes, sameBytes } from '../same-bytes.js';

/** Manifest entries up to which a merge may index the manifest (its bytes are read whole). */
export const MANIFEST_INDEX_MAX = 100_000;

const NL = 0x0a;
const TAB = 0x09;
const QUOTE = 0x22;
/** No line in this slot of the hash table. */
const EMPTY = -1;
const FNV_PRIME = 0x01000193;

export class ManifestIndex implements ManifestLines {
  /** Line i is bytes [starts[i], ends[i]) of `bytes` (its newline excluded); its path from paths[i]. */
  private readonly starts: Uint32Array;
  private readonly ends: Uint32Array;
  private readonly paths: Uint32Array;
  private readonly count: number;
  /** Open addressing: line numbers by their path's hash; a power of two, at most half full. */
  private readonly table: Int32Array;
  /** Lines written with a quoted path, by their path's text (their bytes are not the path's). */
  private readonly quoted = new Map<string, number>();
  /** Lines handed out (`seek`, `take`): `finish` parses the others. */
  private readonly seen: Uint8Array;
  /** The line last handed out, for `parse`'s error. */
  private current = -1;
  /** The hash's starting value (see `hash`). */
  private readonly seed = randomBytes(4).readUInt32LE(0);

  /**
   * @param bytes the whole manifest file
   * @param idLength the length of the blob ids its lines must hold
   * @param where the file, for error messages
   * @throws DiffshipError E_STATE when the header is not ours, the file is cut short,
   *   or a path is out of order or listed twice
   */
  constructor(
    readonly bytes: Buffer,
    readonly idLength: number,
    private readonly where: string,
  ) {
    // The header and the final newline, checked as every reader checks them.
    manifestWindows(bufferSource(bytes), where).next();
    // The lines counted first (memchr): the tables hold no more than they index.
    const body = bytes.indexOf(NL) + 1;
    let lines = 0;
    for (let at = bytes.indexOf(NL, body); at >= 0; at = bytes.indexOf(NL, at + 1)) lines++;
    this.starts = new Uint32Array(lines);
    this.ends = new Uint32Array(lines);
    this.paths = new Uint32Array(lines);
    let size = 1024;
    while (size < lines * 2) size *= 2;
    this.table = new Int32Array(size).fill(EMPTY);
    let n = 0;
    for (
      let from = body, end = bytes.indexOf(NL, from);
      end >= 0;
      from = end + 1, end = bytes.indexOf(NL, from)
    ) {
      this.starts[n] = from;
      this.ends[n] = end;
      this.current = n;
      this.index(n, from, end);
      n++;
    }
    this.count = n;
    this.seen = new Uint8Array(n);
  }

  /** Line n's path into the table, checked to sort after the line before it. */
  private index(n: number, from: number, end: number): void {
    const { bytes } = this;
    const c = pathField(bytes, from, end, this.idLength);
    if (c < 0 || bytes[c] === QUOTE) {
      // A quoted path (or a line without its tabs): parsed for its path, so checked.
      const path = this.parse(bytes.toString('utf8', from, end)).path;
      this.paths[n] = end;
      this.checkOrder(n, Buffer.from(path, 'utf8'), 0, Buffer.byteLength(path), path);
      if (this.quoted.has(path))
        throw this.bad(new BadLine(`lists ${JSON.stringify(path)} out of order or twice`));
      this.quoted.set(path, n);
      return;
    }
    this.paths[n] = c;
    this.checkOrder(n, bytes, c, end, null);
    let slot = hash(this.seed, bytes, c, end) & (this.table.length - 1);
    while (this.table[slot] !== EMPTY) slot = (slot + 1) & (this.table.length - 1);
    this.table[slot] = n;
  }

  /** The path's bytes sort after the line before it (its own bytes, or its quoted path's). */
  private checkOrder(n: number, path: Buffer, start: number, end: number, text: string | null): void {
    if (n === 0) return;
    const c = this.paths[n - 1]!;
    const e = this.ends[n - 1]!;
    // The line before it quoted (its path field is not its path's bytes): decoded, rare.
    const before = c !== e ? null : Buffer.from(linePath(this.bytes.toString('utf8', this.starts[n - 1], e)));
    const order = before
      ? compareBytes(before, 0, before.length, path, start, end)
      : compareBytes(this.bytes, c, e, path, start, end);
    if (order < 0) return;
    const shown = text ?? path.toString('utf8', start, end);
    throw this.bad(new BadLine(`lists ${JSON.stringify(shown)} out of order or twice`));
  }

  /** The line whose (unquoted) path is `buf[start, end)`, -1 when none; not handed out yet. */
  at(buf: Buffer, start: number, end: number): number {
    return this.find(buf, start, end, false);
  }

  /** `at`, but -1 for a path that is not all ASCII (a byte of 0x80 or more) too. */
  atAscii(buf: Buffer, start: number, end: number): number {
    return this.find(buf, start, end, true);
  }

  private find(buf: Buffer, start: number, end: number, ascii: boolean): number {
    // The hash and the ASCII test in one pass over the path.
    let h = this.seed;
    let any = 0;
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      any |= c;
      h = Math.imul(h ^ c, FNV_PRIME);
    }
    if (ascii && any >= 0x80) return -1;
    const mask = this.table.length - 1;
    const { bytes, paths, ends } = this;
    for (let slot = (h >>> 0) & mask; ; slot = (slot + 1) & mask) {
      const n = this.table[slot]!;
      if (n === EMPTY) return -1;
      const c = paths[n]!;
      if (ends[n]! - c === end - start && sameBytes(bytes, c, buf, start, end - start)) return n;
    }
  }

  /** Where line n starts and ends in `bytes`. */
  lineStart(n: number): number {
    return this.starts[n]!;
  }

  /** Where line n's path field starts. */
  pathStart(n: number): number {
    return this.paths[n]!;
  }

  /** Line n is accounted for (in sync): `finish` passes over it. */
  take(n: number): void {
    this.seen[n] = 1;
  }

  /** The line for `path`, without handing it out; -1 when none. */
  lineOf(path: string): number {
    const q = this.quoted.get(path);
    if (q !== undefined) return q;
    const b = Buffer.from(path, 'utf8');
    return this.at(b, 0, b.length);
  }

  /** The raw line for `path` (in any order), or undefined when the manifest has none. */
  seek(path: string): string | undefined {
    const n = this.lineOf(path);
    if (n < 0) return undefined;
    this.seen[n] = 1;
    this.current = n;
    return this.bytes.toString('utf8', this.starts[n], this.ends[n]);
  }

  parse(line: string): ManifestEntry {
    return parseNumbered(line, this.idLength, this.where, this.current + 2);
  }

  finish(passed?: (entry: ManifestEntry) => void): void {
    for (let n = 0; n < this.count; n++) {
      if (this.seen[n] === 1) continue;
      this.current = n;
      const entry = this.parse(this.bytes.toString('utf8', this.starts[n], this.ends[n]));
      passed?.(entry);
    }
  }

  private bad(error: unknown): unknown {
    return lineError(this.where, this.current + 2, error); // line 1 is the header
  }
}

/**
 * Where the path field of the line at bytes [from, end) starts (after its third tab); -1 when
 * it has fewer. A well-formed line's first two tabs are where an id and a mode put them.
 */
function pathField(bytes: Buffer, from: number, end: number, idLength: number): number {
  let i = from;
  let tabs = 0;
  if (bytes[from + idLength] === TAB && bytes[from + idLength + 7] === TAB) {
    i = from + idLength + 8;
    tabs = 2;
  }
  for (; i < end; i++) if (bytes[i] === TAB && ++tabs === 3) return i + 1;
  return -1;
}

/**
 * FNV-1a over bytes [start, end), from `seed`. A random seed per index: the manifest is
 * read from the target, and paths made to collide (one long probe for every line, a
 * quadratic index) would need it known.
 */
function hash(seed: number, buf: Buffer, start: number, end: number): number {
  let h = seed;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, FNV_PRIME);
  return h >>> 0;
}
