/**
 * The library's change set, built straight from git's raw `-z` records as they
 * arrive (`diffReleases`).
 *
 * Memory: every string a change keeps (path, old path, blob ids) is its own
 * copy, cut from git's bytes, never a slice of a decoded chunk. A slice keeps
 * the whole chunk's text alive (headers, the other side's id, the zero ids of
 * an addition): at 500,000 files that was ~60 MiB of text nobody reads. Modes
 * are the few shared constants.
 *
 * Speed: each chunk is decoded once as latin1 (one character per byte, so
 * offsets are byte offsets and string order is byte order: git's order is
 * checked without decoding a name), then cut with native string search.
 *
 * Only plain records are read here: well-formed headers, names under the
 * source prefix that are ASCII or valid UTF-8. From the first record that is
 * anything else on, the rest goes through the general parser (raw.ts,
 * classify.ts), which keeps the exact bytes, refuses what must be refused
 * with its own errors, and the result is sorted at the end: the same changes
 * either way.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { sortByPath } from '../byte-order.js';
import { changeObjects, classifier, type ClassifyOptions, type PathFilter } from './classify.js';
import { IGNORE_FILE, notIgnoreFile } from './ignore.js';
import { rawIdLength, RawStream } from './raw.js';
import type { Change, ChangeCounts } from './types.js';
import { ListedFiles } from './listed-files.js';
import { listingView } from './listing-view.js';

/** The modes git writes, shared by every change: 500,000 changes keep no copy of each. */
const MODES = ['100644', '000000', '100755', '120000', '160000'];
/** What `record` returns when the record is not all in yet. */
const INCOMPLETE = -1;
/** What `record` returns when the record is not plain: the general parser takes over. */
const NOT_PLAIN = -2;

/** Takes git's output chunk by chunk (a RecordSink); the changes, their counts, sorted by path bytes. */
export class ChangeRecords {
  readonly changes: Change[] = [];
  readonly counts: ChangeCounts = { added: 0, updated: 0, deleted: 0, renamed: 0 };
  /** The source prefix as latin1 text (its UTF-8 bytes, a character each). */
  private readonly prefix: string;
  /** null: no include/exclude, only the ignore file is left out. */
  private readonly filter: PathFilter | null;
  private carry: Buffer | null = null;
  /** Whether the paths came in byte order so far (git's order: then nothing to sort). */
  private ordered = true;
  /** The last path noted, as latin1 text (its bytes; the path itself when ASCII), for the order check. */
  private prev = '';
  /** The name `name` read last, as latin1 text. */
  private key = '';
  /** The general parser, once a record was not plain. */
  private general: RawStream | null = null;
  /** Per chunk: whether it is all ASCII (then no name needs decoding). */
  private ascii = true;

  /** A listing's compact files (listed-files.ts), once the first is kept; null: plain objects. */
  private listed: ListedFiles | null = null;
  /**
   * While every change is one of `listed`'s files, `changes` stays empty and the result is a
   * view of the table (listing-view.ts): no object per file. The first change that is not
   * (a path too long for the table, a mode it does not hold, a record for the general parser)
   * puts the files' objects into `changes`, and the rest follows as plain changes.
   */
  private viewOnly = true;

  /** `compact`: a release listing (every change added): its files kept as listed-files.ts makes them. */
  constructor(
    private readonly options: ClassifyOptions,
    private readonly compact = false,
  ) {
    this.prefix = Buffer.from(options.prefix, 'utf8').toString('latin1');
    this.filter = options.filter === notIgnoreFile ? null : options.filter;
  }

  push(chunk: Buffer): void {
    if (this.general !== null) return this.general.push(chunk);
    let data = chunk;
    let at = 0;
    if (this.carry !== null) {
      // The record cut at the last chunk's end, finished from this one's bytes up to its third NUL
      // (a record has at most three): not a copy of the whole chunk per chunk.
      const carry = this.carry;
      this.carry = null;
      const head = chunk.subarray(0, throughNuls(chunk, 3));
      const joined = Buffer.concat([carry, head]);
      const next = this.record(joined, this.decode(joined), 0);
      if (next === NOT_PLAIN) return this.toGeneral(Buffer.concat([carry, chunk]));
      if (next === INCOMPLETE) data = Buffer.concat([carry, chunk]);
      else at = next - carry.length;
    }
    const text = this.decode(data);
    while (at < text.length) {
      const next = this.record(data, text, at);
      if (next === INCOMPLETE) {
        this.carry = Buffer.from(data.subarray(at));
        return;
      }
      if (next === NOT_PLAIN) return this.toGeneral(data.subarray(at));
      at = next;
    }
  }

