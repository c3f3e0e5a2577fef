/**
 * The compact `--json` change list, formatted from git's raw output without an
 * object per change.
 *
 * Each chunk is decoded once as latin1: one character per byte, so offsets in
 * the text are offsets in the bytes, string comparison is byte order, and the
 * text goes back to the very same bytes (UTF-8 names included) when encoded as
 * latin1 again. A record becomes one template string; JSON's escapes are
 * JSON.stringify's own, applied to a path only when it holds a character that
 * needs one. Native string work, not a loop per byte: most of a CLI's run is
 * code V8 has not optimised yet.
 *
 * Only the plain case is done here: well-formed records (known modes, ids of
 * 40 or 64 characters, which git writes in hex), UTF-8 names, paths in byte order. Anything else sets `ok` to false and stops: the caller then
 * formats git's whole output the general way (diff-json.ts), which throws the
 * error, or sorts, exactly as before. The text is the same either way.
 */
import { isUtf8 } from 'node:buffer';
import type { ClassifyOptions, PathFilter } from './classify.js';
import { IGNORE_FILE, notIgnoreFile } from './ignore.js';
import { rawIdLength } from './raw.js';
import { SUBMODULE_MODE, type ChangeCounts } from './types.js';

/** The modes git writes for files, links and submodules (and none, for one side of an A or D). */
const MODES = new Set(['000000', '100644', '100755', '120000', '160000']);
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;
const NOT_ASCII = /[\u0080-\u00ff]/;
/** Output pieces: about this many characters (bytes) each. */
const PIECE = 1 << 16;
/** What `record` returns besides an offset: not all there yet. */
const INCOMPLETE = -1;

/**
 * Takes git's `diff-tree -r -z --raw` output chunk by chunk (as RawStream
 * does) and keeps the JSON array's inside (elements joined by commas) as bytes.
 */
export class CompactJson {
  /** False once a record needs the general path; nothing more is done then. */
  ok = true;
  readonly counts: ChangeCounts = { added: 0, updated: 0, deleted: 0, renamed: 0 };
  readonly submodules: string[] = [];
  shipsAFile = false;
  /** The array's inside, in pieces. */
  readonly body: Buffer[] = [];
  /** The source prefix as latin1 text (its UTF-8 bytes, a character each). */
  private readonly prefix: string;
  /** null: no include/exclude, only the ignore file is left out. */
  private readonly filter: PathFilter | null;
  private carry: Buffer | null = null;
  /** Elements, each after a comma (the very first one's comma is cut when it goes to `body`). */
  private out = '';
  private prev: string | null = null;

  constructor({ prefix, filter }: ClassifyOptions) {
    this.prefix = Buffer.from(prefix, 'utf8').toString('latin1');
    this.filter = filter === notIgnoreFile ? null : filter;
  }

  push(chunk: Buffer): void {
    if (!this.ok) return;
    const data = this.carry === null ? chunk : Buffer.concat([this.carry, chunk]);
    this.carry = null;
    const text = data.toString('latin1');
    let at = 0;
    while (at < text.length && this.ok) {
      const next = this.record(data, text, at);
      if (next === INCOMPLETE) {
        this.carry = Buffer.from(data.subarray(at));
        break;
      }
      at = next;
    }
    if (this.out.length >= PIECE) this.flush();
  }

  /** The last piece goes to `body`; false when the general path must take over. */
  end(): boolean {
    if (this.carry !== null) this.ok = false; // a record cut short: malformed
    if (this.ok) this.flush();
    return this.ok;
  }

  private flush(): void {
    if (this.out.length === 0) return;
    const text = this.body.length === 0 ? this.out.slice(1) : this.out;
    this.body.push(Buffer.from(text, 'latin1'));
    this.out = '';
  }

