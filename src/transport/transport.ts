/**
 * A Transport reaches one target folder: `local` through node:fs, `ssh` through
 * one ssh2 connection (SFTP for files, exec for commands). The apply engine is
 * written once on top of this interface, so both target types get the same
 * atomic protocol. All paths are POSIX paths relative to the target root; a
 * transport never resolves `..` and never accepts an absolute path.
 *
 * Transports do not follow symlinks on their own: `lstat` reports a link as a
 * link, and the engine refuses to write through one (see apply/safe-path.ts).
 */
import type { ChildEnvPolicy } from './child-env.js';
import type { HashAlgorithm } from '../diff/blob.js';
import type { EntryType } from '../entry-type.js';
import type { FileStat } from '../plan/manifest-types.js';

/**
 * What a keepMany found at a path: a file's st_mode, linked or not (a host without hard
 * links there: the caller copies it).
 */
export type Kept =
  | { kind: 'none' }
  | { kind: 'dir' }
  | { kind: 'symlink'; linkTarget: string }
  | { kind: 'file'; mode: number; linked: boolean };

/** A path to keep, and the name of its backup link in keepMany's folder. */
export interface KeepItem {
  readonly path: string;
  readonly name: string;
}

export type { EntryType };

export interface Entry {
  type: EntryType;
  /** Permission bits, e.g. 0o755. */
  mode: number;
  size: number;
  mtimeMs: number;
  /** Owner and group ids, where the transport reports them (lstat does; walks may not). */
  uid?: number;
  gid?: number;
}

export interface WalkEntry extends Entry {
  /** Relative to the walked folder's root (target root), POSIX separators. */
  path: string;
}

/** One entry of a sorted walk (`walkSorted`); `exact(path)` is its exact lstat, null when it is gone. */
export type SortedVisit = (path: string, type: EntryType, exact: (path: string) => FileStat | null) => void;

/**
 * walkUnordered's record of the walk as bytes (observe/walk-echo.ts): compared with
 * the walk the last deploy left behind, and kept for the next one.
 */
export interface WalkEcho {
  /**
   * The walk's bytes as they are expected to be: when the walk is exactly these (and
   * whole), nothing is visited or settled and `same` is set. Else it is visited as usual.
   */
  expected: Buffer | null;
  /** Called once, before the first entry is visited or settled (what they need is made then). */
  beforeVisit?: () => void;
  /** Keep the whole walk's bytes in `records` (a walk of up to this many bytes). */
  keepUpTo?: number;
  /** Set by the walk: it was `expected`, byte for byte. */
  same?: boolean;
  /** Set by the walk: its bytes, when it was whole and kept (or `same`: then `expected`). */
  records?: Buffer;
}

/**
 * One entry of a walk as its raw bytes (walkUnordered's `settle`), for a caller that can
 * account for it without a string or an object. Reused: valid during the call only.
 */
export interface RawEntry {
  /** The entry's path is `buf[pathStart, pathEnd)` (UTF-8; a folder's without its slash). */
  readonly buf: Buffer;
  readonly pathStart: number;
  readonly pathEnd: number;
  readonly type: EntryType;
  /**
   * Whether the entry's exact lstat is the one a manifest's stat field `field[from, to)`
   * records (`size,mtimeNs,ctimeNs,ino,mode`, apply/manifest-text.ts); false too where it
   * has no exact stat here (the caller visits it then).
   */
  statIs(field: Buffer, from: number, to: number): boolean;
}

/** Accounts for an entry from its bytes (true: it is not visited), or leaves it to the visitor. */
export type SettleRaw = (entry: RawEntry) => boolean;

/** What an exact walk (`walkExact`) reports of one entry: for a file or a symlink, its exact lstat too. */
export type ExactVisit = (path: string, type: EntryType, stat: FileStat | null) => void;

/** What `walkUnmatched` tells beyond the entries it visits. */
export interface UnmatchedWalk {
  /** Manifest paths the walk did not reach (absent, or under a link or a skipped folder). */
  missing: string[];
  /** Files and links whose stat matched their manifest line (not visited). */
  matched: number;
  /** SHA-256 and size of the manifest file as it was read there. */
  sha256: string;
  size: number;
}

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface ExecOptions {
  /** Extra environment; for ssh, set in the command itself since sshd drops client env. */
  env?: Record<string, string>;
  /** Local targets: which variables of this process are secrets a command must not inherit. */
  envPolicy?: ChildEnvPolicy;
  /** Past it the command is stopped (TERM, then KILL) and the result has `timedOut: true`. */
  timeoutMs?: number;
  /** Aborting stops the command like a timeout and rejects with E_CANCELLED. */
  signal?: AbortSignal;
}