  /** The bytes as latin1 text; notes whether they are all ASCII (then no name needs decoding). */
  private decode(data: Buffer): string {
    this.ascii = isAscii(data);
    return data.toString('latin1');
  }

  end(): void {
    if (this.general === null && this.carry !== null) this.toGeneral(this.carry);
    this.carry = null;
    this.general?.end();
  }

  /** The changes in byte order of their paths. */
  sorted(): Change[] {
    if (this.viewOnly && this.listed !== null && this.ordered) return listingView(this.listed);
    this.toObjects();
    return this.ordered ? this.changes : sortByPath(this.changes);
  }

  /** From here on every change is an object in `changes`: the listed files' first. */
  private toObjects(): void {
    if (!this.viewOnly) return;
    this.viewOnly = false;
    const listed = this.listed;
    if (listed !== null) for (let i = 0; i < listed.length; i++) this.changes.push(listed.file(i));
  }

  /** Hand `rest` and everything after it to the general parser; the result is sorted at the end. */
  private toGeneral(rest: Buffer): void {
    this.toObjects();
    this.ordered = false;
    const objects = changeObjects(this.changes);
    const counts = this.counts;
    this.general = new RawStream(
      classifier(this.options, {
        added: (path, e) => (counts.added++, objects.added(path, e)),
        deleted: (path, e) => (counts.deleted++, objects.deleted(path, e)),
        updated: (path, e) => (counts.updated++, objects.updated(path, e)),
        renamed: (path, oldPath, e) => (counts.renamed++, objects.renamed(path, oldPath, e)),
      }),
    );
    this.general.push(rest);
  }

  /** One record at `at`: classify, filter, keep. Where the next one starts, INCOMPLETE or NOT_PLAIN. */
  private record(data: Buffer, text: string, at: number): number {
    const headerEnd = text.indexOf('\0', at);
    if (headerEnd < 0) return INCOMPLETE;
    // ":<old mode> <new mode> <old id> <new id> <letter>[score]": ids of 40 or 64 hex digits.
    const size = headerEnd - at;
    const length = rawIdLength(size);
    const s2 = at + 16 + 2 * length;
    if (
      length === 0 ||
      text.charCodeAt(at) !== 0x3a ||
      text.charCodeAt(at + 7) !== 0x20 ||
      text.charCodeAt(at + 14) !== 0x20 ||
      text.charCodeAt(s2 - 1 - length) !== 0x20 ||
      text.charCodeAt(s2) !== 0x20
    )
      return NOT_PLAIN;
    const oldMode = modeAt(text, at + 1);
    const newMode = modeAt(text, at + 8);
    if (oldMode === undefined || newMode === undefined) return NOT_PLAIN;
    const letter = text.charCodeAt(s2 + 1);
    const first = headerEnd + 1;
    const firstEnd = text.indexOf('\0', first);
    if (firstEnd < 0) return INCOMPLETE;
    const oldId = at + 15;
    const newId = s2 - length;
    if (letter === 0x52 /* R */) {
      const secondEnd = text.indexOf('\0', firstEnd + 1);
      if (secondEnd < 0) return INCOMPLETE;
      const similarity = size % 2 === 0 ? -1 : score(text, s2 + 2, headerEnd);
      const oldPath = this.name(data, text, first, firstEnd);
      const oldKey = this.key;
      const path = this.name(data, text, firstEnd + 1, secondEnd);
      if (similarity < 0 || oldPath === undefined || path === undefined) return NOT_PLAIN;
      // A rename that crosses a filter boundary is only half visible.
      if (path !== null && oldPath !== null) {
        this.note('renamed');
        this.toObjects();
        this.changes.push({
          status: 'renamed',
          path,
          oldPath,
          similarity,
          mode: newMode,
          blob: latin1(data, newId, s2),
          oldMode,
          oldBlob: latin1(data, oldId, oldId + length),
        });
      } else if (path !== null) {
        this.note('added');
        this.added(path, newMode, latin1(data, newId, s2));
      } else if (oldPath !== null) {
        this.key = oldKey;
        this.note('deleted');
        this.deleted(oldPath, oldMode, latin1(data, oldId, oldId + length));
      }
      return secondEnd + 1;
    }
    if (size % 2 !== 0) return NOT_PLAIN;
    const path = this.name(data, text, first, firstEnd);
    if (path === undefined) return NOT_PLAIN;
    if (path === null) return firstEnd + 1;
    if (letter === 0x41 /* A */) {
      this.note('added');
      this.addedAt(path, newMode, data, newId, s2);
    } else if (letter === 0x44 /* D */) {
      this.note('deleted');
      this.deleted(path, oldMode, latin1(data, oldId, oldId + length));
    } else if (letter === 0x4d /* M */ || letter === 0x54 /* T */) {
      this.note('updated');
      this.toObjects();
      this.changes.push({
        status: 'updated',
        path,
        mode: newMode,
        blob: latin1(data, newId, s2),
        oldMode,
        oldBlob: latin1(data, oldId, oldId + length),
      });
    } else return NOT_PLAIN;
    return firstEnd + 1;
  }

