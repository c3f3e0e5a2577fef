import { aType } from '../../entry-type.js';
import type { Stats as SftpStats } from 'ssh2';
import { TransportError } from '../../errors.js';
import { createLimiter, mapLimit, type Limiter } from '../limit.js';
import { parentsReal } from './parents-real.js';
import { checkRelPath, joinRoot } from '../rel-path.js';
import { OP_LINK, OP_RENAME, OP_UNLINK } from './perl-helper-protocol.js';
import { listWithHelper } from './helper-list.js';
import { mkdirpWithHelper } from './helper-mkdir.js';
import { syncAheadOf, syncFiles } from './sync-written.js';
import { UnsyncedPaths } from './unsynced-paths.js';
import { removeRemotely } from './remove-remote.js';
import { shellQuote } from '../shell-quote.js';
import type { SshConnection } from './connection.js';
import type { SshExec } from './exec-channels.js';
import { HelperGone, OpError, type SshOps } from './perl-helper-client.js';
import { gather, GATHER_MAX, streamFile } from './stream-file.js';
import { createOverSftp, createWithHelper, NO_HARD_LINKS } from './create-exclusive.js';
import { writeWithHelper } from './helper-write.js';
import { copyOverSftp, copyWithHelper } from './copy-file.js';
import { writeManyWithHelper } from './bulk-write.js';
import type { BulkFile } from './bulk-write-protocol.js';
import type { HashAlgorithm } from '../../diff/blob.js';
import { runSmallOp } from './helper-small-ops.js';
import { OP_CHMOD, OP_READLINK, OP_RMDIR, OP_SYMLINK } from './shell-ops-protocol.js';
import {
  fillAndClose,
  hasExtension,
  mkdirAbsolute,
  listOverSftp,
  NO_SUCH_FILE,
  readWhole,
  sftpCode,
  toEntry,
} from './sftp.js';
import type { ByteSource, Entry, WalkEntry, WriteOptions } from '../transport.js';
import { publishFile, type PublishJob } from './publish.js';
import { walkTree, type DirEntry } from '../walk.js';

/**
 * The file operations of SshTransport: SFTP requests, with writes, renames and
 * hard links going through the file helper (perl-helper-client.ts) where it runs, and a
 * few shell commands (rm -rf, mv, sync) where exec works.
 */
export class SshFiles {
  private readonly files: Limiter;
  /** Paths (relative to the root) written with `{ sync: false }`, made durable by `syncWritten()`. */
  private readonly unsynced = new UnsyncedPaths();
  /** Drops paths a syncfs made durable once many wait (sync-written.ts). */
  private readonly syncAhead = syncAheadOf(() => this.ops, this.unsynced);

  constructor(
    private readonly conn: SshConnection,
    private readonly exec: SshExec,
    private readonly ops: SshOps,
    /** Files open at once over SFTP (writes, reads, hashes). */
    readonly concurrency: number,
  ) {
    this.files = createLimiter(concurrency);
  }

  private abs(rel: string, allowRoot = false): string {
    return joinRoot(this.conn.base, checkRelPath(rel, { allowRoot }));
  }

  /** Right before an SFTP call that changes or reads `rel`: every parent is a real folder (parents-real.ts). */
  parentsReal(op: string, rel: string, self = false): Promise<void> {
    return parentsReal((dir) => this.lstat(dir), this.conn.description, op, rel, self);
  }

  async lstat(rel: string): Promise<Entry | null> {
    const { conn } = this;
    const p = this.abs(rel, true);
    try {
      return toEntry(await conn.call<SftpStats>((cb) => conn.sftp.lstat(p, cb)));
    } catch (error) {
      if (sftpCode(error) === NO_SUCH_FILE) return null;
      throw conn.fail('lstat', rel, error);
    }
  }

  async readFile(rel: string, limit?: number): Promise<Buffer> {
    const p = this.abs(rel);
    return this.files(async () => {
      try {
        // SFTP opens through links: `rel` and its folders are checked right before.
        await this.parentsReal('read', rel, true);
        return await readWhole(this.conn, p, limit);
      } catch (error) {
        throw this.conn.fail('read', rel, error);
      }
    });
  }

