/**
 * The git blob id of a file on the host, read over SFTP where the host cannot
 * hash it itself (no perl, no sha1sum/sha256sum, or no exec at all): hashed in
 * order as the pipelined reads come back (sftp-read-stream.ts), so a big file
 * is never whole in memory.
 */
import { createHash } from 'node:crypto';
import type { HashAlgorithm } from '../../diff/blob.js';
import type { SshConnection } from './connection.js';
import { readOverSftp } from './sftp-read-stream.js';

/** The blob id of the regular file at the absolute remote path `p` (the caller lstat-ed it: no link). */
export async function hashOverSftp(
  conn: SshConnection,
  p: string,
  algorithm: HashAlgorithm,
): Promise<string> {
  const file = await readOverSftp(conn, p);
  try {
    const hash = createHash(algorithm).update(`blob ${file.size}\0`);
    // Short (the file shrank since it was opened): its id then names no blob (drift, or a failed verify).
    for await (const chunk of file) hash.update(chunk);
    return hash.digest('hex');
  } finally {
    await file.close();
  }
}