  /** One record at `at`: classify, filter, write. Returns where the next one starts, or INCOMPLETE. */
  private record(data: Buffer, text: string, at: number): number {
    const headerEnd = text.indexOf('\0', at);
    if (headerEnd < 0) return INCOMPLETE;
    // ":<old mode> <new mode> <old id> <new id> <letter>[score]": ids of 40 or 64 hex digits.
    const size = headerEnd - at;
    const length = rawIdLength(size);
    const s2 = at + 16 + 2 * length;
    if (length === 0 || text.charCodeAt(s2) !== 0x20 || text.charCodeAt(s2 - 1 - length) !== 0x20)
      return this.bad();
    const oldMode = text.slice(at + 1, at + 7);
    const newMode = text.slice(at + 8, at + 14);
    if (text.charCodeAt(at) !== 0x3a || text.charCodeAt(at + 7) !== 0x20 || text.charCodeAt(at + 14) !== 0x20)
      return this.bad();
    // Modes from the known few; ids as git writes them (hex from binary ids: nothing to escape).
    if (!MODES.has(oldMode) || !MODES.has(newMode)) return this.bad();
    const oldOid = text.slice(at + 15, s2 - 1 - length);
    const newOid = text.slice(s2 - length, s2);
    const letter = text.charAt(s2 + 1);
    if (letter === 'R' ? size % 2 === 0 : size % 2 !== 0 || !'ADMT'.includes(letter)) return this.bad();
    const first = headerEnd + 1;
    const firstEnd = text.indexOf('\0', first);
    if (firstEnd < 0) return INCOMPLETE;
    const modes = { oldMode, newMode, oldOid, newOid };
    if (letter !== 'R') {
      const path = this.kept(data, text, first, firstEnd);
      if (path === null) return firstEnd + 1;
      if (letter === 'A') this.added(path, modes);
      else if (letter === 'D') this.deleted(path, modes);
      else if (this.take(path, 'updated', oldMode, newMode))
        this.out += `,{"status":"updated","path":"${esc(path)}","mode":"${newMode}","blob":"${newOid}","oldMode":"${oldMode}","oldBlob":"${oldOid}"}`;
      return firstEnd + 1;
    }
    const secondEnd = text.indexOf('\0', firstEnd + 1);
    if (secondEnd < 0) return INCOMPLETE;
    const similarity = score(text, s2 + 2, headerEnd);
    if (similarity < 0) return this.bad();
    const oldPath = this.kept(data, text, first, firstEnd);
    const path = this.kept(data, text, firstEnd + 1, secondEnd);
    // A rename that crosses a filter boundary is only half visible.
    if (path !== null && oldPath !== null) {
      if (this.take(path, 'renamed', oldMode, newMode))
        this.out += `,{"status":"renamed","path":"${esc(path)}","oldPath":"${esc(oldPath)}","similarity":${similarity},"mode":"${newMode}","blob":"${newOid}","oldMode":"${oldMode}","oldBlob":"${oldOid}"}`;
    } else if (path !== null) this.added(path, modes);
    else if (oldPath !== null) this.deleted(oldPath, modes);
    return secondEnd + 1;
  }

  private added(path: string, m: Modes): void {
    if (this.take(path, 'added', m.newMode, m.newMode))
      this.out += `,{"status":"added","path":"${esc(path)}","mode":"${m.newMode}","blob":"${m.newOid}"}`;
  }

  private deleted(path: string, m: Modes): void {
    if (this.take(path, 'deleted', m.oldMode, null))
      this.out += `,{"status":"deleted","path":"${esc(path)}","oldMode":"${m.oldMode}","oldBlob":"${m.oldOid}"}`;
  }

  /** Not a plain record: stop. */
  private bad(): number {
    this.ok = false;
    return Number.MAX_SAFE_INTEGER;
  }

  /**
   * The path at [start, end) without the source prefix (latin1 text) when it
   * takes part (as classify's `keep`); null when it does not, or when the
   * general path must take over (no prefix, a kept name that is not UTF-8).
   */
  private kept(data: Buffer, text: string, start: number, end: number): string | null {
    const prefix = this.prefix;
    if (end - start <= prefix.length || !text.startsWith(prefix, start)) return this.stop();
    const from = start + prefix.length;
    const path = text.slice(from, end);
    const ascii = !NOT_ASCII.test(path);
    if (this.filter === null) {
      if (path === IGNORE_FILE) return null;
    } else if (!this.filter(ascii ? path : data.toString('utf8', from, end))) return null;
    if (!ascii && !isUtf8(data.subarray(from, end))) return this.stop();
    return path;
  }

  private stop(): null {
    this.ok = false;
    return null;
  }

  /**
   * Count the change and note what the CLI warns about (as diff-json's `take`);
   * false when it breaks byte order (latin1 text compares as its bytes do) and
   * the general path must sort.
   */
  private take(path: string, status: keyof ChangeCounts, mode1: string, mode2: string | null): boolean {
    if (!this.ok) return false;
    if (this.prev !== null && !(this.prev < path)) {
      this.ok = false;
      return false;
    }
    this.prev = path;
    this.counts[status] += 1;
    if (mode1 === SUBMODULE_MODE || mode2 === SUBMODULE_MODE)
      this.submodules.push(Buffer.from(path, 'latin1').toString('utf8'));
    else if (mode2 !== null) this.shipsAFile = true;
    return true;
  }
}

interface Modes {
  oldMode: string;
  newMode: string;
  oldOid: string;
  newOid: string;
}

/** A rename's similarity: three digits, 0–100; else -1. */
function score(text: string, start: number, end: number): number {
  const digits = text.slice(start, end);
  return end - start === 3 && /^\d{3}$/.test(digits) && Number(digits) <= 100 ? Number(digits) : -1;
}

/** A path as JSON.stringify writes it, without the quotes (latin1 in, latin1 out: bytes 0x80–0xff pass as they are). */
function esc(path: string): string {
  return NEEDS_ESCAPE.test(path) ? JSON.stringify(path).slice(1, -1) : path;
}