export interface WalkOptions {
  /**
   * false: only `path` and `type` are filled (mode, size and mtimeMs are 0),
   * which spares the local transport one lstat per entry. Default true.
   */
  stat?: boolean;
}

/**
 * How publishFile makes its file durable before the rename: `file` fsyncs it, `none` leaves it
 * to a later syncWritten(), `batch` is a syncWritten() of it and every file written unsynced before.
 */
export type PublishSync = 'file' | 'none' | 'batch';

export interface WriteOptions {
  /** false: skip the per-file fsync; the caller calls `syncWritten()` later. Default true. */
  sync?: boolean;
  /**
   * writeStream only: hash the bytes with this object format where they are
   * written, as they are written (the SSH file helper does), and resolve to
   * their git blob id. A transport that does not resolves to undefined, and the
   * caller hashes the written file (hashFiles) instead.
   */
  hash?: HashAlgorithm;
  /**
   * writeStream only: called once the transport holds the bytes and waits only
   * for the host to say it wrote them (the SSH file helper: the record is on the
   * channel), so a caller bounding what is in flight may start its next file.
   * A transport may never call it; the write's own promise settles as ever.
   */
  onQueued?: () => void;
}

/** A part of a file made by `patchFile`: a range of the base (byte offsets, end excluded), or new bytes. */
export type PatchPart = { from: number; to: number } | Buffer;

/** What `patchFile`'s base must be and what its result must be: sizes and SHA-256s, lowercase hex. */
export interface PatchCheck {
  base: { size: number; sha256: string };
  result: { size: number; sha256: string };
}

/**
 * A small file published in the chain of another: `data` written at `tmp` (created or
 * truncated, never through a link, exactly `mode`), renamed over `rel`. `patchFile` publishes it
 * right after the file it made, only if that was made, fsync'd (a deploy's state, which names
 * the manifest just made); `publishFile` publishes it before its own file (`before`).
 */
export interface PublishAfter {
  tmp: string;
  rel: string;
  data: Buffer;
  mode: number;
}

/**
 * Bytes to write, in order: `size` of them in all, in chunks of bounded size (a
 * blob streamed out of git: diff/blob-body.ts). Iterated once; a writer that
 * fails part way leaves the loop, which tells the source to drop the rest.
 */
export interface ByteSource extends AsyncIterable<Buffer> {
  readonly size: number;
  /**
   * Called by a writer asked for `hash` (WriteOptions) before it reads the
   * bytes: true when it hashes them where they land (its blob id is then
   * compared with the expected one, which checks everything on the way), so a
   * source that checks its own bytes may skip that; false to take it back.
   */
  hashedByWriter?(yes: boolean): void;
  /**
   * All the bytes at once, when the source already holds them whole (a small
   * blob): reading them so counts as iterating to the end (the same checks run,
   * and throw as iterating would). undefined: iterate instead. Spares a writer
   * that wants the file whole (the SSH transport's small files) a pass through
   * the iterators.
   */
  whole?(): Buffer | undefined;
  /**
   * Each chunk's buffer is filled again for the next one (a 27 MB manifest through one
   * 256 KiB buffer, not 110 new ones): the writer is done with a chunk, nothing of it kept
   * or queued, before it asks for the next. Wrappers pass it on (byte-source.ts).
   */
  readonly reused?: boolean;
}

/**
 * A file opened once and read by offset (Transport.openRead): a big state file
 * is read in bounded pieces, never whole, and always the file that was opened.
 */
export interface OpenedFile {
  /** Its size when it was opened. */
  readonly size: number;
  /**
   * Up to `length` bytes at `position` (fewer only past its end), into the start of `into`
   * when given (then a view of it). Synchronous: read while a walk visits.
   */
  read(position: number, length: number, into?: Buffer): Buffer;
  /** Whether an fstat now shows the file as it was opened: false when written to, unlinked or swapped since (a link added may move its ctime). */
  unchanged(): boolean;
  /** Whether it was changed so shortly before it was opened that a write now might not move its times. */
  readonly racy: boolean;
  /** A copy of the target's file on this machine's disk (an SSH target's, spooled): it costs room in TMPDIR until closed. */
  readonly spooled?: boolean;
  close(): void;
}

