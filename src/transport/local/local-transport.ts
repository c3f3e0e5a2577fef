import * as fsSync from 'node:fs';
import { constants, type Dirent, type Stats } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { DiffshipError, TransportError } from '../../errors.js';
import { gitBlobId } from '../../diff/blob.js';
import { silentLogger, type Logger } from '../../log.js';
import { runLocal } from './run-local.js';
import { mapLimit } from '../limit.js';
import { checkRelPath, joinRoot } from '../rel-path.js';
import { refuseDangerousRoot } from '../dangerous-root.js';
import { checkEnvNames, shellQuote } from '../shell-quote.js';
import type {
  Entry,
  EntryType,
  ExecOptions,
  ExecResult,
  HashOptions,
  Transport,
  WalkEntry,
  WalkOptions,
  WriteOptions,
} from '../transport.js';
import { walkTree, type DirEntry } from '../walk.js';
import type { FileStat } from '../../plan/manifest-types.js';

/** Files read at once by hashFiles, folders listed at once by walk. */
const IO_CONCURRENCY = 16;
const { O_WRONLY, O_RDONLY, O_CREAT, O_TRUNC, O_EXCL, O_NOFOLLOW } = constants;

/**
 * A target folder on this machine, through node:fs.
 *
 * The root may itself be a symlink (`/srv/current` → `/srv/releases/7`): it is
 * resolved once, at connect, and every path below it is then used as is and
 * never followed at its last component (writes open with O_NOFOLLOW; `chmod`
 * refuses a symlink). Symlinks in the middle of a path are the engine's to
 * check with `lstat` (apply/safe-path.ts).
 */
/** Files up to this size are read and written with synchronous calls (see lstat). */
const SYNC_MAX_BYTES = 256 * 1024;

/** Above this many unsynced files, one syncfs is cheaper than an fsync each. */
const SYNCFS_ABOVE = 256;

export class LocalTransport implements Transport {
  readonly kind = 'local' as const;
  readonly description: string;
  private base: string;
  /** Files written without fsync, made durable by `syncWritten()`. */
  private readonly unsynced = new Set<string>();

  /** `root`: the target folder; relative paths resolve against the working directory. */
  constructor(
    root: string,
    private readonly log: Logger = silentLogger,
  ) {
    this.base = path.resolve(root);
    this.description = this.base;
  }

  async connect(options: { create?: boolean } = {}): Promise<void> {
    // Synchronous: a few microseconds each, where a threadpool round trip costs more.
    let stats: Stats | null;
    try {
      stats = fsSync.statSync(this.base, { throwIfNoEntry: false }) ?? null;
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      throw new TransportError(
        'E_CONNECT',
        `local target ${this.base} cannot be read: ${e.code ?? e.message}`,
        {
          cause: error,
        },
      );
    }
    if (stats === null && options.create) {
      this.log.debug(`creating target folder ${this.base}`);
      try {
        fsSync.mkdirSync(this.base, { recursive: true });
      } catch (error) {
        const e = error as NodeJS.ErrnoException;
        throw new TransportError(
          'E_CONNECT',
          `cannot create target folder ${this.base}: ${e.code ?? e.message}`,
          {
            cause: error,
          },
        );
      }
      stats = fsSync.statSync(this.base);
    }
    if (stats === null)
      throw new TransportError('E_CONNECT', `target folder ${this.base} does not exist; create it first`, {
        rootMissing: true,
      });
    if (!stats.isDirectory())
      throw new TransportError('E_CONNECT', `target path ${this.base} is not a folder`);
    this.base = fsSync.realpathSync(this.base);
    // The configured text was checked at load time; a link may still lead to `/` or a home folder.
    refuseDangerousRoot(this.base, localHomes(), `local target ${this.description}`);
  }

  async close(): Promise<void> {}

