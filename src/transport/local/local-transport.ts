import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { DiffshipError, TransportError } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import { runLocal } from './run-local.js';
import { mapLimit } from '../limit.js';
import { checkRelPath, joinRoot } from '../rel-path.js';
import { checkEnvNames } from '../shell-quote.js';
import type {
  ByteSource,
  Entry,
  ExecOptions,
  ExecResult,
  HashOptions,
  OpenedFile,
  SortedVisit,
  WalkEcho,
  SettleRaw,
  Transport,
  WalkEntry,
  WalkOptions,
  WriteOptions,
} from '../transport.js';
import { walkTree, type DirEntry } from '../walk.js';
import type { FileStat } from '../../plan/manifest-types.js';
import { openLocalRoot } from './local-root.js';
import { RealParents } from './real-parent.js';
import { readFileNoFollow, writeFileNoFollow } from './small-file-io.js';
import { openNoFollow } from './opened-file.js';
import { writeStreamNoFollow } from './stream-write.js';
import { CheckedSource } from '../byte-source.js';
import { hardLink, publishExclusive } from './exclusive-create.js';
import { removeTreeAt } from './remove-tree.js';
import { loopTurn } from './loop-turns.js';
import { direntEntries, toEntry } from './entries.js';
import { hashLocalFile } from './hash-file.js';
import { countOpenTarget, severalTargetsOpen } from './open-targets.js';
import { fileStatOf, statExactMany } from './stat-exact.js';
import { LocalWalks } from './local-walks.js';
import { Unsynced } from './unsynced.js';
import { fsyncPath } from './fsync-fd.js';
import { readNames, readRawNames } from './small-dir.js';
import { WriterThread, type BatchFile } from './writer-thread.js';
import { SyncAhead, syncFileSystem } from './sync-ahead.js';
import { ioFailure } from './io-failure.js';
import type { HashAlgorithm } from '../../diff/blob.js';

/** Files read at once by hashFiles, folders listed at once by walk. */
const IO_CONCURRENCY = 16;

/**
 * A target folder on this machine, through node:fs.
 *
 * The root may itself be a symlink (`/srv/current` → `/srv/releases/7`): it is
 * resolved once, at connect, and every path below it is then used as is and
 * never followed at its last component (writes open with O_NOFOLLOW; `chmod`
 * refuses a symlink). Symlinks in the middle of a path are the engine's to
 * check with `lstat` (apply/safe-path.ts).
 */
export class LocalTransport implements Transport {
  readonly kind = 'local' as const;
  readonly description: string;
  private base: string;
  /** Files written without fsync, made durable by `syncWritten()`. */
  private readonly unsynced = new Unsynced();
  /** Folders found real, re-checked cheaply before each change (real-parent.ts). */
  private readonly parents = new RealParents();
  /** Counted among the open local targets (open-targets.ts) between connect and close. */
  private counted = false;
  /** Closed, not connected again: calls fail at once, as over SSH (work a hard stop gave up on ends). */
  private closed = false;
  /** Whole-tree walks, started ahead and read once (local-walks.ts). */
  private readonly walks = new LocalWalks(() => this.base);
  /** writeMany's thread, started by the first batch (writer-thread.ts). */
  private writer: WriterThread | null = null;
  /** The file system synced while writeMany's batches go on (sync-ahead.ts). */
  readonly syncAhead = new SyncAhead(() => syncFileSystem(this.base, false));

  /** `root`: the target folder; relative paths resolve against the working directory. */
  constructor(
    root: string,
    private readonly log: Logger = silentLogger,
  ) {
    this.base = path.resolve(root);
    this.description = this.base;
  }

  async connect(options: { create?: boolean } = {}): Promise<void> {
    this.closed = false;
    this.base = openLocalRoot(this.base, this.description, options, this.log);
    this.parents.trust(this.base);
    if (!this.counted) countOpenTarget(1);
    this.counted = true;
  }

  async close(): Promise<void> {
    this.closed = true;
    // A plan given up (cancelled) leaves no find or sort behind.
    this.walks.stop();
    await this.writer?.close();
    this.writer = null;
    await this.syncAhead.idle();
    if (this.counted) countOpenTarget(-1);
    this.counted = false;
  }