/** What Transport.peek saw at a path: its lstat (null: absent) and, when asked for, a file's bytes or a folder's names. */
export interface Peeked {
  entry: Entry | null;
  data?: Buffer;
  names?: string[];
}

export interface HashOptions {
  /**
   * The repository's object format: `sha1` (default) or `sha256`. The ids a
   * release already has tell it: 40 hex digits are sha1, 64 are sha256.
   */
  algorithm?: HashAlgorithm;
}

/** Transport.connect's options. */
export interface ConnectOptions {
  /** Create the target folder where it is missing. */
  create?: boolean;
  /**
   * Where `create` makes the folder, the paths the caller reads next (the state folder), looked
   * at (`reads`: read or listed) right behind its creation where the transport can (over SSH in
   * that round trip: helper-peek.ts `atConnect`), and served from there. Only a hint.
   */
  look?: { paths: readonly string[]; reads: readonly string[] };
}

export interface Transport {
  /** `local` or `ssh`. */
  readonly kind: 'local' | 'ssh';
  /** Human description for logs, e.g. `deploy@host:/opt/x` (never a secret). */
  readonly description: string;

  /** Open connections, check that the root exists (creating it if `create`). */
  connect(options?: ConnectOptions): Promise<void>;
  close(): Promise<void>;
  /**
   * Start `connect({ create: false })` now, ahead of need; the next such
   * connect() takes its outcome (success or error) instead of connecting
   * again. Optional: for transports whose connect costs round trips. Resolves
   * once the host is at work on its own (SSH: authenticated, the helper's shell
   * asked for) or the attempt ended: a caller may hold its own main-thread work
   * (a fork of this process for git) until then, out of the handshake's way.
   */
  preconnect?(): Promise<void>;
  /**
   * After preconnect(): true once its attempt connected (the target folder there), false once it
   * failed or when there is none; never rejects, takes nothing (the next connect() still takes
   * the attempt's outcome). Optional: see preconnect.
   */
  preconnected?(): Promise<boolean>;
  /**
   * After preconnect(), while it dials: peek (as `peek`) in the same round trip as the attempt's
   * check of the target folder, before the host has said it is there. Resolves to what it saw
   * (kept for the reads that follow, as peek's), or null when it could not ask (the attempt had
   * gone further, or failed) or was not answered (no folder there); never rejects. Use the answer
   * only once preconnected() says true. Optional: see preconnect.
   */
  peekAtConnect?(
    paths: readonly string[],
    reads: readonly string[],
  ): Promise<ReadonlyMap<string, Peeked> | null>;

