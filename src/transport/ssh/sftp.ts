import type { FileEntryWithStats, SFTPWrapper, Stats as SftpStats } from 'ssh2';
import { mapLimit } from '../limit.js';
import type { SshConnection } from './connection.js';
import type { Entry } from '../transport.js';
import { typeFromMode, type DirEntry } from '../walk.js';
import { LISTING_DEADLINE_FACTOR } from './deadline.js';
import { checkSize, NO_LIMIT } from '../read-bound.js';

/**
 * SFTP building blocks shared by connecting (the root folder) and the file
 * operations: status codes, pipelined whole-file reads and writes, mkdir -p,
 * folder listings.
 */

/** SFTP status codes (draft-ietf-secsh-filexfer-02) that change what an operation means. */
export const NO_SUCH_FILE = 2;
/** Bytes per SFTP write/read request; several are in flight per file. */
const CHUNK = 64 * 1024;
const CHUNKS_IN_FLIGHT = 16;

export function sftpCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export function toEntry(attrs: {
  mode: number;
  size: number;
  mtime: number;
  uid?: number;
  gid?: number;
}): Entry {
  return {
    type: typeFromMode(attrs.mode),
    mode: attrs.mode & 0o7777,
    size: attrs.size,
    mtimeMs: attrs.mtime * 1000,
    uid: attrs.uid,
    gid: attrs.gid,
  };
}

export function hasExtension(sftp: SFTPWrapper, name: string): boolean {
  // ssh2 keeps the server's extension list here; its ext_* methods throw when one is missing.
  const extensions = (sftp as unknown as { _extensions?: Record<string, string> })._extensions;
  return extensions?.[name] !== undefined;
}

/** mkdir -p of an absolute path on the host. */
export async function mkdirAbsolute(conn: SshConnection, p: string): Promise<void> {
  try {
    await conn.call<void>((cb) => conn.sftp.mkdir(p, cb));
  } catch (error) {
    if (sftpCode(error) === NO_SUCH_FILE) {
      const parent = p.slice(0, p.lastIndexOf('/'));
      if (parent === '' || parent === p) throw error;
      await mkdirAbsolute(conn, parent);
      return mkdirAbsolute(conn, p);
    }
    // Exists (perhaps made by a concurrent call): fine if it is a folder.
    const stats = await conn.call<SftpStats>((cb) => conn.sftp.lstat(p, cb)).catch(() => null);
    if (stats?.isDirectory()) return;
    throw stats ? new Error(`${p} exists and is not a folder`) : error;
  }
}

/** Read a whole remote file: fstat for the size (TooBig over `limit`), then pipelined reads. */
export async function readWhole(conn: SshConnection, p: string, limit = NO_LIMIT): Promise<Buffer> {
  const handle = await conn.call<Buffer>((cb) => conn.sftp.open(p, 'r', cb));
  try {
    const stats = await conn.call<SftpStats>((cb) => conn.sftp.fstat(handle, cb));
    // Checked before the buffer is made: the host's size is not trusted to be small. The reads
    // below never go past it, so a file growing meanwhile is cut at that size.
    checkSize(stats.size, limit);
    const buffer = Buffer.alloc(stats.size);
    const offsets: number[] = [];
    for (let at = 0; at < stats.size; at += CHUNK) offsets.push(at);
    const got = await mapLimit(offsets, CHUNKS_IN_FLIGHT, (at) =>
      conn.call<number>((cb) =>
        conn.sftp.read(handle, buffer, at, Math.min(CHUNK, stats.size - at), at, (error, bytes) =>
          cb(error, bytes),
        ),
      ),
    );
    // A short read means the file shrank since fstat: keep what is there.
    let length = 0;
    for (let i = 0; i < offsets.length; i++) {
      length = offsets[i]! + got[i]!;
      if (got[i]! < Math.min(CHUNK, stats.size - offsets[i]!)) break;
    }
    return length === stats.size ? buffer : buffer.subarray(0, length);
  } finally {
    await conn.call<void>((cb) => conn.sftp.close(handle, cb)).catch(() => undefined);
  }
}

/**
 * Write `data` into an open handle, set the exact mode, fsync where offered, close — all
 * sent at once: SFTP servers must process requests on one file in the order received
 * (draft-ietf-secsh-filexfer-02 §6.1), so a small file costs two round trips (open, then
 * the rest), not five.
 */