  async readlink(rel: string): Promise<string> {
    const { conn } = this;
    const p = this.abs(rel);
    try {
      const text = await runSmallOp(conn, this.ops, 'readlink', OP_READLINK, rel);
      return text ?? (await conn.call<string>((cb) => conn.sftp.readlink(p, cb)));
    } catch (error) {
      throw conn.fail('readlink', rel, error);
    }
  }

  async writeFile(rel: string, data: Buffer, mode: number, options: WriteOptions = {}): Promise<void> {
    await this.writeData(rel, data, mode, options.sync !== false, { onQueued: options.onQueued });
  }

  /**
   * writeFile's work. `hash`: the helper hashes the bytes as it writes them and the result is
   * their blob id (undefined where it did not: written over SFTP, the caller hashes the file).
   */
  private async writeData(
    rel: string,
    data: Buffer,
    mode: number,
    sync: boolean,
    options: WriteOptions = {},
  ): Promise<string | undefined> {
    const { conn } = this;
    const p = this.abs(rel);
    // Through the helper a record holds no SFTP handle: not limited here (the caller bounds it, onQueued).
    const done = await writeWithHelper(conn, this.ops, rel, data, mode, sync, options);
    if (!sync) this.unsynced.add(rel);
    if (done) return done.blob;
    await this.files(async () => {
      try {
        await this.parentsReal('write', rel);
        const handle = await this.openNew(rel, p, mode);
        await fillAndClose(conn, handle, data, mode, sync);
        return undefined;
      } catch (error) {
        throw conn.fail('write', rel, error);
      }
    });
    return undefined;
  }

  /** writeFile from a source read as it goes (stream-file.ts); resolves to the helper's blob id, if it hashed. */
  async writeStream(rel: string, src: ByteSource, mode: number, options: WriteOptions = {}) {
    if (src.size <= GATHER_MAX) {
      // A small file is one record among many; the helper hashes it as it writes it (one pass on
      // the host, none here, and no read-back), when it runs: known before a byte is read.
      const hash = options.hash && (await this.ops.channel().catch(() => null)) ? options.hash : undefined;
      src.hashedByWriter?.(hash !== undefined);
      return this.writeData(rel, await gather(src), mode, options.sync !== false, { ...options, hash });
    }
    const open = (p: string) => this.parentsReal('write', rel).then(() => this.openNew(rel, p, mode));
    const done = await this.files(() => streamFile(this.conn, this.ops, { rel, mode, options, open }, src));
    if (options.sync === false) this.unsynced.add(rel); // relative, as syncFiles expects
    return done.blob;
  }

  /** A file copied within the target (copy-file.ts): on the host by the file helper, else over SFTP. */
  async copyFile(from: string, to: string, mode: number, options: WriteOptions = {}): Promise<void> {
    const job = { from: checkRelPath(from), to: checkRelPath(to), mode, sync: options.sync !== false };
    if (!(await copyWithHelper(this.conn, this.ops, job)))
      await this.files(() =>
        copyOverSftp(this.conn, job, {
          source: () => this.parentsReal('copy', from, true).then(() => this.abs(from)),
          open: () => this.parentsReal('write', to).then(() => this.openNew(to, this.abs(to), mode)),
        }),
      );
    if (!job.sync) this.unsynced.add(to);
  }

  /**
   * Open a file to write as a new file (`wx`: O_CREAT|O_EXCL, which never follows a
   * link at the last component). An existing regular file is removed first (the
   * write replaces it); an existing link or anything else is refused.
   */
  private async openNew(rel: string, p: string, mode: number): Promise<Buffer> {
    const { conn } = this;
    const open = () => conn.call<Buffer>((cb) => conn.sftp.open(p, 'wx', { mode: mode & 0o7777 }, cb));
    try {
      return await open();
    } catch (error) {
      const entry = await this.lstat(rel);
      if (entry === null || conn.lost) throw error;
      if (entry.type !== 'file')
        throw new TransportError(
          'E_UNSAFE',
          `${conn.description}: refusing to write ${JSON.stringify(rel)}: it is ${aType(entry.type)}, and diffship never writes through one`,
        );
      await this.unlink(rel);
      return open();
    }
  }