  // Per-file calls on small files use node:fs's synchronous API: each is microseconds, and the
  // promise API's threadpool round trip costs 3–6× more per call, which dominates a 50,000-file
  // deploy. Files over SYNC_MAX_BYTES go through the promise API so the event loop never stalls long;
  // so do calls that change a folder while several targets are open (open-targets.ts).

  async lstat(rel: string): Promise<Entry | null> {
    const stats = await this.io('lstat', rel, async (p) => fsSync.lstatSync(p), {
      allowRoot: true,
      missing: null,
    });
    return stats && toEntry(stats);
  }

  async statExact(rel: string): Promise<FileStat | null> {
    const s = await this.io('lstat', rel, async (p) => fsSync.lstatSync(p, { bigint: true }), {
      missing: null,
    });
    return s && fileStatOf(s);
  }

  async statExactMany(rels: readonly string[]): Promise<Map<string, FileStat | null>> {
    // Half of a big batch on the writer thread, where this deploy started one (a big staging's).
    const far = this.writer?.lstatMany.bind(this.writer);
    return statExactMany(this.base, rels, (rel) => this.statExact(rel), far);
  }

  /** Start walkSorted's work now (find and sort in other processes), for the next walkSorted with `skip`. */
  prewalkSorted(skip: readonly string[], expected?: number): void {
    this.walks.prewalkSorted(skip, expected);
  }

  async walkSorted(skip: readonly string[], visit: SortedVisit, settle?: SettleRaw): Promise<void> {
    return this.walks.walkSorted(skip, visit, settle);
  }

  /** Start walkUnordered's find now, for the next walkUnordered with `skip`. */
  prewalkUnordered(skip: readonly string[]): void {
    this.walks.prewalkUnordered(skip);
  }

  /** walkSorted's entries in find's order, visited while find walks (find-stream.ts). */
  async walkUnordered(
    skip: readonly string[],
    visit: SortedVisit,
    settle?: SettleRaw,
    echo?: WalkEcho,
  ): Promise<boolean> {
    return this.walks.walkUnordered(skip, visit, settle, echo);
  }

  async readFile(rel: string, limit?: number): Promise<Buffer> {
    return this.io('read', rel, (p) => readFileNoFollow(p, limit), { real: true });
  }

  async openRead(rel: string): Promise<OpenedFile> {
    return this.io('read', rel, async (p) => openNoFollow(p), { real: true });
  }

  async readlink(rel: string): Promise<string> {
    return this.io('readlink', rel, (p) => fs.readlink(p));
  }

  async writeFile(rel: string, data: Buffer, mode: number, options: WriteOptions = {}): Promise<void> {
    return this.io('write', rel, (p) => writeFileNoFollow(p, data, mode, options, this.unsynced), {
      real: true,
    });
  }

  /** Written and hashed by this target's writer thread (writer-thread.ts); null while several
   *  local targets are open: their writes share the threadpool (open-targets.ts). */
  async writeMany(files: readonly BatchFile[], hash: HashAlgorithm): Promise<string[] | null> {
    // Closed: no new thread (the one-by-one writes it falls back to are refused, as every call).
    if (severalTargetsOpen() || this.closed) return null;
    this.writer ??= new WriterThread();
    const ids = await this.writer.writeFiles(files, hash, {
      absolute: (rel) => {
        // As writeFile: every folder on the path a real one, checked right before the write.
        const absolute = joinRoot(this.base, checkRelPath(rel));
        this.parentIsReal('write', rel, absolute);
        return absolute;
      },
      written: (absolute) => this.unsynced.add(absolute),
      failed: (rel, error) => ioFailure(this.base, 'write', rel, error),
    });
    this.syncAhead.wrote(ids.length);
    return ids;
  }

  async writeStream(
    rel: string,
    source: ByteSource,
    mode: number,
    options: WriteOptions = {},
  ): Promise<string | undefined> {
    const checked = new CheckedSource(source);
    // Hashed as written (stream-write.ts): the caller skips its read-back. The source keeps its own
    // check (a second hash pass, cheap next to a read): a bad read of the repository is still
    // caught as it streams and named as such.
    try {
      return await this.io(
        'write',
        rel,
        (p) => writeStreamNoFollow(p, checked, mode, options, this.unsynced),
        { real: true },
      );
    } catch (error) {
      throw checked.blame(error);
    }
  }

