// A file written from a ByteSource as its chunks arrive (never whole in memory), never through
// a link at the last component (O_NOFOLLOW). Small files take writeFileNoFollow's synchronous path.
import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import type { ByteSource, WriteOptions } from '../transport.js';
import { SYNC_MAX_BYTES, writeFileNoFollow } from './small-file-io.js';

const { O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW } = constants;

/**
 * Write `source` to `p` with exactly `mode`; fsynced unless `options.sync` is false, when `p`
 * is added to `unsynced` for a later `syncWritten()`. A failed source leaves a partial file.
 */
export async function writeStreamNoFollow(
  p: string,
  source: ByteSource,
  mode: number,
  options: WriteOptions,
  unsynced: Set<string>,
): Promise<void> {
  if (source.size <= SYNC_MAX_BYTES) {
    // At most SYNC_MAX_BYTES: gather the chunk or two, then one synchronous write.
    const chunks: Buffer[] = [];
    for await (const chunk of source) chunks.push(chunk);
    const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    return writeFileNoFollow(p, data, mode, options, unsynced);
  }
  const handle = await fs.open(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode & 0o7777);
  try {
    let at = 0;
    for await (const chunk of source) {
      for (let done = 0; done < chunk.length;) {
        const { bytesWritten } = await handle.write(chunk, done, chunk.length - done, at);
        done += bytesWritten;
        at += bytesWritten;
      }
    }
    // The umask trimmed the mode given to open(); set it exactly.
    await handle.chmod(mode & 0o7777);
    if (options.sync === false) unsynced.add(p);
    else await handle.sync();
  } finally {
    await handle.close();
  }
}
