import type { SshOptions } from '../../config/types.js';
import { silentLogger, type Logger } from '../../log.js';
import { parseProxyJump } from './proxy-jump.js';
import { dial, dialSettings, loadSsh2, openSftp, keepsConnection, resolveRoot } from './connect.js';
import { EarlySocket } from './early-socket.js';
import { readWithHelper } from './helper-read.js';
import { spoolWithHelper } from './helper-spool.js';
import { bufferFile } from '../buffer-file.js';
import { NO_LIMIT, TooBig } from '../read-bound.js';
import { checkRelPath } from '../rel-path.js';
import { SshConnection, targetLabel } from './connection.js';
import { SshExec } from './exec-channels.js';
import { SshFiles } from './file-ops.js';
import { rawNamesWithHelper } from './helper-list.js';
import { SshHash } from './hash-files.js';
import { SshOps } from './perl-helper-client.js';
import { EarlyAttempt } from './early-attempt.js';
import { ReadAhead } from './helper-peek.js';
import { LstatBatch } from './helper-lstat.js';
import { createAndPeek, releaseWithHelper } from './create-exclusive.js';
import { mkdirsWithHelper, mkdirWithHelper } from './helper-mkdir.js';
import { resolveRootWithHelper } from './helper-root.js';
import { scanWithHelper, statsWithHelper } from './scan.js';
import { renameAllWithHelper } from './rename-all.js';
import { unlinkThenRemove } from './remove-remote.js';
import { lookWithHelper } from './look.js';
import { patchWithHelper } from './helper-patch.js';
import { keepManyWithHelper, removeManyWithHelper } from './many-ops.js';
import type { FileStat } from '../../plan/manifest-types.js';
import type {
  ByteSource,
  Entry,
  ExactVisit,
  UnmatchedWalk,
  ExecOptions,
  ExecResult,
  ConnectOptions,
  HashOptions,
  Kept,
  KeepItem,
  OpenedFile,
  Peeked,
  PatchCheck,
  PatchPart,
  PublishAfter,
  Transport,
  WalkEntry,
  WriteOptions,
} from '../transport.js';
import type { SshTuning } from './tuning.js';
import type { HashAlgorithm } from '../../diff/blob.js';
import type { BulkFile } from './bulk-write-protocol.js';

/** Transport.publishFile's arguments: a file, how it is made durable, the files published before it. */
type PublishArgs = Parameters<NonNullable<Transport['publishFile']>>;

/**
 * A target folder on an SSH host, over one ssh2 connection: the file helper (one remote shell)
 * for files and host-side hashing, SFTP (opened only when needed) where it cannot, exec
 * channels for commands. Concurrent calls are safe and encouraged (records and SFTP requests
 * are pipelined).
 *
 * Host keys are checked against `knownHosts` before authentication (strict
 * unless `strictHostKey` is false); `proxyJump` hops get the same check and the
 * same credentials. When the connection drops, every pending and later call
 * rejects with E_TRANSPORT.
 *
 * The work is done by its parts, which share one SshConnection: connect.ts
 * opens it, SshFiles does the file operations, SshExec the commands, SshOps
 * runs the file helper and SshHash computes blob ids.
 */
export class SshTransport implements Transport {
  readonly kind = 'ssh' as const;
  readonly description: string;
  private readonly conn: SshConnection;
  private readonly commands: SshExec;
  private readonly ops: SshOps;
  private readonly files: SshFiles;
  private readonly hashing: SshHash;
  /** What peek saw, served to the reads that follow; every change below forgets what it touches. */
  private readonly ahead: ReadAhead;
  /** lstat calls of one tick, asked of the file helper together. */
  private readonly stats: LstatBatch;
  private connected = false;
  /**
   * Connected, but the target folder was missing (a read-only connect, e.g. preflight's before a
   * first deploy): the next connect() resolves (or creates) the folder on this connection instead
   * of dialling again, which would cost a second handshake and a second round of remote shells.
   */
  private rootless = false;
  /** preconnect()'s attempt, whose outcome the next plain connect() takes (with peekAtConnect's look). */
  private readonly early = new EarlyAttempt();

  constructor(
    private readonly options: SshOptions,
    root: string,
    private readonly log: Logger = silentLogger,
    private readonly tuning: SshTuning = {},
  ) {
    const target = { user: options.user, host: options.host, port: options.port };
    this.description = targetLabel(target, root);
    const secrets = [options.privateKey, options.passphrase].filter((s): s is string => !!s);
    this.conn = new SshConnection(this.description, target, root, secrets, log, options.replyTimeoutMs);
    this.commands = new SshExec(this.conn);
    this.ops = new SshOps(this.conn, this.commands, tuning);
    this.files = new SshFiles(this.conn, this.commands, this.ops, tuning.concurrency ?? 64);
    this.hashing = new SshHash(this.conn, this.commands, this.ops, this.files, tuning);
    this.ahead = new ReadAhead(this.ops);
    this.stats = new LstatBatch(this.ops, (rel) => this.files.lstat(rel));
  }

