// The git blob id of one name on the local target, as git would store it: a symlink's
// target text, a regular file's bytes (opened O_NOFOLLOW), null for anything else.
import * as fsSync from 'node:fs';
import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import { gitBlobId, type HashAlgorithm } from '../../diff/blob.js';
import { SYNC_MAX_BYTES } from './small-file-io.js';

const { O_RDONLY, O_NOFOLLOW } = constants;

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
    return gitBlobId(await handle.readFile(), algorithm);
  } finally {
    await handle.close();
  }
}
