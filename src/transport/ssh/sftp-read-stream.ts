/**
 * A remote file read over SFTP from start to end, a few pipelined requests
 * ahead, where the file helper does not run: hashing (sftp-hash.ts) and a copy
 * within the target (file-ops.ts copyFile) take it chunk by chunk, so a big
 * file is never whole in memory (at most CHUNK × IN_FLIGHT bytes per file).
 */
import type { Stats as SftpStats } from 'ssh2';
import type { SshConnection } from './connection.js';

/** Bytes per read request, and requests in flight: 512 KiB at most in memory per file. */
const CHUNK = 64 * 1024;
const IN_FLIGHT = 8;

/** An open remote file: its size as opened, its bytes in order, and its handle to close. */
export interface SftpReading extends AsyncIterable<Buffer> {
  readonly size: number;
  /** Close the handle (once every request sent on it is answered). */
  close(): Promise<void>;
}

/**
 * Open the absolute remote path `p` to read (SFTP follows links: the caller checked it is
 * none). The bytes end early where the file shrank since it was opened: a reader that needs
 * them all counts them (CheckedSource).
 */
export async function readOverSftp(conn: SshConnection, p: string): Promise<SftpReading> {
  const handle = await conn.call<Buffer>((cb) => conn.sftp.open(p, 'r', cb));
  const reads: Array<Promise<Buffer>> = [];
  const close = async () => {
    await Promise.allSettled(reads); // nothing left unanswered on the handle before it closes
    await conn.call<void>((cb) => conn.sftp.close(handle, cb)).catch(() => undefined);
  };
  let size: number;
  try {
    ({ size } = await conn.call<SftpStats>((cb) => conn.sftp.fstat(handle, cb)));
  } catch (error) {
    await close();
    throw error;
  }
  return {
    size,
    close,
    async *[Symbol.asyncIterator]() {
      let next = 0;
      const issue = () => {
        const [at, length] = [next, Math.min(CHUNK, size - next)];
        next += length;
        const buffer = Buffer.allocUnsafe(length);
        const read = conn.call<number>((cb) =>
          conn.sftp.read(handle, buffer, 0, length, at, (error, bytes) => cb(error, bytes)),
        );
        reads.push(read.then((bytes) => buffer.subarray(0, bytes)));
      };
      while (next < size && reads.length < IN_FLIGHT) issue();
      while (reads.length > 0) {
        const chunk = await reads[0]!;
        reads.shift();
        yield chunk;
        // Short: the file shrank since it was opened; what there is ends here.
        if (chunk.length < CHUNK && next < size) return;
        if (next < size) issue();
      }
    },
  };
}