  // ── connection ─────────────────────────────────────────────────────────

  /**
   * Start connect({ create: false }) now, before the caller needs it (the rollout does, while
   * it reads the release): the next connect() with those options takes its outcome, whatever it is.
   */
  preconnect(): Promise<void> {
    if (this.connected) return Promise.resolve();
    return this.early.start(() => this.connect({ create: false }));
  }

  preconnected(): Promise<boolean> {
    return this.early.outcome(this.connected);
  }

  peekAtConnect(paths: readonly string[], reads: readonly string[]): ReturnType<EarlyAttempt['peek']> {
    return this.early.peek(!this.connected, paths, reads);
  }

  async connect(options: ConnectOptions & { commandsOnly?: boolean } = {}): Promise<void> {
    const early = this.early.take();
    if (early && !options.create && !options.commandsOnly) return early;
    await early?.catch(() => undefined);
    // A connection kept open (preflight's, handed to the deploy) that dropped meanwhile is made again.
    if (this.connected && this.conn.lost && !this.conn.closing) this.teardown();
    if (this.connected) return;
    if (this.rootless && !this.conn.lost && !this.conn.closing && !options.commandsOnly)
      return this.resolveKept(options.create ?? false, options.look);
    if (this.rootless) this.teardown();
    const jumps = this.options.proxyJump ? parseProxyJump(this.options.proxyJump) : [];
    const tcp = new EarlySocket(jumps[0]?.host ?? this.options.host, jumps[0]?.port ?? this.options.port);
    await tcp.dialled();
    const settings = await loadSsh2()
      .then((ssh2) => dialSettings(ssh2, this.options, this.conn, this.tuning))
      .catch((error: unknown) => {
        tcp.drop();
        throw error;
      });
    if (!this.options.strictHostKey)
      this.log.warn(`ssh: host keys are not checked for ${this.description} (strict-host-key: false)`);
    try {
      await dial(this.conn, settings, jumps, tcp.take());
      this.connected = true;
      // The file helper's start costs the host a start of the login user's shell (slow where an rc
      // file is). It resolves the target folder, then moves into it; its start tells what the
      // host can run, so the probe of the host's tools runs only where there is no helper.
      // SFTP is opened only when an operation needs it (connection.ts): a deploy that the helper
      // does entirely starts one remote shell, as rsync does.
      this.conn.sftpOpener = openSftp;
      const helper = !options.commandsOnly && this.tuning.bulkOps !== false;
      if (helper) this.ops.start();
      else void this.commands.caps().catch(() => undefined);
      // The helper's exec is asked for: the host starts its shell while this process works.
      this.early.hostAtWork();
      await this.resolveRoot(options.create ?? false, options.commandsOnly, options.look);
      this.log.debug(`ssh: connected to ${this.description}`);
      if (!options.commandsOnly) void this.ops.channel().catch(() => undefined);
    } catch (error) {
      if (keepsConnection(error, this.conn, options)) {
        this.connected = false;
        this.rootless = true;
      } else this.teardown();
      throw error;
    }
  }

  /**
   * The target folder, resolved by the file helper where it runs (helper-root.ts), else over SFTP;
   * peekAtConnect's look goes right behind the helper's root record.
   */
  private async resolveRoot(
    create: boolean,
    commandsOnly?: boolean,
    then?: ConnectOptions['look'],
  ): Promise<void> {
    const look = this.early.takeLook(this.ahead, this.conn.base, create ? then : undefined);
    try {
      if (!commandsOnly && (await resolveRootWithHelper(this.conn, this.ops, create, look.ask))) return;
      await resolveRoot(this.conn, create, commandsOnly);
    } finally {
      look.done();
    }
  }

  /** The folder of a connection that found it missing, resolved (or created) now; then as connect(). */
  private async resolveKept(create: boolean, then?: ConnectOptions['look']): Promise<void> {
    try {
      await this.resolveRoot(create, false, then);
    } catch (error) {
      if (!keepsConnection(error, this.conn, {})) this.teardown();
      throw error;
    }
    this.rootless = false;
    this.connected = true;
    this.log.debug(`ssh: connected to ${this.description} (the connection that found no folder)`);
    void this.ops.channel().catch(() => undefined);
  }