  /** Many small files in one record of the file helper (bulk-write.ts); null where it does not run. */
  async writeMany(files: ReadonlyArray<BulkFile>, hash: HashAlgorithm): Promise<string[] | null> {
    const ids = await writeManyWithHelper(this.conn, this.ops, files, hash);
    if (ids) for (const f of files) this.unsynced.add(f.rel);
    if (ids) this.syncAhead();
    return ids;
  }

  /** Make the files written with `{ sync: false }` durable (sync-written.ts). */
  async syncWritten(): Promise<void> {
    if (this.unsynced.size === 0) return;
    await syncFiles(this.conn, this.exec, this.ops, this.unsynced.take(), this.concurrency);
  }

  /** Transport.publishFile: write, sync, rename as chained records of the file helper (publish.ts). */
  publishFile(job: PublishJob): Promise<boolean> {
    return publishFile(this.conn, this.ops, { files: this, unsynced: this.unsynced }, job);
  }

  /** Exclusive create (create-exclusive.ts): in one record where the file helper runs, else over SFTP. */
  async createExclusive(rel: string, data: Buffer, mode = 0o644): Promise<boolean> {
    const helper = await this.ops.channel();
    const created = helper && (await createWithHelper(this.conn, this.ops, helper, rel, data, mode));
    if (typeof created === 'boolean') return created;
    return createOverSftp(this.conn, this, rel, data, mode);
  }

  async symlink(linkTarget: string, rel: string): Promise<void> {
    const { conn } = this;
    const p = this.abs(rel);
    if (linkTarget.includes('\0'))
      throw new TransportError('E_UNSAFE', `symlink target for ${JSON.stringify(rel)} contains a NUL byte`);
    const done = await runSmallOp(conn, this.ops, 'symlink', OP_SYMLINK, rel, { to: linkTarget });
    if (done !== undefined) return;
    await this.parentsReal('symlink', rel);
    try {
      await conn.call<void>((cb) => conn.sftp.symlink(linkTarget, p, cb));
    } catch (error) {
      throw conn.fail('symlink', rel, error);
    }
  }

  async chmod(rel: string, mode: number): Promise<void> {
    const { conn } = this;
    const p = this.abs(rel);
    const done = await runSmallOp(conn, this.ops, 'chmod', OP_CHMOD, rel, { mode: mode & 0o7777 });
    if (done === '') return;
    if (done === undefined) await this.parentsReal('chmod', rel);
    // chmod follows symlinks: refuse links outright (the helper answers `l` for one).
    if (done !== undefined || (await this.lstat(rel))?.type === 'symlink')
      throw new TransportError(
        'E_UNSAFE',
        `refusing to chmod ${JSON.stringify(rel)} in ${conn.description}: it is a symlink`,
      );
    try {
      await conn.call<void>((cb) => conn.sftp.chmod(p, mode & 0o7777, cb));
    } catch (error) {
      throw conn.fail('chmod', rel, error);
    }
  }

  async rename(from: string, to: string): Promise<void> {
    await this.renameOnce(from, to);
    // Written unsynced, then renamed (a JSON file written whole): synced under its new name.
    this.unsynced.renamed(from, to);
  }

