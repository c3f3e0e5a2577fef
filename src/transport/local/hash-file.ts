// The git blob id of one name on the local target, as git would store it: a symlink's
// target text, a regular file's bytes (opened O_NOFOLLOW), null for anything else.
import * as fsSync from 'node:fs';
import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { gitBlobId, type HashAlgorithm } from '../../diff/blob.js';
import { SYNC_MAX_BYTES } from './small-file-io.js';

const { O_RDONLY, O_NOFOLLOW } = constants;
/** Bytes read at a time from a big file: it is hashed as it is read, never whole in memory. */
const READ_CHUNK = 256 * 1024;

/** The blob id of `p` (ENOENT when it is missing); null for a folder or a special file. */
export async function hashLocalFile(p: string, algorithm: HashAlgorithm): Promise<string | null> {
  const stats = fsSync.lstatSync(p);
  if (stats.isSymbolicLink()) return gitBlobId(fsSync.readlinkSync(p, { encoding: 'buffer' }), algorithm);
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
    // The size of the open file, not of the lstat before: the header must count the bytes read.
    const size = (await handle.stat()).size;
    const hash = createHash(algorithm).update(`blob ${size}\0`);
    const buffer = Buffer.allocUnsafe(READ_CHUNK);
    for (let at = 0; ;) {
      const { bytesRead } = await handle.read(buffer, 0, READ_CHUNK, at);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      at += bytesRead;
    }
    // A file written to while read gets an id that names no release's blob: drift, or a failed verify.
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}