  /** Forget a failed connection attempt so that connect() can be called again. */
  private teardown(): void {
    this.rootless = false;
    this.ahead.clear();
    this.commands.forget();
    this.ops.forget();
    this.connected = false;
    this.conn.reset();
  }

  close(): Promise<void> {
    return this.conn.close();
  }

  // ── files (file-ops.ts) ───────────────────────────────────────────────

  peek(
    paths: readonly string[],
    reads: readonly string[],
    files?: readonly string[],
  ): Promise<ReadonlyMap<string, Peeked> | null> {
    return this.ahead.peek(paths, reads, files);
  }

  lstat(rel: string): Promise<Entry | null> {
    const seen = this.ahead.get(rel);
    if (seen) return Promise.resolve(seen.entry && { ...seen.entry });
    return this.stats.lstat(rel);
  }

  async readFile(rel: string, limit = NO_LIMIT): Promise<Buffer> {
    const peeked = (data: Uint8Array) => {
      if (data.length > limit) throw this.conn.fail('read', rel, new TooBig(data.length, limit));
      return Buffer.from(data);
    };
    const data = this.ahead.get(rel)?.data;
    if (data) return peeked(data);
    // Not peeked ahead: the file helper's read (raw bytes, never through a link; a peek would
    // send them as hex, twice the bytes to encode, send and decode), so a deploy's reads need
    // no SFTP session; without the helper, SFTP.
    return (
      (await readWithHelper(this.conn, this.ops, checkRelPath(rel), limit)) ?? this.files.readFile(rel, limit)
    );
  }

  /**
   * A file copied into a local spool through the file helper and read by offset there (a big
   * manifest is never whole in memory); a file peeked ahead, or read over SFTP where the helper
   * does not run, is held in memory as readFile holds it.
   */
  async openRead(rel: string, limit = NO_LIMIT): Promise<OpenedFile> {
    if (!this.ahead.get(rel)?.data) {
      const spooled = await spoolWithHelper(this.conn, this.ops, checkRelPath(rel), limit);
      if (spooled) return spooled;
    }
    return bufferFile(await this.readFile(rel, limit));
  }

  readlink(rel: string): Promise<string> {
    return this.files.readlink(rel);
  }

  copyFile(from: string, to: string, mode: number, options: WriteOptions = {}): Promise<void> {
    return this.ahead.changing([to], () => this.files.copyFile(from, to, mode, options));
  }

  writeFile(rel: string, data: Buffer, mode: number, options: WriteOptions = {}): Promise<void> {
    return this.ahead.changing([rel], () => this.files.writeFile(rel, data, mode, options));
  }

  writeStream(
    rel: string,
    source: ByteSource,
    mode: number,
    options: WriteOptions = {},
  ): Promise<string | undefined> {
    return this.ahead.changing([rel], () => this.files.writeStream(rel, source, mode, options));
  }

  writeMany(files: ReadonlyArray<BulkFile>, hash: HashAlgorithm): Promise<string[] | null> {
    return this.ahead.changing(
      files.map((f) => f.rel),
      () => this.files.writeMany(files, hash),
    );
  }

  syncWritten(): Promise<void> {
    return this.files.syncWritten();
  }

  publishFile(...[tmp, rel, data, mode, sync, before = []]: PublishArgs): Promise<boolean> {
    const changing = [...before.flatMap((b) => [b.tmp, b.rel]), tmp, rel];
    return this.ahead.changing(changing, () =>
      this.files.publishFile({ tmp, rel, data, mode, sync, before }),
    );
  }

  patchFile(
    base: string,
    staged: string,
    to: string,
    check: PatchCheck,
    parts: Iterable<PatchPart>,
    mode: number,
    after?: PublishAfter,
  ): Promise<boolean> {
    const changing = after ? [staged, to, after.tmp, after.rel] : [staged, to];
    // A temporary file of `after` that the helper may have left is removed the transport's way.
    const then = after && { job: after, unlink: (rel: string) => this.files.unlink(rel) };
    return this.ahead.changing(changing, () =>
      patchWithHelper(this.conn, this.ops, { base, staged, to }, check, parts, mode, then),
    );
  }

  createExclusive(rel: string, data: Buffer, mode = 0o644): Promise<boolean> {
    return this.ahead.changing([rel], () => this.files.createExclusive(rel, data, mode));
  }