  private async renameOnce(from: string, to: string): Promise<void> {
    const { conn } = this;
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
      await this.parentsReal('rename', from);
      await this.parentsReal('rename', to);
      if (hasExtension(await conn.ensureSftp(), 'posix-rename@openssh.com')) {
        await conn.call<void>((cb) => conn.sftp.ext_openssh_rename(src, dest, cb));
      } else if ((await this.exec.caps()).exec) {
        // Plain SFTP rename refuses an existing target; mv(1) is rename(2), atomic.
        await this.exec.shell(`mv -f -- ${shellQuote(`./${from}`)} ${shellQuote(`./${to}`)}`);
      } else {
        await conn.call<void>((cb) => conn.sftp.rename(src, dest, cb));
      }
    } catch (error) {
      throw conn.fail('rename', from, error, to);
    }
  }

  async link(from: string, to: string): Promise<boolean> {
    const { conn } = this;
    const src = this.abs(from);
    const dest = this.abs(to);
    const ops = await this.ops.channel();
    if (ops) {
      const linked = await this.ops.run(ops, OP_LINK, from, { to }).then(
        () => true,
        (error: unknown) => {
          if (error instanceof OpError && NO_HARD_LINKS.has(error.errno)) return false;
          if (error instanceof HelperGone) return null; // ask SFTP below
          throw conn.fail('link', from, error, to);
        },
      );
      if (linked !== null) return linked;
    }
    if (!hasExtension(await conn.ensureSftp(), 'hardlink@openssh.com')) return false;
    await this.parentsReal('link', from);
    await this.parentsReal('link', to);
    try {
      await conn.call<void>((cb) => conn.sftp.ext_openssh_hardlink(src, dest, cb));
      return true;
    } catch (error) {
      if (conn.lost) throw conn.lost;
      // SFTP says only "failure": an existing target or a missing source is an error, anything else means "copy instead".
      if ((await this.lstat(to)) !== null) throw conn.fail('link', from, new Error('the target exists'), to);
      if ((await this.lstat(from)) === null) throw conn.fail('link', from, error, to);
      return false;
    }
  }

  async mkdirp(rel: string): Promise<void> {
    checkRelPath(rel, { allowRoot: true });
    if (rel === '') return;
    if (await mkdirpWithHelper(this.ops, rel)) return;
    await this.parentsReal('mkdir', rel, true); // rel itself and its parents: none may be a link
    try {
      await mkdirAbsolute(this.conn, this.abs(rel));
    } catch (error) {
      throw this.conn.fail('mkdir', rel, error);
    }
  }

  async unlink(rel: string): Promise<void> {
    const { conn } = this;
    const p = this.abs(rel);
    // Through the file helper, the no-follow check and the unlink are one step on the host.
    const ops = await this.ops.channel();
    if (ops) {
      const done = await this.ops.run(ops, OP_UNLINK, rel).then(
        () => true,
        (error: unknown) => {
          if (error instanceof HelperGone) return false; // unlink it again over SFTP
          throw conn.fail('unlink', rel, error);
        },
      );
      if (done) return;
    }
    await this.parentsReal('unlink', rel);
    try {
      await conn.call<void>((cb) => conn.sftp.unlink(p, cb));
    } catch (error) {
      if (sftpCode(error) === NO_SUCH_FILE) return;
      throw conn.fail('unlink', rel, error);
    }
  }

  async rmdir(rel: string): Promise<boolean> {
    const { conn } = this;
    const p = this.abs(rel);
    const done = await runSmallOp(conn, this.ops, 'rmdir', OP_RMDIR, rel);
    if (done !== undefined) return done === '1';
    await this.parentsReal('rmdir', rel);
    try {
      await conn.call<void>((cb) => conn.sftp.rmdir(p, cb));
      return true;
    } catch (error) {
      if (sftpCode(error) === NO_SUCH_FILE) return false;
      const entry = await this.lstat(rel);
      if (entry === null || entry.type === 'dir') return false; // gone meanwhile, or not empty
      throw conn.fail('rmdir', rel, error);
    }
  }

  async removeTree(rel: string): Promise<void> {
    checkRelPath(rel);
    // One record where the file helper runs: it checks the parents, and `rm -rf` takes a file or a
    // link as unlink does and a missing path as done (three round trips, else).
    if (await removeRemotely(this.conn, this.ops, this.exec, rel, true)) return;
    await this.parentsReal('remove', rel);
    const entry = await this.lstat(rel);
    if (entry === null) return;
    if (entry.type !== 'dir') return this.unlink(rel);
    if (await removeRemotely(this.conn, this.ops, this.exec, rel)) return;
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
    const p = this.abs(rel, true); // checked before the helper sees it
    const listed = await listWithHelper(this.conn, this.ops, rel); // null: missing
    return listed !== undefined ? listed : listOverSftp(this.conn, rel, p);
  }
}