  // Per-file calls on small files use node:fs's synchronous API: each is microseconds, and the
  // promise API's threadpool round trip costs 3–6× more per call, which dominates a 50,000-file
  // deploy. Files over SYNC_MAX_BYTES go through the promise API so the event loop never stalls long.

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
    if (!s) return null;
    const ns = (v: bigint) => v.toString();
    return {
      size: Number(s.size),
      mtimeNs: ns(s.mtimeNs),
      ctimeNs: ns(s.ctimeNs),
      ino: ns(s.ino),
      mode: Number(s.mode),
    };
  }

  async readFile(rel: string): Promise<Buffer> {
    return this.io('read', rel, async (p) => {
      // State, lock and journal files are small: read them in one synchronous go.
      const fd = fsSync.openSync(p, O_RDONLY | O_NOFOLLOW);
      try {
        if (fsSync.fstatSync(fd).size <= SYNC_MAX_BYTES) return fsSync.readFileSync(fd);
      } finally {
        fsSync.closeSync(fd);
      }
      const handle = await fs.open(p, O_RDONLY | O_NOFOLLOW);
      try {
        return await handle.readFile();
      } finally {
        await handle.close();
      }
    });
  }

  async readlink(rel: string): Promise<string> {
    return this.io('readlink', rel, (p) => fs.readlink(p));
  }

  async writeFile(rel: string, data: Buffer, mode: number, options: WriteOptions = {}): Promise<void> {
    return this.io(
      'write',
      rel,
      async (p) => {
        if (data.length <= SYNC_MAX_BYTES) {
          const fd = fsSync.openSync(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode & 0o7777);
          try {
            fsSync.writeFileSync(fd, data);
            fsSync.fchmodSync(fd, mode & 0o7777); // the umask trimmed the mode given to open()
            // A state or journal file is durable before its rename publishes it (one fsync, ~0.3 ms).
            if (options.sync !== false) fsSync.fsyncSync(fd);
          } finally {
            fsSync.closeSync(fd);
          }
          if (options.sync === false) this.unsynced.add(p);
          return;
        }
        const handle = await fs.open(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode & 0o7777);
        try {
          await handle.writeFile(data);
          // The umask trimmed the mode given to open(); set it exactly.
          await handle.chmod(mode & 0o7777);
          if (options.sync === false) this.unsynced.add(p);
          else await handle.sync();
        } finally {
          await handle.close();
        }
      },
      { change: true },
    );
  }

  /**
   * Few files: an fsync each, in parallel (the filesystem journal batches them).
   * Many: one `sync -f` (syncfs) for the target's filesystem, falling back to
   * fsyncs where that command is missing.
   */
  async syncWritten(): Promise<void> {
    if (this.unsynced.size === 0) return;
    const files = [...this.unsynced];
    this.unsynced.clear();
    if (files.length > SYNCFS_ABOVE) {
      const r = await runLocal(`sync -f ${shellQuote(this.base)}`, { cwd: this.base, timeoutMs: 600_000 });
      if (r.code === 0) return;
    }
    await mapLimit(files, 32, async (file) => {
      const handle = await fs.open(file, 'r').catch(() => null);
      if (!handle) return; // renamed or removed since: its new name was synced with it, or it is gone
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
  }

  /**
   * A lock file: written whole under a temporary name, then published with link(2), which
   * fails when the name exists. A full disk or a kill mid-write leaves at most the temporary
   * file, never an empty `rel` that would block the target. Small, so synchronous calls.
   */
  async createExclusive(rel: string, data: Buffer, mode = 0o644): Promise<boolean> {
    checkRelPath(rel); // an unsafe name fails here, before a temporary name is made from it
    const tmpRel = `${rel}.new-${randomBytes(4).toString('hex')}`;
    const tmp = joinRoot(this.base, checkRelPath(tmpRel));
    return this.io(
      'create',
      rel,
      async (p) => {
        const fd = fsSync.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode & 0o7777);
        try {
          try {
            fsSync.writeFileSync(fd, data);
            fsSync.fchmodSync(fd, mode & 0o7777);
            fsSync.fsyncSync(fd);
          } finally {
            fsSync.closeSync(fd);
          }
          try {
            fsSync.linkSync(tmp, p);
            return true;
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            if (code === 'EEXIST') return false;
            if (!NO_HARD_LINKS.has(code ?? '')) throw error;
          }
          // No hard links on this file system: the complete file is only then created with O_EXCL.
          return createExclusiveInPlace(p, data, mode);
        } finally {
          ignoreMissing(() => fsSync.unlinkSync(tmp));
        }
      },
      { change: true },
    );
  }

  async symlink(linkTarget: string, rel: string): Promise<void> {
    if (linkTarget.includes('\0'))
      throw new TransportError('E_UNSAFE', `symlink target for ${JSON.stringify(rel)} contains a NUL byte`);
    return this.io('symlink', rel, (p) => fs.symlink(linkTarget, p), { change: true });
  }

  async chmod(rel: string, mode: number): Promise<void> {
    return this.io(
      'chmod',
      rel,
      async (p) => {
        // chmod(2) follows symlinks and Linux has no lchmod: refuse links outright.
        if ((await fs.lstat(p)).isSymbolicLink())
          throw new TransportError('E_UNSAFE', `refusing to chmod ${JSON.stringify(rel)}: it is a symlink`);
        await fs.chmod(p, mode & 0o7777);
      },
      { change: true },
    );
  }

  async rename(from: string, to: string): Promise<void> {
    const dest = joinRoot(this.base, checkRelPath(to));
    return this.io(
      'rename',
      from,
      async (p) => {
        this.parentIsReal('rename', to, dest);
        fsSync.renameSync(p, dest);
      },
      { detail: ` to ${JSON.stringify(to)}`, change: true },
    );
  }

  async link(from: string, to: string): Promise<boolean> {
    const dest = joinRoot(this.base, checkRelPath(to));
    return this.io(
      'link',
      from,
      async (p) => {
        this.parentIsReal('link', to, dest);
        try {
          fsSync.linkSync(p, dest);
          return true;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          // Another file system, or one without hard links: the caller copies instead.
          if (NO_HARD_LINKS.has(code ?? '')) return false;
          throw error;
        }
      },
      { detail: ` to ${JSON.stringify(to)}`, change: true },
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
        fsSync.mkdirSync(p, { recursive: true });
      },
      { allowRoot: true },
    );
  }

  async unlink(rel: string): Promise<void> {
    await this.io('unlink', rel, async (p) => fsSync.unlinkSync(p), { missing: undefined, change: true });
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
      { change: true },
    );
  }

  async removeTree(rel: string): Promise<void> {
    await this.io(
      'remove',
      rel,
      async (p) => {
        // Most calls find nothing (no staging left over): a synchronous look answers that at once.
        const entry = fsSync.lstatSync(p, { throwIfNoEntry: false });
        if (!entry) return;
        if (!entry.isDirectory()) return fsSync.unlinkSync(p);
        // A staging folder or an old backup of a few files goes at once, synchronously.
        if (removeSmallTreeSync(p, SMALL_TREE)) return;
        // fs.rm removes symlinks as links and never descends through them; a big tree stays off the event loop.
        await fs.rm(p, { recursive: true, force: true });
      },
      { change: true },
    );
  }

  async readdir(rel: string): Promise<string[] | null> {
    return this.io('list', rel, (p) => fs.readdir(p), { allowRoot: true, missing: null });
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
          const entries = await Promise.all(
            dirents.map((d) => this.direntEntry(joinRoot(p, d.name), d, stat)),
          );
          return entries.filter((e) => e !== null);
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
      this.io(
        'hash',
        rel,
        async (p) => {
          const stats = fsSync.lstatSync(p);
          if (stats.isSymbolicLink())
            return gitBlobId(fsSync.readlinkSync(p, { encoding: 'buffer' }), algorithm);
          if (!stats.isFile()) return null;
          if (stats.size <= SYNC_MAX_BYTES) {
            const fd = fsSync.openSync(p, O_RDONLY | O_NOFOLLOW);
            try {
              return gitBlobId(fsSync.readFileSync(fd), algorithm);
            } finally {
              fsSync.closeSync(fd);
            }
          }
          const handle = await fs.open(p, O_RDONLY | O_NOFOLLOW);
          try {
            return gitBlobId(await handle.readFile(), algorithm);
          } finally {
            await handle.close();
          }
        },
        { missing: null },
      ),
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

  /** null when the entry vanished between readdir and lstat. */
  private async direntEntry(full: string, d: Dirent, stat: boolean): Promise<DirEntry | null> {
    const type = direntType(d);
    if (!stat && type !== 'other') return { name: d.name, type, mode: 0, size: 0, mtimeMs: 0 };
    // Also reached when the file system reports no type (DT_UNKNOWN).
    try {
      return { name: d.name, ...toEntry(await fs.lstat(full)) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  /** E_UNSAFE when a folder on the path of `rel` is (now) a link. */
  private parentIsReal(op: string, rel: string, absolute: string): void {
    const linked = checkRealParent(absolute);
    if (linked === null) return;
    throw new TransportError(
      'E_UNSAFE',
      `refusing to ${op} ${JSON.stringify(rel)} in ${this.base}: a folder on its path is a symlink, and diffship never writes through one`,
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
    options: { allowRoot?: boolean; missing?: M; detail?: string; change?: boolean } = {},
  ): Promise<T | M> {
    const absolute = joinRoot(this.base, checkRelPath(rel, { allowRoot: options.allowRoot }));
    try {
      if (options.change && rel !== '') this.parentIsReal(op, rel, absolute);
      return await fn(absolute);
    } catch (error) {
      if (error instanceof TransportError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      // ENOTDIR: a parent is a file, so the path cannot exist either.
      if ((code === 'ENOENT' || code === 'ENOTDIR') && 'missing' in options) return options.missing as M;
      if (code === 'ELOOP') {
        throw new TransportError(
          'E_UNSAFE',
          `refusing to ${op} ${JSON.stringify(rel)}${options.detail ?? ''} in ${this.base}: it is a symlink`,
          { cause: error },
        );
      }
      const why = code ?? (error instanceof Error ? error.message : String(error));
      throw new TransportError(
        'E_TRANSPORT',
        `cannot ${op} ${JSON.stringify(rel)}${options.detail ?? ''} in ${this.base}: ${why}`,
        { cause: error },
      );
    }
  }
}

/**
 * Right before a call that changes `absolute`: its folder resolves to itself,
 * so no component between the root and it is a link (realpath(3), one call).
 * The root was resolved at connect. What remains is the few microseconds
 * between this look and the call itself (Node has no renameat/openat).
 */
function checkRealParent(absolute: string): string | null {
  const parent = path.dirname(absolute);
  let real: string;
  try {
    real = fsSync.realpathSync.native(parent);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null; // the call fails on its own
    throw error;
  }
  return real === parent ? null : parent;
}

/** This user's home folder, as written and as it resolves. */
function localHomes(): string[] {
  const homes = [os.homedir(), process.env.HOME].filter((h): h is string => !!h).map((h) => path.resolve(h));
  const real = homes.map((h) => {
    try {
      return fsSync.realpathSync(h);
    } catch {
      return h;
    }
  });
  return [...new Set([...homes, ...real])];
}

/** errno names of link(2) that mean "no hard links here". */
const NO_HARD_LINKS = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK']);

/** The fallback of createExclusive where link(2) is refused: O_EXCL, the content already known. */
function createExclusiveInPlace(p: string, data: Buffer, mode: number): boolean {
  let fd: number;
  try {
    fd = fsSync.openSync(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode & 0o7777);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    fsSync.writeFileSync(fd, data);
    fsSync.fchmodSync(fd, mode & 0o7777);
    fsSync.fsyncSync(fd);
  } catch (error) {
    fsSync.closeSync(fd);
    ignoreMissing(() => fsSync.unlinkSync(p)); // never leave it empty or partial
    throw error;
  }
  fsSync.closeSync(fd);
  return true;
}

/** Trees with up to this many entries are removed synchronously by removeTree. */
const SMALL_TREE = 256;

/**
 * Remove the folder `dir` when it holds at most `budget` entries in all, with
 * synchronous calls; return false, having removed nothing, when it holds more.
 * Never follows a symlink: links are entries like files (d_type, no stat).
 */
function removeSmallTreeSync(dir: string, budget: number): boolean {
  const files: string[] = [];
  const dirs: string[] = [];
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop()!;
    dirs.push(current);
    for (const d of fsSync.readdirSync(current, { withFileTypes: true })) {
      if (files.length + dirs.length + pending.length >= budget) return false;
      const full = path.join(current, d.name);
      if (d.isDirectory()) pending.push(full);
      else files.push(full);
    }
  }
  // Children before parents (dirs were found parents first); already gone is fine.
  for (const file of files) ignoreMissing(() => fsSync.unlinkSync(file));
  for (const d of dirs.reverse()) ignoreMissing(() => fsSync.rmdirSync(d));
  return true;
}

function ignoreMissing(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function direntType(d: Dirent): EntryType {
  if (d.isFile()) return 'file';
  if (d.isDirectory()) return 'dir';
  if (d.isSymbolicLink()) return 'symlink';
  return 'other';
}

function toEntry(stats: Stats): Entry {
  const type: EntryType = stats.isFile()
    ? 'file'
    : stats.isDirectory()
      ? 'dir'
      : stats.isSymbolicLink()
        ? 'symlink'
        : 'other';
  return {
    type,
    mode: stats.mode & 0o7777,
    size: stats.size,
    mtimeMs: stats.mtimeMs,
    uid: stats.uid,
    gid: stats.gid,
  };
}