  createExclusiveAndPeek(
    rel: string,
    data: Buffer,
    mode: number,
    peek: Parameters<NonNullable<Transport['createExclusiveAndPeek']>>[3],
  ): Promise<{ created: boolean; seen: ReadonlyMap<string, Peeked> | null } | null> {
    const usual = () => this.createExclusive(rel, data, mode);
    return createAndPeek(this.conn, this.ops, this.ahead, { rel, data, mode }, peek, usual);
  }

  unlinkIfStarts(rel: string, mark: string): Promise<boolean | null> {
    return this.ahead.changing([rel], () => releaseWithHelper(this.conn, this.ops, rel, mark));
  }

  symlink(linkTarget: string, rel: string): Promise<void> {
    return this.ahead.changing([rel], () => this.files.symlink(linkTarget, rel));
  }

  chmod(rel: string, mode: number): Promise<void> {
    return this.ahead.changing([rel], () => this.files.chmod(rel, mode));
  }

  rename(from: string, to: string): Promise<void> {
    return this.ahead.changing([from, to], () => this.files.rename(from, to));
  }

  link(from: string, to: string): Promise<boolean> {
    return this.ahead.changing([to], () => this.files.link(from, to));
  }

  mkdirp(rel: string): Promise<void> {
    return this.ahead.changing([rel], () => this.files.mkdirp(rel));
  }

  makeDir(rel: string, mode: number): Promise<boolean> {
    return this.ahead.changing([rel], () => mkdirWithHelper(this.ops, rel, mode));
  }

  makeDirs(rels: readonly string[], mode: number): Promise<boolean> {
    return this.ahead.changing(rels, () => mkdirsWithHelper(this.ops, rels, mode));
  }

  inOrder(): boolean {
    return this.ops.running();
  }

  unlink(rel: string): Promise<void> {
    return this.ahead.changing([rel], () => this.files.unlink(rel));
  }

  unlinkThenRemoveTree(rel: string, tree: string): Promise<void> {
    return this.ahead.changing([rel, tree], () =>
      unlinkThenRemove(this.conn, this.ops, this.files, rel, tree),
    );
  }

  rmdir(rel: string): Promise<boolean> {
    return this.ahead.changing([rel], () => this.files.rmdir(rel));
  }

  keepMany(dir: string, items: readonly KeepItem[]): Promise<Kept[] | null> {
    const links = items.map((i) => `${dir}/${i.name}`);
    return this.ahead.changing(links, () => keepManyWithHelper(this.conn, this.ops, dir, items));
  }

  removeMany(rels: readonly string[]): Promise<boolean> {
    return this.ahead.changing(rels, () => removeManyWithHelper(this.conn, this.ops, rels));
  }

  removeTree(rel: string): Promise<void> {
    return this.ahead.changing([rel], () => this.files.removeTree(rel));
  }

  readdir(rel: string): Promise<string[] | null> {
    const seen = this.ahead.get(rel);
    if (seen && (seen.entry === null || seen.names))
      return Promise.resolve(seen.names ? [...seen.names] : null);
    return this.files.readdir(rel);
  }

  walk(rel = '', skip: readonly string[] = []): Promise<WalkEntry[]> {
    return this.files.walk(rel, skip);
  }

  rawNames(rel: string): Promise<Buffer[] | null> {
    return rawNamesWithHelper(this.conn, this.ops, rel);
  }

  // ── the stat cache's walk and lstats, through the file helper (scan.ts) ──────

  walkExact(skip: readonly string[], visit: ExactVisit): Promise<boolean> {
    return scanWithHelper(this.conn, this.ops, skip, visit);
  }

  walkUnmatched(
    files: { manifest: string; state: string; skip: readonly string[] },
    visit: ExactVisit,
  ): Promise<UnmatchedWalk | null> {
    return lookWithHelper(this.conn, this.ops, files, visit);
  }

  statExactMany(rels: readonly string[]): Promise<Map<string, FileStat | null> | null> {
    return statsWithHelper(this.conn, this.ops, rels);
  }

  renameAllThenStat(
    pairs: ReadonlyArray<readonly [string, string]>,
    statAfter: readonly string[],
  ): Promise<{ stats: Map<string, FileStat | null> | null } | null> {
    return this.ahead.changing(pairs.flat(), () =>
      renameAllWithHelper(this.conn, this.ops, pairs, statAfter),
    );
  }

  // ── hashing (hash-files.ts) and commands (exec-channels.ts) ───────────────────

  hashFiles(rels: readonly string[], options: HashOptions = {}): Promise<Map<string, string | null>> {
    return this.hashing.hashFiles(rels, options);
  }

  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    // A command may change anything.
    return this.ahead.changing([''], () => this.commands.exec(command, options));
  }
}
