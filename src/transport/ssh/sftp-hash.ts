/**
 * The git blob id of a file on the host, read over SFTP where the host cannot
 * hash it itself (no perl, no sha1sum/sha256sum, or no exec at all): pipelined
 * reads, hashed in order as they come back, so a big file is never whole in memory.
 */
import { createHash } from 'node:crypto';
import type { Stats as SftpStats } from 'ssh2';
import type { HashAlgorithm } from '../../diff/blob.js';
import type { SshConnection } from './connection.js';

/** Bytes per read request, and requests in flight: 512 KiB at most in memory per file. */
const CHUNK = 64 * 1024;
const IN_FLIGHT = 8;

/** The blob id of the regular file at the absolute remote path `p` (the caller lstat-ed it: no link). */
export async function hashOverSftp(
  conn: SshConnection,
  p: string,
  algorithm: HashAlgorithm,
): Promise<string> {
  const handle = await conn.call<Buffer>((cb) => conn.sftp.open(p, 'r', cb));
  const reads: Array<Promise<Buffer>> = [];
  try {
    const { size } = await conn.call<SftpStats>((cb) => conn.sftp.fstat(handle, cb));
    const hash = createHash(algorithm).update(`blob ${size}\0`);
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
      hash.update(chunk);
      // Short: the file shrank since fstat; its id then names no blob (drift, or a failed verify).
      if (chunk.length < CHUNK && next < size) break;
      if (next < size) issue();
    }
    return hash.digest('hex');
  } finally {
    await Promise.allSettled(reads); // nothing left unanswered on the handle before it closes
    await conn.call<void>((cb) => conn.sftp.close(handle, cb)).catch(() => undefined);
  }
}
