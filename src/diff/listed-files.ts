/**
 * The files of a release listing (a first deploy's diff from the empty tree: every change
 * `added`), kept in shared tables: the mode and the binary blob id are bytes of one table, the
 * path is front-coded in a column (path-column.ts) once the listing is past STRINGS_UP_TO
 * files. A file's object holds only its index, its `path`, `status`, `mode` and `blob` read
 * through getters (each string made when asked, and dropped young); the listing's view
 * (listing-view.ts) makes one at each read, and keeps none. At 500,000 files a plain change
 * object, its path and its 40-digit id string cost ~170 bytes of heap a file; this costs
 * ~35 bytes outside the heap (the table's 21, the path's ~10 and its position's 4), all three
 * waiting in temporary files past a few MB each (spilled-chunks.ts), and an
 * object kept costs 32 of heap more. `toJSON` gives the plain change's fields.
 */
import { fitsColumn, PathColumn } from './path-column.js';
import { listingMemory, SpilledChunks } from './spilled-chunks.js';
import type { AddedChange, GitMode } from './types.js';

/** On every listed file's class: marks a change whose path is made when read (isListedFile). */
const LISTED = Symbol('listed file');

/** Whether `change` is a listing's compact file (its path made each time it is read). */
export const isListedFile = (change: object): boolean => LISTED in change;

/** The modes a listing holds, by their byte in the table. */
const MODES: readonly GitMode[] = ['100644', '100755', '120000', '160000'];
/**
 * Paths kept as strings up to this many files: a small listing's (a 2,000-file first deploy's)
 * are read ~15 times each while the column's code still runs in the interpreter, which cost
 * ~7% of such a deploy's time; the strings of 8,192 paths are ~0.5 MB.
 */
const STRINGS_UP_TO = 8192;
/** Records per table chunk (one Buffer each, never copied as the listing grows). */
const CHUNK = 8192;

/** A nibble's value for a lowercase hex digit's byte, else -1. */
function nibble(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10;
  return -1;
}

/** Makes the listing's file objects; one table per listing. */
export class ListedFiles {
  /** The records, CHUNK to a buffer; past `memory` bytes the full ones wait in a file (spilled-chunks.ts). */
  private readonly chunks: SpilledChunks;
  private count = 0;
  /** Bytes a record takes: its mode's byte, then the id's bytes. */
  private readonly size: number;
  private readonly paths: PathColumn;
  /** The paths as strings while there are few (STRINGS_UP_TO); null once they went to `paths`. */
  private strings: string[] | null = [];
  private readonly File: new (at: number) => AddedChange;
  /** How many files it holds of each of MODES. */
  private readonly modeCounts: number[] = [0, 0, 0, 0];

  /** `memory`: the bytes the table and the path column each keep in memory before they spill. */
  constructor(
    private readonly idLength: number,
    memory = listingMemory(),
  ) {
    this.size = 1 + idLength / 2;
    this.chunks = new SpilledChunks(CHUNK * this.size, memory);
    this.paths = new PathColumn(memory);
    this.File = fileClass(this);
  }

  /**
   * The file at `path` with `mode`, its id the hex digits at bytes [start, start + idLength) of
   * `data`; undefined when the mode is not one a listing holds or the id is not lowercase hex
   * or the path is over path-column.ts's MAX_PATH_BYTES (the caller keeps a plain change then).
   */
  add(path: string, mode: string, data: Buffer, start: number): AddedChange | undefined {
    return this.keep(path, mode, data, start) ? this.file(this.count - 1) : undefined;
  }

  /** `add` without the object: whether the file was kept (listing-view.ts makes its objects). */
  keep(path: string, mode: string, data: Buffer, start: number): boolean {
    const m = MODES.indexOf(mode);
    if (m < 0) return false;
    const at = this.count;
    const c = Math.floor(at / CHUNK);
    // The last chunk (always in memory), or a new one after it.
    const chunk = c < this.chunks.length ? this.chunks.get(c) : this.chunks.add();
    let o = (at % CHUNK) * this.size;
    chunk[o++] = m;
    for (let i = start; i < start + this.idLength; i += 2) {
      const hi = nibble(data[i]!);
      const lo = nibble(data[i + 1]!);
      if (hi < 0 || lo < 0) return false;
      chunk[o++] = (hi << 4) | lo;
    }
    if (!this.keepPath(path)) return false;
    this.count++;
    this.modeCounts[m]! += 1;
    return true;
  }

  /** Whether any file it holds has `mode`. */
  holdsMode(mode: GitMode): boolean {
    const m = MODES.indexOf(mode);
    return m >= 0 && this.modeCounts[m]! > 0;
  }

  /** How many files it holds. */
  get length(): number {
    return this.count;
  }

  /** File `at`'s object (made each time: it holds only `at`). */
  file(at: number): AddedChange {
    return new this.File(at);
  }

  /** The mode of file `at` (its class's getter). */
  modeAt(at: number): GitMode {
    return MODES[this.chunks.get(Math.floor(at / CHUNK))[(at % CHUNK) * this.size]!]!;
  }

  /** Keep the next file's path; false when it is too long for the column (nothing kept then). */
  private keepPath(path: string): boolean {
    const strings = this.strings;
    if (strings === null) return this.paths.push(path);
    if (!fitsColumn(path)) return false;
    if (strings.length < STRINGS_UP_TO) return (strings.push(path), true);
    // Past a small listing: every path goes to the column (none refused: each was checked).
    for (const kept of strings) this.paths.push(kept);
    this.strings = null;
    return this.paths.push(path);
  }

  /** The path of file `at` (its class's getter). */
  pathAt(at: number): string {
    return this.strings !== null ? this.strings[at]! : this.paths.at(at);
  }

  /** The hex blob id of file `at` (its class's getter). */
  idAt(at: number): string {
    const o = (at % CHUNK) * this.size + 1;
    return this.chunks.get(Math.floor(at / CHUNK)).toString('hex', o, o + this.size - 1);
  }
}

/** A class per table: each object holds its index only, the table is the class's. */
function fileClass(table: ListedFiles): new (at: number) => AddedChange {
  return class ListedFile {
    constructor(private readonly at$: number) {}
    get [LISTED](): true {
      return true;
    }
    get path(): string {
      return table.pathAt(this.at$);
    }
    get status(): 'added' {
      return 'added';
    }
    get mode(): GitMode {
      return table.modeAt(this.at$);
    }
    get blob(): string {
      return table.idAt(this.at$);
    }
    toJSON(): AddedChange {
      return { status: 'added', path: this.path, mode: this.mode, blob: this.blob };
    }
  };
}