export async function fillAndClose(
  conn: SshConnection,
  handle: Buffer,
  data: Buffer,
  mode: number,
  sync = true,
): Promise<void> {
  const steps: Array<Promise<void>> = [];
  for (let at = 0; at < data.length; at += CHUNK) {
    // Bounded per file, so a huge file does not queue its whole size at once.
    if (steps.length >= CHUNKS_IN_FLIGHT)
      await steps[steps.length - CHUNKS_IN_FLIGHT]!.catch(() => undefined);
    steps.push(
      conn.call<void>((cb) =>
        conn.sftp.write(handle, data, at, Math.min(CHUNK, data.length - at), at, (error) => cb(error)),
      ),
    );
  }
  // open() applied the server's umask to the mode; set it exactly.
  steps.push(conn.call<void>((cb) => conn.sftp.fchmod(handle, mode & 0o7777, cb)));
  if (sync && hasExtension(conn.sftp, 'fsync@openssh.com')) {
    steps.push(conn.call<void>((cb) => conn.sftp.ext_openssh_fsync(handle, (error) => cb(error))));
  }
  const closed = conn.call<void>((cb) => conn.sftp.close(handle, cb));
  // Wait for every step (so the handle is closed whatever failed), then report the first failure.
  const results = await Promise.allSettled([...steps, closed]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * fillAndClose for bytes that arrive as they are read: a write request per chunk, at offsets,
 * with at most CHUNKS_IN_FLIGHT unanswered (the chunks they hold are all that is in memory),
 * then mode, fsync and close sent at once. The handle is closed whatever failed; the source's
 * failure, else the first of the host's, is reported.
 */
export async function pourAndClose(
  conn: SshConnection,
  handle: Buffer,
  source: AsyncIterable<Buffer>,
  mode: number,
  sync = true,
): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  const failed: unknown[] = [];
  const send = (call: (cb: (error?: Error | null) => void) => void) => {
    const step: Promise<void> = conn
      .call<void>((cb) => call((error) => cb(error ?? undefined)))
      .catch((error: unknown) => void failed.push(error))
      .finally(() => inFlight.delete(step));
    inFlight.add(step);
  };
  let sourceFailure: { error: unknown } | null = null;
  try {
    let at = 0;
    for await (const chunk of source) {
      for (let off = 0; off < chunk.length && failed.length === 0; off += CHUNK) {
        if (inFlight.size >= CHUNKS_IN_FLIGHT) await Promise.race(inFlight);
        const [position, len] = [at + off, Math.min(CHUNK, chunk.length - off)];
        send((cb) => conn.sftp.write(handle, chunk, off, len, position, cb));
      }
      if (failed.length > 0) break; // leaving the loop tells the source to drop the rest
      at += chunk.length;
    }
  } catch (error) {
    sourceFailure = { error };
  }
  if (!sourceFailure && failed.length === 0) {
    // open() applied the server's umask to the mode; set it exactly.
    send((cb) => conn.sftp.fchmod(handle, mode & 0o7777, cb));
    if (sync && hasExtension(conn.sftp, 'fsync@openssh.com'))
      send((cb) => conn.sftp.ext_openssh_fsync(handle, cb));
  }
  send((cb) => conn.sftp.close(handle, cb));
  await Promise.all([...inFlight]);
  if (sourceFailure) throw sourceFailure.error;
  if (failed.length > 0) throw failed[0];
}

/** fsync@openssh.com per file (where the host can't run `sync -f`); a file removed since needs nothing. */
export async function fsyncEach(
  conn: SshConnection,
  files: readonly string[],
  concurrency: number,
): Promise<void> {
  if (!hasExtension(await conn.ensureSftp(), 'fsync@openssh.com')) return;
  await mapLimit(files, concurrency, async (p) => {
    const handle = await conn
      .call<Buffer>((cb) => conn.sftp.open(p, 'r', cb))
      .catch((error: unknown) => {
        if (sftpCode(error) === NO_SUCH_FILE) return null;
        throw conn.fail('sync', p, error);
      });
    if (!handle) return;
    const synced = conn.call<void>((cb) => conn.sftp.ext_openssh_fsync(handle, (error) => cb(error)));
    const closed = conn.call<void>((cb) => conn.sftp.close(handle, cb));
    await Promise.all([synced, closed]).catch((error: unknown) => {
      throw conn.fail('sync', p, error);
    });
  });
}

/** The entries of the folder `rel` (at the absolute path `p`) over SFTP; null when it is missing. */
export async function listOverSftp(conn: SshConnection, rel: string, p: string): Promise<DirEntry[] | null> {
  try {
    // One call, but a request per ~100 names: a big folder on a far host takes many round trips.
    const list = await conn.call<FileEntryWithStats[]>(
      (cb) => conn.sftp.readdir(p, cb),
      `the listing of ${JSON.stringify(rel || '.')}`,
      conn.replyTimeoutMs * LISTING_DEADLINE_FACTOR,
    );
    return list
      .filter((f) => f.filename !== '.' && f.filename !== '..')
      .map((f) => ({ name: f.filename, ...toEntry(f.attrs) }));
  } catch (error) {
    if (sftpCode(error) === NO_SUCH_FILE) return null;
    throw conn.fail('list', rel, error);
  }
}