  /**
   * Few files: an fsync each, in parallel (the filesystem journal batches them).
   * Many (unsynced.ts): one `sync -f` (syncfs(2)) for the target's filesystem,
   * falling back to `sync` (sync(2), which on Linux also returns once the
   * data is written) where `sync -f` is missing.
   */
  async syncWritten(): Promise<void> {
    const files = this.unsynced.take();
    if (files === null) return;
    this.syncAhead.reset();
    if (files === 'filesystem') {
      if (await syncFileSystem(this.base, true)) return;
      throw new TransportError(
        'E_TRANSPORT',
        `cannot make the files written in ${this.base} durable: sync failed`,
      );
    }
    // A file that cannot be opened was removed since (a rename moved its entry to the new name: unsynced.ts).
    await mapLimit(files, 32, fsyncPath);
  }

  /**
   * A lock file: written whole under a temporary name, then published with link(2), which
   * fails when the name exists. A full disk or a kill mid-write leaves at most the temporary
   * file, never an empty `rel` that would block the target. Small, so synchronous calls.
   */
  async createExclusive(
    rel: string,
    data: Buffer,
    mode = 0o644,
    options: Pick<WriteOptions, 'sync'> = {},
  ): Promise<boolean> {
    checkRelPath(rel); // an unsafe name fails here, before a temporary name is made from it
    const tmpRel = `${rel}.new-${randomBytes(4).toString('hex')}`;
    const tmp = joinRoot(this.base, checkRelPath(tmpRel));
    const sync = options.sync !== false;
    return this.io('create', rel, async (p) => publishExclusive(tmp, p, data, mode, sync), { real: true });
  }

  async symlink(linkTarget: string, rel: string): Promise<void> {
    if (linkTarget.includes('\0'))
      throw new TransportError('E_UNSAFE', `symlink target for ${JSON.stringify(rel)} contains a NUL byte`);
    return this.io('symlink', rel, (p) => fs.symlink(linkTarget, p), { real: true });
  }

  async chmod(rel: string, mode: number): Promise<void> {
    return this.io(
      'chmod',
      rel,
      async (p) => {
        // chmod(2) follows symlinks and Linux has no lchmod: refuse links outright.
        const found = fsSync.lstatSync(p);
        if (found.isSymbolicLink())
          throw new TransportError('E_UNSAFE', `refusing to chmod ${JSON.stringify(rel)}: it is a symlink`);
        // Already exact (a folder just made under umask 022): a fleet spares a threadpool round trip.
        if ((found.mode & 0o7777) === (mode & 0o7777)) return;
        await fs.chmod(p, mode & 0o7777);
      },
      { real: true },
    );
  }

  async rename(from: string, to: string): Promise<void> {
    const dest = joinRoot(this.base, checkRelPath(to));
    return this.io(
      'rename',
      from,
      async (p) => {
        this.parentIsReal('rename', to, dest);
        if (severalTargetsOpen()) await fs.rename(p, dest);
        else fsSync.renameSync(p, dest);
        this.unsynced.moved(p, dest);
      },
      { detail: ` to ${JSON.stringify(to)}`, real: true },
    );
  }

  async link(from: string, to: string): Promise<boolean> {
    const dest = joinRoot(this.base, checkRelPath(to));
    return this.io(
      'link',
      from,
      async (p) => {
        this.parentIsReal('link', to, dest);
        return hardLink(p, dest);
      },
      { detail: ` to ${JSON.stringify(to)}`, real: true },
    );
  }

  async mkdirp(rel: string): Promise<void> {
    await this.io(
      'mkdir',
      rel,
      async (p) => {
        // mkdir -p descends links: the deepest folder that exists on the way must resolve to itself.
        let existing = p;
        while (existing !== this.base && !fsSync.lstatSync(existing, { throwIfNoEntry: false }))
          existing = path.dirname(existing);
        if (existing !== this.base) this.parentIsReal('mkdir', rel, path.join(existing, 'x'));
        if (severalTargetsOpen()) await fs.mkdir(p, { recursive: true });
        else fsSync.mkdirSync(p, { recursive: true });
      },
      { allowRoot: true },
    );
  }

  async unlink(rel: string): Promise<void> {
    await this.io('unlink', rel, async (p) => (severalTargetsOpen() ? fs.unlink(p) : fsSync.unlinkSync(p)), {
      missing: undefined,
      real: true,
    });
  }