  /** An added file whose id is bytes [start, end) of `data`: a listing's is compact (listed-files.ts). */
  private addedAt(path: string, mode: string, data: Buffer, start: number, end: number): void {
    if (this.compact) {
      this.listed ??= new ListedFiles(end - start);
      if (!this.viewOnly) {
        const file = this.listed.add(path, mode, data, start);
        if (file !== undefined) return void this.changes.push(file);
      } else if (this.listed.keep(path, mode, data, start)) return;
    }
    this.added(path, mode, latin1(data, start, end));
  }

  private added(path: string, mode: string, blob: string): void {
    this.toObjects();
    this.changes.push({ status: 'added', path, mode, blob });
  }

  private deleted(path: string, oldMode: string, oldBlob: string): void {
    this.toObjects();
    this.changes.push({ status: 'deleted', path, oldMode, oldBlob });
  }

  /** Count the change; note whether its path (`key`, the name `name` read last) keeps git's byte order. */
  private note(status: keyof ChangeCounts): void {
    this.counts[status] += 1;
    if (!(this.prev < this.key)) this.ordered = false;
    this.prev = this.key;
  }

  /**
   * The name at bytes [start, end) without the source prefix, as its own
   * string, when it takes part (classify's `keep`); null when it does not;
   * undefined when it is not plain (outside the prefix, not UTF-8).
   */
  private name(data: Buffer, text: string, start: number, end: number): string | null | undefined {
    const prefix = this.prefix;
    if (end - start <= prefix.length || !text.startsWith(prefix, start)) return undefined;
    const from = start + prefix.length;
    let path: string;
    if (this.ascii || isAscii(data.subarray(from, end))) this.key = path = latin1(data, from, end);
    else if (isUtf8(data.subarray(from, end))) {
      path = data.toString('utf8', from, end);
      this.key = text.slice(from, end);
    } else return undefined;
    if (this.filter === null) return path === IGNORE_FILE ? null : path;
    return this.filter(path) ? path : null;
  }
}

/** The known mode at `at` (no string made per record), or undefined. */
function modeAt(text: string, at: number): string | undefined {
  for (const mode of MODES) if (text.startsWith(mode, at)) return mode;
  return undefined;
}

/** Length of `data` up to and with its `n`-th NUL (a record has at most three), or all of it. */
function throughNuls(data: Buffer, n: number): number {
  let end = 0;
  for (let i = 0; i < n; i++) {
    const nul = data.indexOf(0, end);
    if (nul < 0) return data.length;
    end = nul + 1;
  }
  return end;
}

/** Bytes [start, end) as a string of their own (not a slice of a chunk's text). */
function latin1(data: Buffer, start: number, end: number): string {
  return data.toString('latin1', start, end);
}

/** A rename's similarity: three digits, 0–100; else -1. */
function score(text: string, start: number, end: number): number {
  const digits = text.slice(start, end);
  return end - start === 3 && /^\d{3}$/.test(digits) && Number(digits) <= 100 ? Number(digits) : -1;
}