  /** lstat: symlinks are reported as `symlink`, never followed. null when absent. */
  lstat(rel: string): Promise<Entry | null>;
  /**
   * The whole file. `limit`: the most bytes the caller takes (default read-bound.ts's
   * NO_LIMIT); a bigger file, as found or as it grows while read, is refused (a
   * TransportError caused by TooBig) without more than `limit` + 1 bytes held.
   */
  readFile(rel: string, limit?: number): Promise<Buffer>;
  /**
   * Open a file (never through a link) to read by offset. Over SSH the file is copied first into
   * a local temporary file (helper-spool.ts), of at most `limit` bytes (refused as readFile
   * refuses); locally it is the file itself, read where it is. Optional.
   */
  openRead?(rel: string, limit?: number): Promise<OpenedFile>;
  readlink(rel: string): Promise<string>;
  /**
   * A regular file `from` (never read through a link) copied to `to` within the target, as
   * writeFile writes (created or truncated, never through a link, exactly `mode`, fsynced
   * unless `sync: false`), never whole in memory. Optional: the SSH transport copies on the
   * host (its file helper) or a few SFTP requests at a time; elsewhere the caller streams it.
   */
  copyFile?(from: string, to: string, mode: number, options?: WriteOptions): Promise<void>;
  /** Write a whole file, creating or truncating it, then fsync it. Parents must exist. */
  writeFile(rel: string, data: Buffer, mode: number, options?: WriteOptions): Promise<void>;
  /**
   * writeFile for bytes that arrive as they are read (a release's files): the
   * file is never whole in memory, only a few chunks are in flight. Fails (the
   * file then is partial: the caller removes it) when the source fails or does
   * not give exactly `source.size` bytes. Optional: a transport without it is
   * given each file whole through writeFile.
   */
  writeStream?(
    rel: string,
    source: ByteSource,
    mode: number,
    options?: WriteOptions,
  ): Promise<string | undefined | void>;
  /**
   * Many small files at once (a staging's batch), each created or truncated
   * (never through a link; parents must exist), its mode set, not synced (as
   * `{ sync: false }`: syncWritten makes them durable), and hashed as it is
   * written: resolves to their git blob ids (of `hash`'s object format), in
   * order. null: not possible on this target now (the caller writes them one by
   * one). Optional: the SSH transport's file helper does it in one record. The
   * files' bytes are the caller's again once the promise settles (it reads the
   * next batch into the same buffer): hold none of them after that.
   */
  writeMany?(
    files: ReadonlyArray<{ rel: string; mode: number; data: Buffer }>,
    hash: HashAlgorithm,
  ): Promise<string[] | null>;
  /**
   * Make every file written with `{ sync: false }` durable, in one go: one
   * syncfs(2) beats one fsync per file by orders of magnitude on a 50,000-file
   * deploy. The engine calls it once, before its journal makes the staged files count.
   */
  syncWritten(): Promise<void>;
  /**
   * A whole file published by rename, as apply/json-file.ts does it: `data` written at `tmp`
   * (created or truncated, never through a link, exactly `mode`), made durable as `sync` says,
   * then renamed over `rel`, each step run only if the one before it succeeded. false: not done,
   * nothing left behind (the caller runs the steps itself); a failed step throws, `tmp` removed. Optional: the SSH transport chains the three in one round trip.
   * `before`: files published first in the same chain, each written unsynced (a `batch` sync
   * covers them; otherwise they join the pending batch) and renamed, `data` only once they are
   * in place: a deploy's backup listing, then its journal. false: the caller publishes them all.
   */
  publishFile?(
    tmp: string,
    rel: string,
    data: Buffer,
    mode: number,
    sync: PublishSync,
    before?: readonly PublishAfter[],
  ): Promise<boolean>;
  /**
   * Write `to` from the file `base` where both live, as `parts` say (ranges of the base, new
   * bytes): the base is used only when it is a regular file (never read through a link) of the
   * size and SHA-256 `check.base` names; the new file is made at `staged`, fsync'd,
   * checked against `check.result` and only then renamed to `to`. false when not done (the base
   * is not the file named, or the host cannot): the caller writes the file whole. Optional:
   * for a manifest over SSH, a few changed lines instead of the whole file on the wire.
   * With `after`, that file is published next, in the same round trip, only if `to` was made:
   * true then means both are done, false neither (no temporary file left either way); a
   * failure of either throws.
   */
  patchFile?(
    base: string,
    staged: string,
    to: string,
    check: PatchCheck,
    parts: Iterable<PatchPart>,
    mode: number,
    after?: PublishAfter,
  ): Promise<boolean>;
  /**
   * Create a file only if it does not exist. false when it already exists. `sync: false`
   * (the lock file, see apply/lock.ts) lets a transport skip the fsync; one may sync anyway.
   */
  createExclusive(
    rel: string,
    data: Buffer,
    mode?: number,
    options?: Pick<WriteOptions, 'sync'>,
  ): Promise<boolean>;
  symlink(linkTarget: string, rel: string): Promise<void>;
  chmod(rel: string, mode: number): Promise<void>;
  /** Atomic rename that replaces `to` if it exists (POSIX rename semantics). */
  rename(from: string, to: string): Promise<void>;
  /** A second name for a file (hard link); false when unsupported, so callers copy. */
  link(from: string, to: string): Promise<boolean>;
  /** mkdir -p. Fails if a component is not a folder. */
  mkdirp(rel: string): Promise<void>;
  /**
   * mkdir -p in one go where the transport can: never through a link, and the
   * last folder, when made here, gets exactly `mode`. false when not done (the
   * caller then uses lstat, mkdirp and chmod, which also say what stood in the
   * way). Optional: where each of those is no round trip, it saves nothing.
   */
  makeDir?(rel: string, mode: number): Promise<boolean>;
  /**
   * makeDir of each of `rels` (parents first), asked together where the transport does them
   * in order (one round trip over SSH, where one after another costs one each). false when
   * not all were done (the caller then makes each again, one after another).
   */
  makeDirs?(rels: readonly string[], mode: number): Promise<boolean>;
  /**
   * True while the host does this transport's file operations one after another, in the order
   * they were called (SSH's file helper: one process reading one pipe): a write into a folder
   * being made may be called right after the mkdir's call, without waiting for its answer (a
   * round trip). A failed mkdir then fails the writes behind it as well. Optional: false.
   */
  inOrder?(): boolean;
  /** Remove a file or symlink. Missing is not an error. */
  unlink(rel: string): Promise<void>;
  /** Remove an empty folder. false if not empty or missing. */
  rmdir(rel: string): Promise<boolean>;
  /** rm -rf of a folder inside the target (the engine only uses it inside the state folder). */
  removeTree(rel: string): Promise<void>;
  /** List a folder's entry names; null when missing. */
  readdir(rel: string): Promise<string[] | null>;
  /**
   * Every entry below `rel` (default the root), not descending into symlinks
   * and skipping the `skip` folders (relative to root), sorted by path.
   */
  walk(rel?: string, skip?: readonly string[], options?: WalkOptions): Promise<WalkEntry[]>;
  /**
   * The exact bytes of a folder's names (a name that is not valid UTF-8 reads
   * back with U+FFFD everywhere else); null when the folder is missing or the
   * transport cannot tell here (SFTP without the file helper).
   */
  rawNames?(rel: string): Promise<Buffer[] | null>;
  /**
   * git blob ids of files (or of the link text for symlinks), in one batch:
   * the ssh transport computes them on the host instead of downloading files.
   * Missing paths map to null. Folders map to null. Ids are sha1 unless
   * `options.algorithm` says `sha256` (a SHA-256 repository's ids).
   */
  hashFiles(rels: readonly string[], options?: HashOptions): Promise<Map<string, string | null>>;
  /**
   * lstat with git-index precision (ns times, inode), for the manifest's stat
   * cache (apply/manifest.ts). null when absent. Optional: a transport without
   * it records no stat cache, and every check of its files hashes them.
   */
  statExact?(rel: string): Promise<FileStat | null>;
  /**
   * A hint, for a transport whose every call is a round trip: lstat `paths`, and read
   * (files up to 1 MiB) or list (folders) those also in `reads`, in one go. The
   * answers are then served to the lstat, readFile and readdir calls that ask the
   * same, until the transport itself changes the path. Resolves to what it saw
   * (a path it could not see is left out), or null when it cannot peek; never
   * rejects. `files`: paths among `reads` the caller knows to be files (a manifest), read
   * as raw bytes in the same round trip where the transport can. Optional: the local
   * transport has no round trips to save.
   */
  peek?(
    paths: readonly string[],
    reads: readonly string[],
    files?: readonly string[],
  ): Promise<ReadonlyMap<string, Peeked> | null>;
  /**
   * createExclusive, and a peek of `paths` (reads: `reads`) as the host has them
   * right after it, in one round trip: the lock a deploy takes, and the state
   * folder it reads next. `seen` is null when the peek was not answered (the
   * reads then ask as usual). `folder`: made first (mkdir -p, the last folder
   * given exactly `mode`), in the same round trip: the state folder of a first
   * deploy. null: that folder could not be made so, and nothing was done (the
   * caller makes it its usual way, which says why, and asks again without it).
   * Optional: see peek.
   */
  createExclusiveAndPeek?(
    rel: string,
    data: Buffer,
    mode: number,
    peek: { paths: readonly string[]; reads: readonly string[]; folder?: { rel: string; mode: number } },
  ): Promise<{ created: boolean; seen: ReadonlyMap<string, Peeked> | null } | null>;
  /**
   * Remove `rel` only while it is a regular file whose text starts with `mark` (a lock
   * still ours), checked and removed in one round trip: true removed, false not
   * (absent, a link, another owner's), null when the transport cannot do it in
   * one step (the caller reads, then removes). Optional: see peek.
   */
  unlinkIfStarts?(rel: string, mark: string): Promise<boolean | null>;
  /**
   * unlink(`rel`), then removeTree(`tree`) only if the unlink worked (a missing file counts as
   * worked): one round trip where the host runs the two in order (the SSH file helper), a
   * failure thrown as theirs. Absent: the caller awaits one, then the other.
   */
  unlinkThenRemoveTree?(rel: string, tree: string): Promise<void>;
  /**
   * Back up many paths into the folder `dir` at once (one record over SSH: an authoritative
   * deploy deleting 200,000 strays): for each, its lstat and, for a file (anything but a folder
   * or a link), a hard link at `${dir}/${name}`; a link's text. null: not here (the caller goes
   * path by path: lstat, link). Optional.
   */
  keepMany?(dir: string, items: readonly KeepItem[]): Promise<Kept[] | null>;
  /**
   * Remove many paths at once, as removeTree() removes one (a file or a link unlinked, a
   * folder with all it holds, nothing there is fine): one record over SSH. false: not here
   * (the caller goes path by path). Throws for the first path the host could not remove. Optional.
   */
  removeMany?(rels: readonly string[]): Promise<boolean>;
  /**
   * statExact of many paths in one go (one request per batch over SSH; missing
   * paths map to null). Resolves null when the transport takes no exact stat
   * here (an SSH host without the file helper): the caller hashes instead.
   * Callers go through transport/exact-stats.ts, which falls back to statExact.
   */
  statExactMany?(rels: readonly string[]): Promise<Map<string, FileStat | null> | null>;
  /**
   * Rename each `[from, to]` as rename() does, then take exact lstats of `statAfter` (as
   * statExactMany) once every rename is done: over SSH one round trip for a commit's renames
   * and the stats its manifest records, not two. null: not here (nothing renamed: the caller
   * renames one by one). `stats` null: renamed, but no exact stat here. A failed rename
   * throws, as rename() does (the others were sent too). Optional.
   */
  renameAllThenStat?(
    pairs: ReadonlyArray<readonly [string, string]>,
    statAfter: readonly string[],
  ): Promise<{ stats: Map<string, FileStat | null> | null } | null>;
  /**
   * Authoritative mode's walk where a per-entry stat costs nothing extra (the
   * SSH file helper lstats each entry anyway): every entry below the root,
   * the `skip` folders left out, links not followed, in byte order of paths,
   * files and symlinks with their exact lstat. Resolves false when it cannot
   * here (entries visited before that are to be discarded): walk instead.
   */
  walkExact?(skip: readonly string[], visit: ExactVisit): Promise<boolean>;
  /**
   * walkExact compared, where the target is, with the stat cache of the
   * manifest file `manifest` (the racy line: `state`'s mtime): only entries
   * that are not a file or link whose stat is its manifest line's are
   * visited (stats as walkExact's); `missing` lists the manifest's paths the
   * walk did not reach (SSH file helper: transport/ssh/look-protocol.ts). Null
   * when it cannot here (nothing was visited then): walkExact instead.
   */
  walkUnmatched?(
    files: { manifest: string; state: string; skip: readonly string[] },
    visit: ExactVisit,
  ): Promise<UnmatchedWalk | null>;
  /**
   * Authoritative mode's walk where names come cheap and lstats are syscalls
   * (local): every entry below the root but the `skip` folders, links not
   * followed, one at a time, nothing kept: files and links in byte order of
   * paths, a folder where git's tree order puts it (its name and a slash,
   * right before its entries); `exact` lstats the entries the caller looks into.
   * `settle` accounts for an entry from its raw bytes where the walk has them (then it
   * is not visited), in the same order.
   */
  walkSorted?(skip: readonly string[], visit: SortedVisit, settle?: SettleRaw): Promise<void>;
  /**
   * Start the next walkSorted's work now (local: find and sort in other processes), so it
   * overlaps what comes before it. Ask only where a walkSorted follows; close() stops one
   * nobody read. `expected`: about how many entries the walk will meet (from the recorded
   * manifest), which a big walk is split by.
   */
  prewalkSorted?(skip: readonly string[], expected?: number): void;
  /**
   * walkSorted's entries in no particular order, visited while the walk runs (local: find's
   * own order, no sort), for a caller that needs no order. False when the walk could not
   * cover the whole tree: what was visited is void, and the caller walks again (walkSorted).
   */
  walkUnordered?(
    skip: readonly string[],
    visit: SortedVisit,
    settle?: SettleRaw,
    echo?: WalkEcho,
  ): Promise<boolean>;
  /** Start the next walkUnordered now, as prewalkSorted does for walkSorted. */
  prewalkUnordered?(skip: readonly string[]): void;
  /** Run a shell command line with the target root as working directory. */
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
}
