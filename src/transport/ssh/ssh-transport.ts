import type { SshOptions } from '../../config/types.js';
import { silentLogger, type Logger } from '../../log.js';
import { parseProxyJump } from './proxy-jump.js';
import { credentials, dial, loadKnownHosts, loadSsh2, openSftp, resolveRoot } from './connect.js';
import { SshConnection } from './connection.js';
import { SshExec } from './exec-channels.js';
import { SshFiles } from './file-ops.js';
import { SshHash } from './hash-files.js';
import { SshOps } from './perl-helper-client.js';
import { scanWithHelper, statsWithHelper } from './scan.js';
import type { FileStat } from '../../plan/manifest-types.js';
import type {
  ByteSource,
  Entry,
  ExactVisit,
  ExecOptions,
  ExecResult,
  HashOptions,
  Transport,
  WalkEntry,
  WriteOptions,
} from '../transport.js';
import type { SshTuning } from './tuning.js';

/**
 * A target folder on an SSH host, over one ssh2 connection: SFTP for files,
 * exec channels for commands and host-side hashing. Concurrent calls are safe
 * and encouraged (SFTP requests are pipelined on the one channel).
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
  private connected = false;

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
    this.conn = new SshConnection(this.description, target, root, secrets, log, options.replyTimeoutMs);
    this.commands = new SshExec(this.conn);
    this.ops = new SshOps(this.conn, this.commands, tuning);
    this.files = new SshFiles(this.conn, this.commands, this.ops, tuning.concurrency ?? 64);
    this.hashing = new SshHash(this.conn, this.commands, this.ops, this.files, tuning);
  }

  // ── connection ─────────────────────────────────────────────────────────

  async connect(options: { create?: boolean; commandsOnly?: boolean } = {}): Promise<void> {
    // A connection kept open (preflight's, handed to the deploy) that dropped meanwhile is made again.
    if (this.connected && this.conn.lost && !this.conn.closing) this.teardown();
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
      // Each of these costs the host a start of the login user's shell (slow where an rc file is):
      // the probe of the host's tools, the file helper and the SFTP session start together, so
      // those costs overlap instead of adding up. The helper moves into the folder once it is known.
      void this.commands.caps().catch(() => undefined);
      if (!options.commandsOnly) this.ops.start();
      this.conn.sftpChannel = await openSftp(this.conn);
      await resolveRoot(this.conn, options.create ?? false, options.commandsOnly);
      this.log.debug(`ssh: connected to ${this.description}`);
      if (!options.commandsOnly) void this.ops.channel().catch(() => undefined);
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

  // ── files (file-ops.ts) ───────────────────────────────────────────────

  lstat(rel: string): Promise<Entry | null> {
    return this.files.lstat(rel);
  }

  readFile(rel: string): Promise<Buffer> {
    return this.files.readFile(rel);
  }

  readlink(rel: string): Promise<string> {
    return this.files.readlink(rel);
  }

  writeFile(rel: string, data: Buffer, mode: number, options: WriteOptions = {}): Promise<void> {
    return this.files.writeFile(rel, data, mode, options);
  }

  writeStream(
    rel: string,
    source: ByteSource,
    mode: number,
    options: WriteOptions = {},
  ): Promise<string | undefined> {
    return this.files.writeStream(rel, source, mode, options);
  }

  syncWritten(): Promise<void> {
    return this.files.syncWritten();
  }

  createExclusive(rel: string, data: Buffer, mode = 0o644): Promise<boolean> {
    return this.files.createExclusive(rel, data, mode);
  }

  symlink(linkTarget: string, rel: string): Promise<void> {
    return this.files.symlink(linkTarget, rel);
  }

  chmod(rel: string, mode: number): Promise<void> {
    return this.files.chmod(rel, mode);
  }

  rename(from: string, to: string): Promise<void> {
    return this.files.rename(from, to);
  }

  link(from: string, to: string): Promise<boolean> {
    return this.files.link(from, to);
  }

  mkdirp(rel: string): Promise<void> {
    return this.files.mkdirp(rel);
  }

  unlink(rel: string): Promise<void> {
    return this.files.unlink(rel);
  }

  rmdir(rel: string): Promise<boolean> {
    return this.files.rmdir(rel);
  }

  removeTree(rel: string): Promise<void> {
    return this.files.removeTree(rel);
  }

  readdir(rel: string): Promise<string[] | null> {
    return this.files.readdir(rel);
  }

  walk(rel = '', skip: readonly string[] = []): Promise<WalkEntry[]> {
    return this.files.walk(rel, skip);
  }

  // ── the stat cache's walk and lstats, through the file helper (scan.ts) ──────

  walkExact(skip: readonly string[], visit: ExactVisit): Promise<boolean> {
    return scanWithHelper(this.conn, this.ops, skip, visit);
  }

  statExactMany(rels: readonly string[]): Promise<Map<string, FileStat | null> | null> {
    return statsWithHelper(this.conn, this.ops, rels);
  }

  // ── hashing (hash-files.ts) and commands (exec-channels.ts) ───────────────────

  hashFiles(rels: readonly string[], options: HashOptions = {}): Promise<Map<string, string | null>> {
    return this.hashing.hashFiles(rels, options);
  }

  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    return this.commands.exec(command, options);
  }
}
