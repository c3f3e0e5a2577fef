import type { FileEntryWithStats, Stats as SftpStats } from 'ssh2';
import type { SshOptions } from '../config/types.js';
import { gitBlobId, type HashAlgorithm } from '../diff/blob.js';
import { TransportError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { createLimiter, mapLimit, type Limiter } from './limit.js';
import { parseProxyJump } from './proxy-jump.js';
import { checkRelPath, joinRoot } from './rel-path.js';
import {
  parsePerlOutput,
  parseShOutput,
  perlHashCommand,
  perlHashInput,
  perlSha,
  shHashScript,
  type HashTool,
} from './remote-hash.js';
import {
  hashList,
  OP_HASH,
  OP_LINK,
  OP_RENAME,
  OP_WRITE,
  parseHashPayload,
  SYNC_FLAG,
} from './remote-ops.js';
import { credentials, dial, loadKnownHosts, loadSsh2, resolveRoot } from './ssh-connect.js';
import { SshConnection } from './ssh-connection.js';
import { SshExec } from './ssh-exec.js';
import { HelperGone, OpError, SshOps } from './ssh-ops.js';
import {
  fillAndClose,
  hasExtension,
  mkdirAbsolute,
  NO_SUCH_FILE,
  readWhole,
  sftpCode,
  toEntry,
} from './ssh-sftp.js';
import { shellQuote } from './shell-quote.js';
import type {
  Entry,
  ExecOptions,
  ExecResult,
  HashOptions,
  Transport,
  WalkEntry,
  WriteOptions,
} from './transport.js';
import { walkTree, type DirEntry } from './walk.js';

/** Files up to this size are hashed by reading them over SFTP when the host has no perl. */
const SMALL_FILE = 256 * 1024;
/** Paths hashed per request to the file helper. */
const HASH_BATCH = 1000;

/** Knobs for tests and benchmarks; the defaults suit real deploys. */
export interface SshTuning {
  /** Files open at once over SFTP (writes, reads, hashes). Default 64. */
  concurrency?: number;
  /** How hashFiles computes ids: `auto` (perl, then sh + sha1sum/sha256sum, then SFTP reads) or one of them. */
  hashMethod?: 'auto' | 'perl' | 'sh' | 'sftp';
  /** SSH keepalive: a probe every interval; the connection is dropped after `keepaliveCountMax` unanswered. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /**
   * Write files and rename them through one perl process on the host (remote-ops.ts) where
   * the host has perl: default true. false: SFTP requests only.
   */
  bulkOps?: boolean;
}

/** errno names of link(2) that mean "no hard links here": the caller copies instead. */
const NO_HARD_LINKS = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK']);

/**
 * A target folder on an SSH host, over one ssh2 connection: SFTP for files,
 * exec channels for commands and host-side hashing. Concurrent calls are safe
 * and encouraged (SFTP requests are pipelined on the one channel).
 *
 * Host keys are checked against `knownHosts` before authentication (strict
 * unless `strictHostKey` is false); `proxyJump` hops get the same check and the
 * same credentials. When the connection drops, every pending and later call
 * rejects with E_TRANSPORT.
 */
export class SshTransport implements Transport {
  readonly kind = 'ssh' as const;
  readonly description: string;
  private readonly conn: SshConnection;
  private readonly commands: SshExec;
  private readonly ops: SshOps;
  private readonly files: Limiter;
  private readonly concurrency: number;
  private connected = false;
  /** Remote paths written with `{ sync: false }`, made durable by `syncWritten()`. */
  private readonly unsynced = new Set<string>();

  constructor(
    private readonly options: SshOptions,
    root: string,
    private readonly log: Logger = silentLogger,
    private readonly tuning: SshTuning = {},
  ) {
    const target = { user: options.user, host: options.host, port: options.port };
    this.description =
      options.port === 22
        ? `${options.user}@${options.host}:${root}`
        : `ssh://${options.user}@${options.host}:${options.port}${root}`;
    const secrets = [options.privateKey, options.passphrase].filter((s): s is string => !!s);
    this.conn = new SshConnection(this.description, target, root, secrets, log);
    this.commands = new SshExec(this.conn);
    this.ops = new SshOps(this.conn, this.commands, tuning);
    this.concurrency = tuning.concurrency ?? 64;
    this.files = createLimiter(this.concurrency);
  }

  // ── connection ─────────────────────────────────────────────────────────

  async connect(options: { create?: boolean } = {}): Promise<void> {
    if (this.connected) return;
    const ssh2 = await loadSsh2();
    const auth = await credentials(ssh2, this.options, this.conn);
    const knownHosts = await loadKnownHosts(this.options);
    if (!this.options.strictHostKey)
      this.log.warn(`ssh: host keys are not checked for ${this.description} (strict-host-key: false)`);
    const jumps = this.options.proxyJump ? parseProxyJump(this.options.proxyJump) : [];
    try {
      await dial(this.conn, { ssh2, auth, knownHosts, options: this.options, tuning: this.tuning }, jumps);
      this.connected = true;
      await resolveRoot(this.conn, options.create ?? false);
      this.log.debug(`ssh: connected to ${this.description}`);
      // Probe the host's tools and start the file helper now, in the background: an exec session
      // costs a round trip and a process start, best hidden behind the caller's first SFTP work.
      void this.commands
        .caps()
        .then(() => this.ops.channel())
        .catch(() => undefined);
    } catch (error) {
      this.teardown();
      throw error;
    }
  }

  /** Forget a failed connection attempt so that connect() can be called again. */
  private teardown(): void {
    this.commands.forget();
    this.ops.forget();
    this.connected = false;
    this.conn.reset();
  }

  close(): Promise<void> {
    return this.conn.close();
  }

  // ── paths and errors ───────────────────────────────────────────────────

  private abs(rel: string, allowRoot = false): string {
    return joinRoot(this.conn.base, checkRelPath(rel, { allowRoot }));
  }

  // ── files ──────────────────────────────────────────────────────────────

  async lstat(rel: string): Promise<Entry | null> {
    const p = this.abs(rel, true);
    try {
      return toEntry(await this.conn.call<SftpStats>((cb) => this.conn.sftp.lstat(p, cb)));
    } catch (error) {
      if (sftpCode(error) === NO_SUCH_FILE) return null;
      throw this.conn.fail('lstat', rel, error);
    }
  }

  async readFile(rel: string): Promise<Buffer> {
    const p = this.abs(rel);
    return this.files(async () => {
      try {
        return await readWhole(this.conn, p);
      } catch (error) {
        throw this.conn.fail('read', rel, error);
      }
    });
  }

  async readlink(rel: string): Promise<string> {
    const p = this.abs(rel);
    try {
      return await this.conn.call<string>((cb) => this.conn.sftp.readlink(p, cb));
    } catch (error) {
      throw this.conn.fail('readlink', rel, error);
    }
  }

  async writeFile(rel: string, data: Buffer, mode: number, options: WriteOptions = {}): Promise<void> {
    const p = this.abs(rel);
    const sync = options.sync !== false;
    await this.files(async () => {
      try {
        const ops = await this.ops.channel();
        if (ops) {
          const flags = (mode & 0o7777) | (sync ? SYNC_FLAG : 0);
          const done = await this.ops.run(ops, OP_WRITE, rel, { mode: flags, data }).then(
            () => true,
            (error: unknown) => {
              if (error instanceof HelperGone) return false; // write it again over SFTP
              throw error;
            },
          );
          if (done) return;
        }
        const handle = await this.conn.call<Buffer>((cb) =>
          this.conn.sftp.open(p, 'w', { mode: mode & 0o7777 }, cb),
        );
        await fillAndClose(this.conn, handle, data, mode, sync);
      } catch (error) {
        throw this.conn.fail('write', rel, error);
      }
    });
    if (!sync) this.unsynced.add(p);
  }

  /**
   * Make the files written with `{ sync: false }` durable: one `sync -f` (syncfs(2), GNU
   * coreutils) on the host for the whole file system; where that cannot run, an
   * fsync@openssh.com per file over SFTP.
   */
  async syncWritten(): Promise<void> {
    if (this.unsynced.size === 0) return;
    const files = [...this.unsynced];
    this.unsynced.clear();
    if ((await this.commands.caps()).exec) {
      const run = await this.commands.runRaw('sync -f .', Buffer.alloc(0));
      if (run.code === 0) return;
      this.log.debug(
        `ssh: sync -f failed on ${this.options.host} (exit ${run.code}); fsyncing ${files.length} files one by one`,
      );
    }
    if (!hasExtension(this.conn.sftp, 'fsync@openssh.com')) return;
    await mapLimit(files, this.concurrency, async (p) => {
      const handle = await this.conn
        .call<Buffer>((cb) => this.conn.sftp.open(p, 'r', cb))
        .catch((error: unknown) => {
          if (sftpCode(error) === NO_SUCH_FILE) return null; // removed since: nothing to make durable
          throw this.conn.fail('sync', p, error);
        });
      if (!handle) return;
      const synced = this.conn.call<void>((cb) =>
        this.conn.sftp.ext_openssh_fsync(handle, (error) => cb(error)),
      );
      const closed = this.conn.call<void>((cb) => this.conn.sftp.close(handle, cb));
      await Promise.all([synced, closed]).catch((error: unknown) => {
        throw this.conn.fail('sync', p, error);
      });
    });
  }

  async createExclusive(rel: string, data: Buffer, mode = 0o644): Promise<boolean> {
    const p = this.abs(rel);
    return this.files(async () => {
      let handle: Buffer;
      try {
        handle = await this.conn.call<Buffer>((cb) =>
          this.conn.sftp.open(p, 'wx', { mode: mode & 0o7777 }, cb),
        );
      } catch (error) {
        // SFTP v3 has no "already exists" status: look.
        if ((await this.lstat(rel)) !== null) return false;
        throw this.conn.fail('create', rel, error);
      }
      try {
        await fillAndClose(this.conn, handle, data, mode);
      } catch (error) {
        throw this.conn.fail('create', rel, error);
      }
      return true;
    });
  }

  async symlink(linkTarget: string, rel: string): Promise<void> {
    const p = this.abs(rel);
    if (linkTarget.includes('\0'))
      throw new TransportError('E_UNSAFE', `symlink target for ${JSON.stringify(rel)} contains a NUL byte`);
    try {
      await this.conn.call<void>((cb) => this.conn.sftp.symlink(linkTarget, p, cb));
    } catch (error) {
      throw this.conn.fail('symlink', rel, error);
    }
  }

  async chmod(rel: string, mode: number): Promise<void> {
    const p = this.abs(rel);
    const entry = await this.lstat(rel);
    // SFTP setstat follows symlinks: refuse links outright.
    if (entry?.type === 'symlink')
      throw new TransportError(
        'E_UNSAFE',
        `refusing to chmod ${JSON.stringify(rel)} in ${this.description}: it is a symlink`,
      );
    try {
      await this.conn.call<void>((cb) => this.conn.sftp.chmod(p, mode & 0o7777, cb));
    } catch (error) {
      throw this.conn.fail('chmod', rel, error);
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const src = this.abs(from);
    const dest = this.abs(to);
    try {
      const ops = await this.ops.channel();
      if (ops) {
        const done = await this.ops.run(ops, OP_RENAME, from, { to }).then(
          () => true,
          async (error: unknown) => {
            if (!(error instanceof HelperGone)) throw error;
            // The helper ended without answering: done if the file already moved, else do it over SFTP.
            return (await this.lstat(from)) === null && (await this.lstat(to)) !== null;
          },
        );
        if (done) return;
      }
      if (hasExtension(this.conn.sftp, 'posix-rename@openssh.com')) {
        await this.conn.call<void>((cb) => this.conn.sftp.ext_openssh_rename(src, dest, cb));
      } else if ((await this.commands.caps()).exec) {
        // Plain SFTP rename refuses an existing target; mv(1) is rename(2), atomic.
        await this.commands.shell(`mv -f -- ${shellQuote(`./${from}`)} ${shellQuote(`./${to}`)}`);
      } else {
        await this.conn.call<void>((cb) => this.conn.sftp.rename(src, dest, cb));
      }
    } catch (error) {
      throw this.conn.fail('rename', from, error, to);
    }
  }

  async link(from: string, to: string): Promise<boolean> {
    const src = this.abs(from);
    const dest = this.abs(to);
    const ops = await this.ops.channel();
    if (ops) {
      const linked = await this.ops.run(ops, OP_LINK, from, { to }).then(
        () => true,
        (error: unknown) => {
          if (error instanceof OpError && NO_HARD_LINKS.has(error.errno)) return false;
          if (error instanceof HelperGone) return null; // ask SFTP below
          throw this.conn.fail('link', from, error, to);
        },
      );
      if (linked !== null) return linked;
    }
    if (!hasExtension(this.conn.sftp, 'hardlink@openssh.com')) return false;
    try {
      await this.conn.call<void>((cb) => this.conn.sftp.ext_openssh_hardlink(src, dest, cb));
      return true;
    } catch (error) {
      if (this.conn.lost) throw this.conn.lost;
      // SFTP says only "failure": an existing target or a missing source is an error, anything else means "copy instead".
      if ((await this.lstat(to)) !== null)
        throw this.conn.fail('link', from, new Error('the target exists'), to);
      if ((await this.lstat(from)) === null) throw this.conn.fail('link', from, error, to);
      return false;
    }
  }

  async mkdirp(rel: string): Promise<void> {
    checkRelPath(rel, { allowRoot: true });
    if (rel === '') return;
    try {
      await mkdirAbsolute(this.conn, this.abs(rel));
    } catch (error) {
      throw this.conn.fail('mkdir', rel, error);
    }
  }

  async unlink(rel: string): Promise<void> {
    const p = this.abs(rel);
    try {
      await this.conn.call<void>((cb) => this.conn.sftp.unlink(p, cb));
    } catch (error) {
      if (sftpCode(error) === NO_SUCH_FILE) return;
      throw this.conn.fail('unlink', rel, error);
    }
  }

  async rmdir(rel: string): Promise<boolean> {
    const p = this.abs(rel);
    try {
      await this.conn.call<void>((cb) => this.conn.sftp.rmdir(p, cb));
      return true;
    } catch (error) {
      if (sftpCode(error) === NO_SUCH_FILE) return false;
      const entry = await this.lstat(rel);
      if (entry === null || entry.type === 'dir') return false; // gone meanwhile, or not empty
      throw this.conn.fail('rmdir', rel, error);
    }
  }

  async removeTree(rel: string): Promise<void> {
    checkRelPath(rel);
    const entry = await this.lstat(rel);
    if (entry === null) return;
    if (entry.type !== 'dir') return this.unlink(rel);
    if ((await this.commands.caps()).exec) {
      // One round trip instead of one per file; rm -rf never follows symlinks.
      try {
        await this.commands.shell(`rm -rf -- ${shellQuote(`./${rel}`)}`);
      } catch (error) {
        throw this.conn.fail('remove', rel, error);
      }
      return;
    }
    const entries = await this.walk(rel);
    await mapLimit(
      entries.filter((e) => e.type !== 'dir'),
      this.concurrency,
      (e) => this.unlink(e.path),
    );
    const dirs = entries.filter((e) => e.type === 'dir').reverse(); // children sort after parents
    for (const d of dirs) await this.rmdir(d.path);
    await this.rmdir(rel);
  }

  async readdir(rel: string): Promise<string[] | null> {
    const list = await this.list(rel);
    return list && list.map((e) => e.name);
  }

  async walk(rel = '', skip: readonly string[] = []): Promise<WalkEntry[]> {
    checkRelPath(rel, { allowRoot: true });
    // SFTP listings carry lstat attributes for free, so `stat: false` changes nothing here.
    return walkTree((dir) => this.list(dir), rel, skip, 16);
  }

  private async list(rel: string): Promise<DirEntry[] | null> {
    const p = this.abs(rel, true);
    try {
      const list = await this.conn.call<FileEntryWithStats[]>((cb) => this.conn.sftp.readdir(p, cb));
      return list
        .filter((f) => f.filename !== '.' && f.filename !== '..')
        .map((f) => ({ name: f.filename, ...toEntry(f.attrs) }));
    } catch (error) {
      if (sftpCode(error) === NO_SUCH_FILE) return null;
      throw this.conn.fail('list', rel, error);
    }
  }

  // ── bulk operations (remote-ops.ts) ────────────────────────────────────

  // ── hashing ────────────────────────────────────────────────────────────

  async hashFiles(rels: readonly string[], options: HashOptions = {}): Promise<Map<string, string | null>> {
    const algorithm = options.algorithm ?? 'sha1';
    for (const rel of rels) checkRelPath(rel);
    const unique = [...new Set(rels)];
    const result = new Map<string, string | null>();
    if (unique.length === 0) return result;
    const method = this.tuning.hashMethod ?? 'auto';
    const caps = method === 'sftp' ? null : await this.commands.caps();
    if (caps?.exec && caps.perl && (method === 'auto' || method === 'perl')) {
      const ids = await this.hashWithHelper(unique, algorithm);
      if (ids) {
        unique.forEach((rel, i) => result.set(rel, ids[i] ?? null));
        return result;
      }
    }
    if (caps?.exec && caps.perl && (method === 'auto' || method === 'perl')) {
      const ids = await this.hashWithPerl(unique, algorithm);
      if (ids) {
        unique.forEach((rel, i) => result.set(rel, ids[i] ?? null));
        return result;
      }
    }
    if (method === 'perl')
      throw new TransportError(
        'E_TRANSPORT',
        `${this.description}: perl with Digest::SHA is not available on the host`,
      );
    // Without perl: look at each path over SFTP; small files are read and hashed here, large ones on the host
    // (when it has a tool for this algorithm: a host may have sha1sum but no sha256sum).
    const tool = caps?.exec === true && method !== 'sftp' ? caps.tools[algorithm] : null;
    const large: Array<{ path: string; size: number }> = [];
    await mapLimit(unique, this.concurrency, async (rel) => {
      const entry = await this.lstat(rel);
      if (entry === null || (entry.type !== 'file' && entry.type !== 'symlink')) return result.set(rel, null);
      if (entry.type === 'symlink')
        return result.set(rel, gitBlobId(Buffer.from(await this.readlink(rel), 'utf8'), algorithm));
      if (tool && (entry.size > SMALL_FILE || method === 'sh'))
        return large.push({ path: rel, size: entry.size });
      result.set(rel, gitBlobId(await this.readFile(rel), algorithm));
    });
    if (tool && large.length > 0) {
      const ids = await this.hashWithSh(tool, large, algorithm);
      large.forEach((f, i) => result.set(f.path, ids[i] ?? null));
    }
    return new Map(unique.map((rel) => [rel, result.get(rel) ?? null]));
  }

  /** Ids from the file helper, in batches; null when there is no helper or it ended (the caller falls back). */
  private async hashWithHelper(
    paths: string[],
    algorithm: HashAlgorithm,
  ): Promise<Array<string | null> | null> {
    const ops = await this.ops.channel();
    if (!ops) return null;
    // Batches keep each answer line short; all are sent at once, so the host never waits for the next.
    const batches: string[][] = [];
    for (let at = 0; at < paths.length; at += HASH_BATCH) batches.push(paths.slice(at, at + HASH_BATCH));
    let payloads: string[];
    try {
      const mode = perlSha(algorithm);
      payloads = await Promise.all(
        batches.map((batch) => this.ops.run(ops, OP_HASH, hashList(batch), { mode })),
      );
    } catch (error) {
      if (error instanceof HelperGone) return null;
      throw this.conn.fail('hash', paths[0] ?? '', error);
    }
    const ids: Array<string | null> = [];
    for (const [b, batch] of batches.entries()) {
      const records = parseHashPayload(payloads[b]!, batch.length, algorithm);
      if (!records) return null;
      records.forEach((r, i) => {
        if (r === '!')
          throw new TransportError(
            'E_TRANSPORT',
            `${this.description}: cannot read ${JSON.stringify(batch[i])} to hash it (permission denied?)`,
          );
        ids.push(r);
      });
    }
    return ids;
  }

  /** Ids from the perl script; null when perl misbehaved (the caller falls back to the other ways). */
  private async hashWithPerl(
    paths: string[],
    algorithm: HashAlgorithm,
  ): Promise<Array<string | null> | null> {
    const run = await this.commands.runRaw(perlHashCommand(algorithm), perlHashInput(paths));
    const records = run.code === 0 ? parsePerlOutput(run.stdout, paths.length, algorithm) : null;
    if (!records) {
      this.log.debug(
        `ssh: hashing with perl failed on ${this.options.host} (exit ${run.code}): ${run.stderr.trim().slice(0, 300)}`,
      );
      return null;
    }
    return records.map((r, i) => {
      if (r === '!')
        throw new TransportError(
          'E_TRANSPORT',
          `${this.description}: cannot read ${JSON.stringify(paths[i])} to hash it (permission denied?)`,
        );
      return r;
    });
  }

  private async hashWithSh(
    tool: HashTool,
    files: Array<{ path: string; size: number }>,
    algorithm: HashAlgorithm,
  ): Promise<string[]> {
    const run = await this.commands.runRaw(
      'exec sh -s',
      Buffer.from(shHashScript(tool, files, algorithm), 'utf8'),
    );
    const records =
      run.code === 0 ? parseShOutput(run.stdout.toString('utf8'), files.length, algorithm) : null;
    if (!records)
      throw new TransportError(
        'E_TRANSPORT',
        `${this.description}: hashing files on the host failed (exit ${run.code}): ${run.stderr.trim().slice(0, 300)}`,
      );
    return records.map((r, i) => {
      if (r === '!')
        throw new TransportError(
          'E_TRANSPORT',
          `${this.description}: cannot read ${JSON.stringify(files[i]!.path)} to hash it (changed meanwhile, or permission denied)`,
        );
      return r;
    });
  }

  // ── commands (ssh-exec.ts) ─────────────────────────────────────────────

  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    return this.commands.exec(command, options);
  }
}
