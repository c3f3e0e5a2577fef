/**
 * The release check's reader of `git ls-tree -r -z` (release-summary.ts): it
 * counts the plain regular files of the listing without a string or an object
 * per file, and hands every other record to the full reader.
 *
 * Why: the check needs a count and the symlinks, but rewriting each record as
 * a raw diff record (tree-listing.ts) and parsing it into a change object
 * (change-records.ts) cost the CLI's thread more than the rest of the check,
 * while an authoritative plan's walk of the target ran on the same thread.
 *
 * Counted here, only what the full reader would count the same way: a record
 * `100644|100755 blob <40 or 64 digits> TAB <prefix><name> NUL` with an ASCII
 * name, under the prefix, not the ignore file itself, and only
 * when no include/exclude pattern applies. Anything else (a symlink, a
 * submodule, a non-ASCII or odd name, a malformed record, any filter) goes to
 * `full` as ls-tree wrote it, so it is read, refused or kept exactly as before.
 */
import { isAscii } from 'node:buffer';
import type { ClassifyOptions } from './classify.js';
import { IGNORE_FILE, notIgnoreFile } from './ignore.js';
import type { RecordSink } from './diff-releases.js';

/** "<mode> blob ": the only heads counted here. */
const HEADS = ['100644 blob ', '100755 blob '];
const HEAD_LENGTH = 12;

/**
 * A sink for ls-tree's output: plain files counted into `counted`, every other
 * record passed on to `full` (ls-tree's own bytes, whole records, in order).
 */
export class ListingCount implements RecordSink {
  /** Plain regular files counted without being passed on. */
  counted = 0;
  /** The source prefix and the ignore file's path below it, as latin1 text. */
  private readonly prefix: string;
  private readonly ignoreFile: string;
  /** False: a filter applies, every record goes to `full`. */
  private readonly fast: boolean;
  private carry: Buffer | null = null;

  constructor(
    options: ClassifyOptions,
    private readonly full: RecordSink,
  ) {
    this.prefix = Buffer.from(options.prefix, 'utf8').toString('latin1');
    this.ignoreFile = this.prefix + IGNORE_FILE;
    this.fast = options.filter === notIgnoreFile;
  }

  push(chunk: Buffer): void {
    if (!this.fast) return this.full.push(chunk);
    let data = chunk;
    if (this.carry !== null) {
      // The record cut at the last chunk's end is joined with its end alone, not with the whole
      // chunk: that copied every chunk of the listing once more.
      const nul = chunk.indexOf(0);
      if (nul < 0) {
        this.carry = Buffer.concat([this.carry, chunk]);
        return;
      }
      const first = Buffer.concat([this.carry, chunk.subarray(0, nul + 1)]);
      this.carry = null;
      this.pass(this.countPlain(first));
      data = chunk.subarray(nul + 1);
    }
    const last = data.lastIndexOf(0);
    if (last >= 0) this.pass(this.countPlain(data.subarray(0, last + 1)));
    if (last + 1 < data.length) this.carry = Buffer.from(data.subarray(last + 1));
  }

  /** Records not counted, to the full reader (in order). */
  private pass(passed: Buffer[]): void {
    if (passed.length > 0) this.full.push(passed.length === 1 ? passed[0]! : Buffer.concat(passed));
  }

  end(): void {
    // A cut record: the full reader words the error.
    if (this.carry !== null) this.full.push(this.carry);
    this.carry = null;
    this.full.end();
  }

  /** Count the plain records of `data` (whole records); the others, as stretches of `data`. */
  private countPlain(data: Buffer): Buffer[] {
    const text = data.toString('latin1');
    // Mostly all ASCII: then no name needs a look of its own.
    const ascii = isAscii(data);
    const passed: Buffer[] = [];
    let from = -1; // start of the stretch of records not counted, if any
    let at = 0;
    while (at < text.length) {
      const end = text.indexOf('\0', at);
      const name = this.plainName(text, at, end);
      if (name >= 0 && (ascii || isAscii(data.subarray(name, end)))) {
        this.counted++;
        if (from >= 0) passed.push(data.subarray(from, at));
        from = -1;
      } else if (from < 0) from = at;
      at = end + 1;
    }
    if (from >= 0) passed.push(data.subarray(from));
    return passed;
  }

  /** Where the name of record [at, end) starts when it is a regular file of the selection; else -1. */
  private plainName(text: string, at: number, end: number): number {
    if (!text.startsWith(HEADS[0]!, at) && !text.startsWith(HEADS[1]!, at)) return -1;
    const id = at + HEAD_LENGTH;
    // The first tab after the id ends it, as tree-listing.ts reads a record.
    const tab = text.indexOf('\t', id);
    if ((tab !== id + 40 && tab !== id + 64) || tab >= end) return -1;
    const name = tab + 1;
    const prefix = this.prefix;
    if (end - name <= prefix.length || !text.startsWith(prefix, name)) return -1;
    // The ignore file itself is never shipped: the full reader leaves it out.
    const ignored = end - name === this.ignoreFile.length && text.startsWith(this.ignoreFile, name);
    return ignored ? -1 : name;
  }
}