  async rmdir(rel: string): Promise<boolean> {
    return this.io(
      'rmdir',
      rel,
      async (p) => {
        try {
          await fs.rmdir(p);
          return true;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOENT' || code === 'ENOTEMPTY' || code === 'EEXIST') return false;
          throw error;
        }
      },
      { real: true },
    );
  }

  async removeTree(rel: string): Promise<void> {
    await this.io('remove', rel, async (p) => removeTreeAt(p), { real: true });
  }

  async readdir(rel: string): Promise<string[] | null> {
    return this.io('list', rel, readNames, { allowRoot: true, missing: null });
  }

  async rawNames(rel: string): Promise<Buffer[] | null> {
    return this.io('list', rel, readRawNames, {
      allowRoot: true,
      missing: null,
    });
  }

  async walk(rel = '', skip: readonly string[] = [], options: WalkOptions = {}): Promise<WalkEntry[]> {
    checkRelPath(rel, { allowRoot: true });
    const stat = options.stat ?? true;
    const listDir = (dir: string): Promise<DirEntry[] | null> =>
      this.io(
        'list',
        dir,
        async (p) => {
          const dirents = await fs.readdir(p, { withFileTypes: true });
          return direntEntries(p, dirents, stat);
        },
        { allowRoot: true, missing: null },
      );
    return walkTree(listDir, rel, skip, IO_CONCURRENCY);
  }

  async hashFiles(rels: readonly string[], options: HashOptions = {}): Promise<Map<string, string | null>> {
    const algorithm = options.algorithm ?? 'sha1';
    for (const rel of rels) checkRelPath(rel);
    const unique = [...new Set(rels)];
    const ids = await mapLimit(unique, IO_CONCURRENCY, (rel) =>
      this.io('hash', rel, (p) => hashLocalFile(p, algorithm), { missing: null }),
    );
    return new Map(unique.map((rel, i) => [rel, ids[i] ?? null]));
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    checkEnvNames(options.env);
    const r = await runLocal(command, { cwd: this.base, ...options });
    // The Transport contract (shared with ssh) throws where runLocal describes.
    // The command text stays out of messages: it may carry expanded secrets.
    if (r.aborted) throw new DiffshipError('E_CANCELLED', 'command cancelled before it finished');
    if (r.error !== undefined) {
      throw new TransportError('E_TRANSPORT', `cannot run a command in ${this.base}: ${r.error}`);
    }
    return { code: r.code, signal: r.signal, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut };
  }

  /** E_UNSAFE when a folder on the path of `rel` is (now) a link. */
  private parentIsReal(op: string, rel: string, absolute: string): void {
    const linked = this.parents.check(absolute);
    if (linked === null) return;
    throw new TransportError(
      'E_UNSAFE',
      `refusing to ${op} ${JSON.stringify(rel)} in ${this.base}: a folder on its path is a symlink, and diffship never ${op === 'read' ? 'reads' : 'writes'} through one`,
    );
  }

  /**
   * Check `rel`, run `fn` on its absolute path, and turn Node errors into
   * TransportErrors naming the path. `missing` (when given) is returned for ENOENT.
   */
  private async io<T, M = never>(
    op: string,
    rel: string,
    fn: (absolute: string) => Promise<T>,
    /** real: every folder on the path must be a real folder (no link), checked right before the call. */
    options: { allowRoot?: boolean; missing?: M; detail?: string; real?: boolean } = {},
  ): Promise<T | M> {
    if (this.closed)
      throw new TransportError(
        'E_TRANSPORT',
        `${this.description}: cannot ${op} ${JSON.stringify(rel)}: transport closed`,
      );
    const absolute = joinRoot(this.base, checkRelPath(rel, { allowRoot: options.allowRoot }));
    // Synchronous calls in a loop would hold the event loop (timers, signals): see loop-turns.ts.
    const turn = loopTurn();
    if (turn) await turn;
    try {
      if (options.real && rel !== '') this.parentIsReal(op, rel, absolute);
      return await fn(absolute);
    } catch (error) {
      if (error instanceof TransportError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      // ENOTDIR: a parent is a file, so the path cannot exist either.
      if ((code === 'ENOENT' || code === 'ENOTDIR') && 'missing' in options) return options.missing as M;
      throw ioFailure(this.base, op, rel, error, options.detail);
    }
  }
}
