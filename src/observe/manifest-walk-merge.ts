/**
 * One merge of a walk of the target with the recorded manifest and the diff from
 * its release (manifest-release.ts): each walked entry is looked up in the
 * manifest's lines (read forward beside a sorted walk, or by path beside a walk
 * in find's order) and in the diff; what the plan acts on is kept
 * (authoritative-merge.ts), the rest counted in sync.
 */
import type { DiffResult } from '../diff/types.js';
import { SUBMODULE_MODE } from '../diff/types.js';
import type { EntryType } from '../entry-type.js';
import type { FileStat, ManifestEntry } from '../plan/manifest-types.js';
import type { Observed } from '../plan/types.js';
import { inStateDir, type ReleaseFile } from '../plan/context.js';
import { DiffshipError } from '../errors.js';
import type { RawEntry, SettleRaw, Transport } from '../transport/transport.js';
import type { ManifestCursor, ManifestLines } from '../apply/manifest-lines.js';
import type { ManifestIndex } from '../apply/manifest-index.js';
import { compareBytes } from '../same-bytes.js';
import { lineInSync } from './line-in-sync.js';
import { sortPaths } from '../byte-order.js';
import type { LossySuspects } from './lossy-names.js';
import {
  compareSought,
  keepUncompared,
  type AuthoritativeView,
  type ReleaseEntry,
} from './authoritative-merge.js';
import { ObservedEntries } from '../plan/observed-entries.js';

const TAB = 0x09;
const MODES: ReadonlySet<string> = new Set(['100644', '100755', '120000']);

/** What a merge reads besides the walk. */
export interface MergeInputs {
  t: Transport;
  stateDir: string;
  /** The diff from the manifest's release. */
  diff: DiffResult;
  /** Which of these paths are gitlinks of the new release (manifest-release.ts's ManifestBasis). */
  gitlinks: (paths: Iterable<string>) => Promise<ReadonlyMap<string, string>>;
  /** The manifest's lines: a cursor for a sorted walk, an index for any order. */
  recorded: ManifestLines;
  /** Paths the diff names (compared whatever the manifest says). */
  named: ReadonlySet<string>;
  typeOnly: Readonly<Record<EntryType, Observed>>;
  suspects: LossySuspects;
  /** The state file's mtime (the stat cache's racy line), null when the cache is not trusted. */
  written: string | null;
}

export class ManifestWalkMerge {
  private readonly view: AuthoritativeView;
  private readonly observed: ObservedEntries;
  private readonly changed: Map<string, ReleaseEntry | null>;
  /** Entries neither list names but files (links, others): strays, unless a gitlink of the release. */
  private readonly unknown: string[] = [];
  /** How many: `unknown` and the files kept with the strays (plan/observed-entries.ts). */
  private unknownCount = 0;

  /** How many entries neither list names the walk has passed (strays, unless a gitlink). */
  get strays(): number {
    return this.unknownCount;
  }

  constructor(private readonly o: MergeInputs) {
    this.observed = new ObservedEntries(o.typeOnly.file);
    this.view = { observed: this.observed, release: new Map(), toHash: [], inSync: 0 };
    this.changed = changedFiles(o.diff);
  }

  /** A manifest line no walked entry matched: a release file the target lacks (unless the diff changed it). */
  private readonly missing = (e: ManifestEntry): void => {
    // The walk never enters the state folder, and no deploy records a file there (planChanges
    // refuses such a release): a line there is not diffship's, and nothing is written from it.
    if (inStateDir(e.path, this.o.stateDir))
      throw new DiffshipError(
        'E_STATE',
        `${this.o.t.description}: the manifest lists ${JSON.stringify(e.path)}, inside the state folder ${this.o.stateDir} — the state was not written by diffship; inspect it, or remove the state folder and deploy with --assume-empty`,
      );
    if (!this.changed.has(e.path)) this.view.release.set(e.path, { mode: e.mode, blob: e.blob });
  };

  /** The walk's visitor (a SortedVisit). */
  readonly visit = (path: string, type: EntryType, exact: (path: string) => FileStat | null): void => {
    const { recorded, named } = this.o;
    const { view } = this;
    this.o.suspects.see(path);
    const line = recorded.seek(path, this.missing);
    const change = this.changed.get(path);
    const compared = type === 'file' || type === 'symlink';
    // Compared, a line is checked by compareSought (equal to the one built from the lstat, or parsed).
    const file =
      change !== undefined
        ? (change ?? undefined)
        : line !== undefined
          ? fileOf(line, recorded, compared)
          : undefined;
    if (compared && (file !== undefined || named.has(path)))
      compareSought(path, file, exact(path), line, recorded, this.o.written, named, view);
    else {
      if (line !== undefined && change !== undefined) recorded.parse(line); // checked as every line is
      keepUncompared(view, path, type, file, named, this.o.typeOnly);
      if (file === undefined && type !== 'dir' && !named.has(path)) {
        // A file is among the observed entries' strays already: not a second array of them.
        if (type !== 'file') this.unknown.push(path);
        this.unknownCount++;
      }
    }
  };

  /**
   * For a walk in find's order beside `index` (the merge's `recorded`): the usual entry,
   * a release file untouched since the last deploy, counted in sync from its bytes
   * (line-in-sync.ts), never decoded nor visited. Not for a path the diff changes or
   * names, nor a name that is not ASCII (the visitor checks those as before); null
   * without the stat cache (no state file time: every file is hashed).
   */
  settler(index: ManifestIndex): SettleRaw | null {
    const { written } = this.o;
    if (written === null) return null;
    const writtenBytes = Buffer.from(written, 'latin1');
    // The lines of the paths the diff changes or names: decided by the visitor.
    const special = new Set<number>();
    for (const path of this.specialPaths()) special.add(index.lineOf(path));
    return (e: RawEntry): boolean => {
      const n = index.atAscii(e.buf, e.pathStart, e.pathEnd);
      if (n < 0 || special.has(n)) return false;
      const { bytes, idLength } = index;
      if (!lineInSync(bytes, index.lineStart(n), index.pathStart(n), idLength, e, writtenBytes)) return false;
      index.take(n);
      this.view.inSync++;
      return true;
    };
  }

  /**
   * The same for a sorted walk beside `cursor` (the merge's `recorded`): the line the
   * cursor is on, when it is the entry's (ManifestCursor.settle). The paths the diff
   * changes or names are passed in byte order beside the walk's files and links.
   */
  sortedSettler(cursor: ManifestCursor): SettleRaw | null {
    const { written } = this.o;
    if (written === null) return null;
    const writtenBytes = Buffer.from(written, 'latin1');
    const special = this.specialPaths()
      .map((p) => Buffer.from(p, 'utf8'))
      .sort(Buffer.compare);
    let next = 0;
    let entry: RawEntry | null = null;
    const inSync = (bytes: Buffer, start: number, pathStart: number): boolean =>
      lineInSync(bytes, start, pathStart, cursor.idLength, entry!, writtenBytes);
    return (e: RawEntry): boolean => {
      // Files and links only (a folder's path is out of this order: `a` comes after `a.txt`).
      if (e.type !== 'file' && e.type !== 'symlink') return false;
      let order = -1;
      while (next < special.length) {
        const s = special[next]!;
        order = compareBytes(s, 0, s.length, e.buf, e.pathStart, e.pathEnd);
        if (order >= 0) break;
        next++;
      }
      if (order === 0) return false;
      entry = e;
      if (!cursor.settle(e, inSync)) return false;
      this.view.inSync++;
      return true;
    };
  }

  /** Entries neither list names: the files among the strays, then the others. */
  private *unknownPaths(): Generator<string> {
    yield* this.observed.strays();
    yield* this.unknown;
  }

  /** The paths the diff changes or names: always decided by the visitor. */
  specialPaths(): string[] {
    return [...new Set([...this.changed.keys(), ...this.o.named])];
  }

  /**
   * The view once the walk is done: every other manifest line checked, the diff's
   * files the walk did not reach added, gitlinks asked for where a stray may be one.
   * `sort`: the walk was in no particular order; what it kept is put in path order,
   * as a sorted walk keeps it (the plan lists strays and repairs in that order).
   */
  async end(sort: boolean): Promise<AuthoritativeView> {
    const { view } = this;
    this.o.recorded.finish(this.missing); // every line is checked, as a whole parse would
    if (sort) {
      this.observed.sortInPlace();
      view.release = inPathOrder(view.release);
      sortPaths(view.toHash); // hashed, and found in sync, in the order a sorted walk has
    }
    // The diff's own files: those the walk did not reach are missing (the planner skips what it writes anyway).
    for (const [path, file] of this.changed)
      if (file !== null && !view.release.has(path)) view.release.set(path, file);
    if (this.unknownCount > 0) {
      const links = await this.o.gitlinks(this.unknownPaths());
      for (const path of this.unknownPaths()) {
        const commit = links.get(path);
        if (commit !== undefined) view.release.set(path, { mode: SUBMODULE_MODE, blob: commit });
      }
    }
    return view;
  }
}

/** The map again, its keys in path order (sorted alone: no pair per entry, no comparator). */
function inPathOrder<T>(m: Map<string, T>): Map<string, T> {
  const out = new Map<string, T>();
  for (const path of sortPaths([...m.keys()])) out.set(path, m.get(path)!);
  return out;
}

/** The diff's paths: the new release's file at each (null: deleted or renamed away). */
function changedFiles(diff: DiffResult): Map<string, ReleaseEntry | null> {
  const changed = new Map<string, ReleaseEntry | null>();
  for (const c of diff.changes) {
    if (c.status === 'deleted') changed.set(c.path, null);
    else if (c.status === 'renamed') changed.set(c.oldPath, null);
  }
  // After the deletes: a path renamed away that another change fills holds that change's file.
  for (const c of diff.changes) if (c.status !== 'deleted') changed.set(c.path, c);
  return changed;
}

/**
 * The release file a manifest line records. `inPlace`: read from its blob and mode
 * fields when well-formed (compareSought then compares the whole line with the one
 * built from the lstat, or parses it); any other line is parsed, so checked.
 */
function fileOf(line: string, recorded: ManifestLines, inPlace: boolean): ReleaseFile {
  const n = recorded.idLength;
  if (inPlace && line.charCodeAt(n) === TAB && line.charCodeAt(n + 7) === TAB) {
    const mode = line.slice(n + 1, n + 7);
    const blob = line.slice(0, n);
    if (MODES.has(mode) && isLowerHex(blob)) return { mode: mode as ReleaseFile['mode'], blob };
  }
  const e = recorded.parse(line);
  return { mode: e.mode, blob: e.blob };
}

function isLowerHex(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}
